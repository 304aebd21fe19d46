"""userns-remap: the flag, the subordinate ranges, and what a container's spec gets."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from wharf import errdefs
from wharf.daemon import userns_remap
from wharf.daemon.config import load_config
from wharf.daemon.userns_remap import IdRemap, apply_to_spec, join_user_namespace

REMAP = IdRemap("dockremap", "dockremap", 200000, 65536, 300000, 65536)


def test_flag_and_daemon_json(tmp_path: Path) -> None:
    assert load_config(["--config-file", "/dev/null", "--userns-remap", "default"]).userns_remap == "default"
    config = tmp_path / "daemon.json"
    config.write_text('{"userns-remap": "someone:somegroup"}')
    assert load_config(["--config-file", str(config)]).userns_remap == "someone:somegroup"


def test_a_range_is_added_after_the_others_once(tmp_path: Path) -> None:
    ids = tmp_path / "subuid"
    ids.write_text("alice:100000:65536\nbob:165536:65536\n")
    userns_remap._ensure_range(str(ids), "dockremap")
    userns_remap._ensure_range(str(ids), "dockremap")
    assert ids.read_text().splitlines()[2:] == ["dockremap:231072:65536"]
    assert userns_remap._ranges(str(ids), {"dockremap"}) == [(231072, 65536)]


def test_a_named_user_needs_its_ranges(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(userns_remap, "SUBUID", str(tmp_path / "subuid"))
    monkeypatch.setattr(userns_remap, "SUBGID", str(tmp_path / "subgid"))
    (tmp_path / "subuid").write_text("root:500000:1000\n")
    (tmp_path / "subgid").write_text("")
    with pytest.raises(errdefs.InvalidArgument, match="subordinate gid"):
        userns_remap.resolve_userns_remap("root")
    (tmp_path / "subgid").write_text("0:600000:1000\n")
    assert userns_remap.resolve_userns_remap("root") == IdRemap("root", "root", 500000, 1000, 600000, 1000)
    with pytest.raises(errdefs.InvalidArgument, match="not found"):
        userns_remap.resolve_userns_remap(f"no-such-user-{os.getpid()}")
    assert userns_remap.resolve_userns_remap("") is None


def _spec() -> dict:
    return {"linux": {"namespaces": [{"type": "pid"}, {"type": "mount"}]},
            "mounts": [{"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["ro"]}]}


def test_a_container_gets_a_user_namespace_with_the_range(tmp_path: Path) -> None:
    spec = _spec()
    apply_to_spec(spec, {}, REMAP, [])
    assert {"type": "user"} in spec["linux"]["namespaces"]
    assert spec["linux"]["uidMappings"] == [{"containerID": 0, "hostID": 200000, "size": 65536}]
    assert spec["linux"]["gidMappings"] == [{"containerID": 0, "hostID": 300000, "size": 65536}]
    assert spec["mounts"][0]["type"] == "bind"  # no network namespace of its own to mount sysfs for
    join_user_namespace(spec, "/run/x/userns/c1")
    assert {"type": "user", "path": "/run/x/userns/c1"} in spec["linux"]["namespaces"]
    assert spec["mounts"][0]["type"] == "sysfs"


def test_host_mode_opts_out_and_privileged_needs_it() -> None:
    spec = _spec()
    apply_to_spec(spec, {"UsernsMode": "host", "Privileged": True}, REMAP, [])
    assert "uidMappings" not in spec["linux"]
    for host_config, message in (({"Privileged": True}, "privileged mode is incompatible"),
                                 ({"NetworkMode": "host"}, "network namespace"),
                                 ({"PidMode": "host"}, "PID namespace")):
        with pytest.raises(errdefs.InvalidArgument, match=message):
            apply_to_spec(_spec(), host_config, REMAP, [])
    apply_to_spec(spec, {"Privileged": True}, None, [])  # no remapping: nothing to refuse
