"""Resource limits through cgroups (v1 on this host; the v2 path is exercised where v2 is the host's)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.fixtures.bundle import make_bundle, read_spec, write_spec
from tests.integration.runtime.conftest import Runtime, cgroup_dirs_named, new_id

MIB = 1024 * 1024
V2_ONLY = os.path.exists("/sys/fs/cgroup/cgroup.controllers")
v1_only = pytest.mark.skipif(V2_ONLY, reason="host uses cgroup v2 only: no v1 memory controller files")
v2_only = pytest.mark.skipif(
    not V2_ONLY, reason="host uses cgroup v1 (hybrid: cgroup2 only at /sys/fs/cgroup/unified, without the memory controller)"
)


def limited_bundle(tmp_path: Path, script: str, **resources: object) -> Path:
    bundle = make_bundle(tmp_path / "b", ["sh", "-c", script])
    spec = read_spec(bundle)
    spec["linux"]["resources"].update(resources)
    write_spec(bundle, spec)
    return bundle


@v1_only
def test_memory_limit_is_visible_and_an_oom_hog_is_killed(runtime: Runtime, tmp_path: Path) -> None:
    script = "cat /sys/fs/cgroup/memory/memory.limit_in_bytes; tail /dev/zero; echo hog=$?"
    bundle = limited_bundle(tmp_path, script, memory={"limit": 32 * MIB, "swap": 32 * MIB})
    result = runtime.run(bundle, timeout=60)
    assert result.stdout.split() == [str(32 * MIB), "hog=137"], result.stderr


@v1_only
def test_cpu_and_pids_limits_are_written(runtime: Runtime, tmp_path: Path) -> None:
    script = ("cat /sys/fs/cgroup/cpu/cpu.shares /sys/fs/cgroup/cpu/cpu.cfs_quota_us "
              "/sys/fs/cgroup/cpu/cpu.cfs_period_us /sys/fs/cgroup/pids/pids.max")
    bundle = limited_bundle(tmp_path, script, cpu={"shares": 512, "quota": 50000, "period": 100000},
                            pids={"limit": 64})
    assert runtime.run(bundle).stdout.split() == ["512", "50000", "100000", "64"]


@v1_only
def test_pids_limit_stops_a_fork_bomb(runtime: Runtime, tmp_path: Path) -> None:
    script = "cat /sys/fs/cgroup/pids/pids.max; for i in 1 2 3 4 5 6 7 8 9 10; do sleep 5 & done; echo all-started"
    bundle = limited_bundle(tmp_path, script, pids={"limit": 5})
    result = runtime.run(bundle, timeout=60)
    assert result.stdout.split() == ["5"]
    assert result.returncode != 0 and "fork" in result.stderr


def test_explicit_cgroups_path_is_used_and_removed(runtime: Runtime, tmp_path: Path) -> None:
    name = new_id()
    bundle = limited_bundle(tmp_path, "cat /proc/self/cgroup")
    spec = read_spec(bundle)
    spec["linux"]["cgroupsPath"] = f"/{name}-parent/{name}"
    write_spec(bundle, spec)
    try:
        lines = runtime.run(bundle).stdout.splitlines()
        memory_line = next(line for line in lines if ":memory:" in line or line.startswith("0::"))
        assert memory_line.endswith(f"/{name}-parent/{name}")
        assert cgroup_dirs_named(name) == []
    finally:
        for path in cgroup_dirs_named(f"{name}-parent"):
            os.rmdir(path)


@v2_only
def test_memory_limit_on_cgroup_v2(runtime: Runtime, tmp_path: Path) -> None:
    bundle = limited_bundle(tmp_path, "cat /sys/fs/cgroup/memory.max", memory={"limit": 32 * MIB})
    assert runtime.run(bundle).stdout.split() == [str(32 * MIB)]


@v1_only
def test_update_changes_the_limits_of_a_running_container(runtime: Runtime, tmp_path: Path) -> None:
    bundle = limited_bundle(tmp_path, "sleep 1000", memory={"limit": 64 * MIB})
    cid = new_id()
    runtime.ok("run", "--detach", "--bundle", str(bundle), cid)
    runtime.ok("update", "--memory", str(48 * MIB), "--pids-limit", "20", cid)
    memory = runtime.ok("exec", cid, "cat", "/sys/fs/cgroup/memory/memory.limit_in_bytes",
                        "/sys/fs/cgroup/pids/pids.max").stdout.split()
    assert memory == [str(48 * MIB), "20"]
