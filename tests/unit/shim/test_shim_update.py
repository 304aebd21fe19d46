"""The shim's `update` method: the order of the runtime's update calls, and what config.json keeps."""

from __future__ import annotations

import json
from pathlib import Path

from wharf.shim.service import _store_in_bundle, update_steps

MB = 1024 * 1024


def test_a_memory_limit_above_the_old_swap_limit_raises_the_swap_first() -> None:
    current = {"memory": {"limit": 64 * MB, "swap": 128 * MB}}
    wanted = {"memory": {"limit": 200 * MB, "swap": 400 * MB}, "pids": {"limit": 9}}
    assert update_steps(current, wanted) == [{"memory": {"swap": 400 * MB}}, wanted]


def test_other_updates_are_one_call() -> None:
    current = {"memory": {"limit": 64 * MB, "swap": 128 * MB}}
    for wanted in ({"memory": {"limit": 96 * MB, "swap": 200 * MB}}, {"memory": {"limit": 32 * MB}},
                   {"pids": {"limit": 5}}, {"memory": {"limit": 200 * MB}}):
        assert update_steps(current, wanted) == [wanted]
    assert update_steps({}, {"memory": {"limit": 200 * MB, "swap": 400 * MB}}) == [
        {"memory": {"limit": 200 * MB, "swap": 400 * MB}}]


def test_config_json_keeps_the_new_resources_and_the_old_device_rules(tmp_path: Path) -> None:
    devices = [{"allow": False, "access": "rwm"}]
    spec = {"ociVersion": "1.0.2", "linux": {"resources": {"devices": devices, "memory": {"limit": 1}}},
            "annotations": {"a": "1"}}
    (tmp_path / "config.json").write_text(json.dumps(spec))
    _store_in_bundle(str(tmp_path), spec, {"memory": {"limit": 2}, "pids": {"limit": 3}}, {"b": "2"})
    stored = json.loads((tmp_path / "config.json").read_text())
    assert stored["linux"]["resources"] == {"memory": {"limit": 2}, "pids": {"limit": 3}, "devices": devices}
    assert stored["annotations"] == {"a": "1", "b": "2"} and stored["ociVersion"] == "1.0.2"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.json"]
