"""config.json → internal config: parsing and validation, no I/O but the bundle's files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from wharf import errdefs
from wharf.runtime import specconv
from wharf.runtime.default_spec import default_spec
from wharf.runtime.specconv import parse_mount_options

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_BIND, MS_REC = 1, 2, 4, 8, 4096, 16384


def bundle_with(tmp_path: Path, spec: object) -> Path:
    (tmp_path / "rootfs").mkdir(exist_ok=True)
    (tmp_path / "config.json").write_text(json.dumps(spec))
    return tmp_path


def minimal(**extra: object) -> dict:
    spec: dict = {
        "ociVersion": "1.0.2",
        "root": {"path": "rootfs"},
        "process": {"args": ["sh"], "cwd": "/"},
        "linux": {"namespaces": [{"type": "mount"}, {"type": "pid"}]},
    }
    spec.update(extra)
    return spec


def test_default_spec_parses(tmp_path: Path) -> None:
    spec = default_spec()
    (tmp_path / "rootfs").mkdir()
    config = specconv.parse_spec(spec, str(tmp_path))
    assert config.rootfs == f"{tmp_path}/rootfs"
    assert config.root_readonly
    assert config.process.capabilities is not None
    assert config.process.capabilities.bounding == ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
    assert [ns.type for ns in config.namespaces] == ["pid", "network", "ipc", "uts", "mount"]
    assert config.hostname == "runc"


def test_load_bundle_reads_everything(tmp_path: Path) -> None:
    spec = minimal(hostname="h", mounts=[{"destination": "/tmp", "type": "tmpfs", "source": "tmpfs",
                                          "options": ["nosuid", "size=1m", "mode=1777", "rprivate"]}])
    spec["linux"]["namespaces"].append({"type": "uts"})
    spec["linux"]["namespaces"].append({"type": "network", "path": "/proc/1/ns/net"})
    spec["linux"]["resources"] = {"memory": {"limit": 1 << 20}, "cpu": {"shares": 512}, "pids": {"limit": 9}}
    spec["process"]["user"] = {"uid": 1, "gid": 2, "additionalGids": [3, 4]}
    spec["process"]["rlimits"] = [{"type": "RLIMIT_NOFILE", "soft": 10, "hard": 20}]
    config = specconv.load_bundle(str(bundle_with(tmp_path, spec)))
    assert config.bundle == str(tmp_path)
    assert config.hostname == "h"
    (mount,) = config.mounts
    assert mount.options.flags == MS_NOSUID
    assert mount.options.data == "size=1m,mode=1777"
    assert mount.options.propagation == (1 << 18 | MS_REC,)
    assert config.namespace("network").path == "/proc/1/ns/net"
    assert config.resources.memory_limit == 1 << 20 and config.resources.pids_limit == 9
    assert (config.process.uid, config.process.gid, config.process.additional_gids) == (1, 2, [3, 4])
    assert config.process.rlimits[0].soft == 10


def test_mount_options_set_and_clear_flags() -> None:
    assert parse_mount_options(["ro", "rw"]).flags == 0
    assert parse_mount_options(["rbind", "ro", "nosuid", "nodev", "noexec"]).flags == (
        MS_BIND | MS_REC | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC
    )
    assert parse_mount_options(["nosuid", "suid"]).flags == 0
    options = parse_mount_options(["newinstance", "ptmxmode=0666", "slave"])
    assert options.data == "newinstance,ptmxmode=0666"
    assert options.propagation == (1 << 19,)


def test_bind_type_without_bind_option_is_a_recursive_bind(tmp_path: Path) -> None:
    spec = minimal(mounts=[{"destination": "/data", "type": "bind", "source": "/srv", "options": ["ro"]}])
    (mount,) = specconv.load_bundle(str(bundle_with(tmp_path, spec))).mounts
    assert mount.options.is_bind and mount.options.flags & MS_REC and mount.options.flags & MS_RDONLY


@pytest.mark.parametrize(
    "change, error, text",
    [
        (lambda s: s["linux"]["namespaces"].append({"type": "bogus"}), errdefs.InvalidArgument, "bogus"),
        (lambda s: s["linux"]["namespaces"].append({"type": "pid"}), errdefs.InvalidArgument, "twice"),
        (lambda s: s["linux"].update(namespaces=[{"type": "pid"}]), errdefs.InvalidArgument, "mount namespace"),
        (lambda s: s.update(hostname="h"), errdefs.InvalidArgument, "uts"),
        (lambda s: s["process"].update(args=[]), errdefs.InvalidArgument, "process.args"),
        (lambda s: s["process"].update(cwd="relative"), errdefs.InvalidArgument, "absolute"),
        (lambda s: s.pop("ociVersion"), errdefs.InvalidArgument, "ociVersion"),
        (lambda s: s.pop("process"), errdefs.InvalidArgument, "process"),
        (lambda s: s["root"].update(path="missing"), errdefs.InvalidArgument, "root.path"),
        (lambda s: s.update(mounts=[{"destination": "rel", "type": "tmpfs"}]), errdefs.InvalidArgument, "destination"),
        (lambda s: s["process"].update(user={"uid": "0"}), errdefs.InvalidArgument, "uid"),
        (lambda s: s["process"].update(rlimits=[{"type": "NOFILE"}]), errdefs.InvalidArgument, "rlimit"),
    ],
)
def test_invalid_specs_are_refused_with_a_reason(tmp_path: Path, change, error, text) -> None:
    spec = minimal()
    change(spec)
    with pytest.raises(error, match=text):
        specconv.load_bundle(str(bundle_with(tmp_path, spec)))


def test_missing_config_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(errdefs.NotFound, match="config.json"):
        specconv.load_bundle(str(tmp_path))


def test_invalid_json_is_invalid_argument(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{nope")
    with pytest.raises(errdefs.InvalidArgument, match="not valid JSON"):
        specconv.load_bundle(str(tmp_path))


def test_seccomp_hooks_and_id_mappings(tmp_path: Path) -> None:
    spec = minimal()
    spec["linux"]["namespaces"].append({"type": "user"})
    spec["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 1000, "size": 10}]
    spec["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 2000, "size": 10}]
    spec["linux"]["seccomp"] = {
        "defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 38, "architectures": ["SCMP_ARCH_X86_64"],
        "syscalls": [{"names": ["read", "write"], "action": "SCMP_ACT_ALLOW",
                      "args": [{"index": 1, "value": 2, "valueTwo": 3, "op": "SCMP_CMP_MASKED_EQ"}]}],
    }
    spec["hooks"] = {"poststop": [{"path": "/bin/true", "args": ["true"], "timeout": 3}]}
    config = specconv.load_bundle(str(bundle_with(tmp_path, spec)))
    assert config.uid_mappings[0].host_id == 1000 and config.gid_mappings[0].host_id == 2000
    assert config.seccomp is not None and config.seccomp.default_errno == 38
    (rule,) = config.seccomp.syscalls
    assert rule.names == ["read", "write"] and rule.args[0].value_two == 3
    assert config.hooks["poststop"][0].timeout == 3


@pytest.mark.parametrize(
    "change, text",
    [
        (lambda s: s["linux"]["namespaces"].append({"type": "user"}), "uidMappings"),
        (lambda s: s["linux"].update(uidMappings=[{"containerID": 0, "hostID": 1, "size": 1}],
                                     gidMappings=[]), "user namespace"),
        (lambda s: s.update(hooks={"prestart": [{"path": "relative"}]}), "absolute"),
        (lambda s: s.update(hooks={"whenever": []}), "unknown hook"),
        (lambda s: s["linux"].update(seccomp={"syscalls": []}), "defaultAction"),
    ],
)
def test_more_invalid_specs(tmp_path: Path, change, text) -> None:
    spec = minimal()
    change(spec)
    with pytest.raises(errdefs.InvalidArgument, match=text):
        specconv.load_bundle(str(bundle_with(tmp_path, spec)))
