"""Docker Config + HostConfig → OCI runtime spec, and the config merge before it."""

import pytest

from wharf import errdefs
from wharf.daemon import ocispec
from wharf.daemon.backend.container_config import command_of, merge_image_config, split_create_body

FILES = ocispec.ContainerFiles("/d/hostname", "/d/hosts", "/d/resolv.conf")


def _spec(config: dict | None = None, host_config: dict | None = None, args: list[str] | None = None) -> dict:
    return ocispec.build_spec("c" * 64, config or {}, host_config or {}, args or ["sh"], "cccccccccccc", FILES,
                              "/wharf")


def test_defaults_match_dockers() -> None:
    spec = _spec()
    process = spec["process"]
    assert process["args"] == ["sh"] and process["cwd"] == "/" and process["terminal"] is False
    assert process["user"] == {"uid": 0, "gid": 0}
    assert set(process["capabilities"]["bounding"]) == {
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID",
        "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL",
        "CAP_AUDIT_WRITE",
    }  # fmt: skip
    assert process["env"][0].startswith("PATH=/usr/local/sbin:")
    assert "HOSTNAME=cccccccccccc" in process["env"]
    assert spec["hostname"] == "cccccccccccc"
    assert [ns["type"] for ns in spec["linux"]["namespaces"]] == ["pid", "ipc", "uts", "mount", "network"]
    assert spec["linux"]["cgroupsPath"] == "/wharf/" + "c" * 64
    assert "/proc/kcore" in spec["linux"]["maskedPaths"]
    assert "/proc/sys" in spec["linux"]["readonlyPaths"]
    mounts = {m["destination"]: m for m in spec["mounts"]}
    assert mounts["/proc"]["type"] == "proc"
    assert mounts["/dev/shm"]["options"][-1] == "size=67108864"
    assert "ro" in mounts["/sys"]["options"] and "ro" in mounts["/sys/fs/cgroup"]["options"]
    assert mounts["/etc/hostname"]["source"] == "/d/hostname"
    assert mounts["/etc/resolv.conf"]["type"] == "bind"
    assert spec["linux"]["resources"]["devices"][0] == {"allow": False, "access": "rwm"}
    assert "annotations" not in spec


def test_container_settings() -> None:
    spec = _spec(
        {"Tty": True, "WorkingDir": "/tmp", "User": "nobody:users", "Env": ["PATH=/bin", "A=1"]},
        {"Memory": 1 << 26, "NetworkMode": "host", "OomScoreAdj": 100, "SecurityOpt": ["no-new-privileges"],
         "Ulimits": [{"Name": "nofile", "Soft": 10, "Hard": 20}], "CapDrop": ["NET_RAW"], "CapAdd": ["SYS_ADMIN"],
         "Binds": ["/srv:/data:ro"], "ReadonlyRootfs": True},
    )  # fmt: skip
    process = spec["process"]
    assert process["terminal"] is True and process["cwd"] == "/tmp"
    assert spec["annotations"]["io.wharf.user"] == "nobody:users"
    assert "PATH=/bin" in process["env"] and "TERM=xterm" in process["env"] and "A=1" in process["env"]
    assert not any(e.startswith("PATH=/usr") for e in process["env"])
    assert spec["linux"]["resources"]["memory"]["limit"] == 1 << 26
    assert "network" not in [ns["type"] for ns in spec["linux"]["namespaces"]]
    assert process["oomScoreAdj"] == 100 and process["noNewPrivileges"] is True
    assert process["rlimits"] == [{"type": "RLIMIT_NOFILE", "soft": 10, "hard": 20}]
    assert "CAP_NET_RAW" not in process["capabilities"]["bounding"]
    assert "CAP_SYS_ADMIN" in process["capabilities"]["bounding"]
    assert {"destination": "/data", "type": "bind", "source": "/srv", "options": ["rbind", "ro"]} in spec["mounts"]
    assert spec["root"]["readonly"] is True


def test_privileged() -> None:
    spec = _spec(host_config={"Privileged": True})
    assert "CAP_SYS_ADMIN" in spec["process"]["capabilities"]["bounding"]
    assert "maskedPaths" not in spec["linux"]
    assert spec["linux"]["resources"]["devices"] == [{"allow": True, "access": "rwm"}]


def test_stop_signals() -> None:
    assert ocispec.stop_signal_number(None) == 15
    assert ocispec.stop_signal_number("SIGKILL") == 9
    assert ocispec.stop_signal_number("hup") == 1
    assert ocispec.stop_signal_number("2") == 2
    with pytest.raises(errdefs.InvalidArgument):
        ocispec.stop_signal_number("SIGNOPE")


def test_merge_entrypoint_and_cmd_rules() -> None:
    image = {"Entrypoint": ["/entry"], "Cmd": ["default"], "Env": ["PATH=/bin", "A=image"], "WorkingDir": "/w",
             "Labels": {"a": "1"}}  # fmt: skip
    merged = merge_image_config({"Env": ["A=mine"], "Labels": {"b": "2"}}, image)
    assert command_of(merged) == ("/entry", ["default"])
    assert merged["Env"] == ["A=mine", "PATH=/bin"] and merged["WorkingDir"] == "/w"
    assert merged["Labels"] == {"a": "1", "b": "2"}
    # A Cmd given replaces the image's Cmd but keeps its Entrypoint.
    assert command_of(merge_image_config({"Cmd": ["x"]}, image)) == ("/entry", ["x"])
    # An Entrypoint given drops the image's Cmd.
    assert command_of(merge_image_config({"Entrypoint": ["/other"]}, image)) == ("/other", [])
    with pytest.raises(errdefs.InvalidArgument, match="no command specified"):
        command_of(merge_image_config({}, {}))


def test_split_create_body_validates() -> None:
    config, host_config = split_create_body({"Image": "x", "Cmd": "echo", "HostConfig": {"Memory": 1}})
    assert config == {"Image": "x", "Cmd": ["echo"]} and host_config == {"Memory": 1}
    for bad in ([1], "s", {"Cmd": [1]}, {"HostConfig": []}):
        with pytest.raises(errdefs.InvalidArgument):
            split_create_body(bad)
