"""How spec resources become cgroup file values (written into a plain directory, no kernel)."""

from __future__ import annotations

from pathlib import Path

from wharf.runtime.cgroups.v1 import _join
from wharf.runtime.cgroups.v2 import V2Manager
from wharf.runtime.specconv import Resources


def test_v2_values(tmp_path: Path) -> None:
    manager = V2Manager({"unified": str(tmp_path)})
    manager.update(Resources(memory_limit=1 << 20, memory_swap=3 << 20, cpu_shares=1024, cpu_quota=50000,
                             cpu_period=100000, pids_limit=0, memory_reservation=1 << 19))
    values = {p.name: p.read_text() for p in tmp_path.iterdir()}
    assert values == {
        "memory.max": str(1 << 20),
        "memory.swap.max": str(2 << 20),  # v2 counts swap apart from memory; the spec's swap is the sum
        "memory.low": str(1 << 19),
        "cpu.weight": "39",
        "cpu.max": "50000 100000",
        "pids.max": "max",
    }


def test_v1_paths_follow_runc() -> None:
    assert _join("/sys/fs/cgroup/memory", "/own", "/abs/path", "id") == "/sys/fs/cgroup/memory/abs/path"
    assert _join("/sys/fs/cgroup/memory", "/own", "rel", "id") == "/sys/fs/cgroup/memory/own/rel"
    assert _join("/sys/fs/cgroup/memory", "/", "", "id") == "/sys/fs/cgroup/memory/id"
