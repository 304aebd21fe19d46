"""`update` (runc's flags and `-r FILE|-`), blockIO limits, `events` and `--systemd-cgroup`, on real cgroups.

The cgroup files are read from the host, through /proc/PID/cgroup of the container's init, so the
same assertions hold for every runtime whatever its cgroup layout."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from tests.fixtures.bundle import make_bundle, read_spec, write_spec
from tests.integration.runtime.conftest import Runtime, cgroup_dirs_named, new_id

MIB = 1024 * 1024
V2_ONLY = os.path.exists("/sys/fs/cgroup/cgroup.controllers")
v1_only = pytest.mark.skipif(V2_ONLY, reason="host uses cgroup v2 only: these read v1 controller files")


def running_container(runtime: Runtime, tmp_path: Path, script: str = "sleep 1000", **resources: object) -> str:
    bundle = make_bundle(tmp_path / "b", ["sh", "-c", script])
    spec = read_spec(bundle)
    spec["linux"]["resources"].update(resources)
    write_spec(bundle, spec)
    cid = new_id()
    runtime.ok("run", "--detach", "--bundle", str(bundle), cid)
    return cid


def host_cgroup_dir(runtime: Runtime, cid: str, controller: str) -> Path:
    pid = runtime.state(cid)["pid"]
    for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        if controller in controllers.split(","):
            return Path(f"/sys/fs/cgroup/{controller}{path}")
    raise AssertionError(f"no {controller} cgroup for {pid}")


def host_cgroup_file(runtime: Runtime, cid: str, controller: str, name: str) -> str:
    return (host_cgroup_dir(runtime, cid, controller) / name).read_text().strip()


def block_device() -> tuple[int, int]:
    """A real whole-disk block device of this host (throttle rules need one)."""
    for name in sorted(os.listdir("/sys/block")):
        if name.startswith(("loop", "ram", "zram")):
            continue
        major, minor = (Path(f"/sys/block/{name}/dev").read_text().strip().split(":"))
        return int(major), int(minor)
    pytest.skip("no block device on this host")


@v1_only
def test_update_resources_file_raises_memory_above_the_old_swap_limit(runtime: Runtime, tmp_path: Path) -> None:
    """The supervisor's form, `update --resources FILE ID`: a new memory limit above the old
    memory+swap limit only works when the swap limit is written first."""
    if not Path("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes").exists():
        pytest.skip("no swap accounting (memory.memsw) on this kernel")
    cid = running_container(runtime, tmp_path, memory={"limit": 32 * MIB, "swap": 32 * MIB})
    resources = tmp_path / "resources.json"
    resources.write_text(json.dumps({"memory": {"limit": 128 * MIB, "swap": 256 * MIB},
                                     "cpu": {"shares": 512}, "pids": {"limit": 33}}))
    runtime.ok("update", "--resources", str(resources), cid)
    assert host_cgroup_file(runtime, cid, "memory", "memory.limit_in_bytes") == str(128 * MIB)
    assert host_cgroup_file(runtime, cid, "memory", "memory.memsw.limit_in_bytes") == str(256 * MIB)
    assert host_cgroup_file(runtime, cid, "cpu", "cpu.shares") == "512"
    assert host_cgroup_file(runtime, cid, "pids", "pids.max") == "33"
    # and back down: now the memory limit has to go first
    resources.write_text(json.dumps({"memory": {"limit": 16 * MIB, "swap": 16 * MIB}}))
    runtime.ok("update", "-r", str(resources), cid)
    assert host_cgroup_file(runtime, cid, "memory", "memory.limit_in_bytes") == str(16 * MIB)
    assert host_cgroup_file(runtime, cid, "memory", "memory.memsw.limit_in_bytes") == str(16 * MIB)


@v1_only
def test_update_reads_resources_from_stdin_and_ignores_other_flags(runtime: Runtime, tmp_path: Path) -> None:
    cid = running_container(runtime, tmp_path, pids={"limit": 40})
    runtime.ok("update", "-r", "-", "--pids-limit", "7", cid, input=json.dumps({"pids": {"limit": 21}}))
    assert host_cgroup_file(runtime, cid, "pids", "pids.max") == "21"  # as runc: -r wins, flags ignored


@v1_only
def test_update_flags_as_runc(runtime: Runtime, tmp_path: Path) -> None:
    cid = running_container(runtime, tmp_path)
    # crun's flag parsing builds broken JSON from several cpu flags at once: one call per group
    runtime.ok("update", "--memory", str(64 * MIB), "--pids-limit", "11", cid)
    runtime.ok("update", "--cpu-share", "256", cid)
    runtime.ok("update", "--cpu-period", "100000", "--cpu-quota", "50000", cid)
    runtime.ok("update", "--cpuset-cpus", "0", cid)
    assert host_cgroup_file(runtime, cid, "memory", "memory.limit_in_bytes") == str(64 * MIB)
    assert host_cgroup_file(runtime, cid, "cpu", "cpu.shares") == "256"
    assert host_cgroup_file(runtime, cid, "cpu", "cpu.cfs_quota_us") == "50000"
    assert host_cgroup_file(runtime, cid, "cpuset", "cpuset.cpus") == "0"
    assert host_cgroup_file(runtime, cid, "pids", "pids.max") == "11"


@v1_only
def test_update_memory_flags_take_units_as_runc(wharf_runc: Runtime, runc: Runtime, tmp_path: Path) -> None:
    for runtime in (wharf_runc, runc):
        cid = running_container(runtime, tmp_path / runtime.name)
        runtime.ok("update", "--memory", "64m", "--memory-reservation", "32M", cid)
        assert host_cgroup_file(runtime, cid, "memory", "memory.limit_in_bytes") == str(64 * MIB)
        assert host_cgroup_file(runtime, cid, "memory", "memory.soft_limit_in_bytes") == str(32 * MIB)


@v1_only
def test_blockio_throttles_are_applied(runtime: Runtime, tmp_path: Path) -> None:
    major, minor = block_device()
    block_io: dict[str, object] = {
        "throttleReadBpsDevice": [{"major": major, "minor": minor, "rate": 2 * MIB}],
        "throttleWriteIOPSDevice": [{"major": major, "minor": minor, "rate": 300}],
    }
    # A weight needs an I/O scheduler with weights (BFQ here; CFQ is gone): runc fails without one,
    # and crun knows only CFQ's blkio.weight.
    host_has_weights = any((Path("/sys/fs/cgroup/blkio") / n).exists() for n in ("blkio.weight", "blkio.bfq.weight"))
    if runtime.name != "crun" and host_has_weights:
        block_io["weight"] = 300
    cid = running_container(runtime, tmp_path, blockIO=block_io)
    blkio = host_cgroup_dir(runtime, cid, "blkio")
    weight_file = next((n for n in ("blkio.weight", "blkio.bfq.weight") if (blkio / n).exists()), None)
    if weight_file is not None and "weight" in block_io:
        assert (blkio / weight_file).read_text().split()[-1] == "300"
    assert host_cgroup_file(runtime, cid, "blkio", "blkio.throttle.read_bps_device") == f"{major}:{minor} {2 * MIB}"
    assert host_cgroup_file(runtime, cid, "blkio", "blkio.throttle.write_iops_device") == f"{major}:{minor} 300"


@v1_only
def test_blockio_weight_is_written_or_skipped_with_a_warning(wharf_runc: Runtime, tmp_path: Path) -> None:
    cid = running_container(wharf_runc, tmp_path)
    result = wharf_runc.ok("update", "--blkio-weight", "300", cid)
    blkio = host_cgroup_dir(wharf_runc, cid, "blkio")
    weight_file = next((n for n in ("blkio.weight", "blkio.bfq.weight") if (blkio / n).exists()), None)
    if weight_file is None:
        assert "blockIO weight ignored" in result.stderr
    else:
        assert (blkio / weight_file).read_text().split()[-1] == "300"


def _key_paths(value: object, prefix: str = "") -> set[str]:
    if not isinstance(value, dict):
        return set()
    out = set()
    for key, item in value.items():
        out.add(f"{prefix}/{key}")
        out |= _key_paths(item, f"{prefix}/{key}")
    return out


@v1_only
def test_events_stats_has_the_keys_runc_prints(wharf_runc: Runtime, runc: Runtime, tmp_path: Path) -> None:
    resources = {"memory": {"limit": 64 * MIB}, "pids": {"limit": 50}, "cpu": {"shares": 512}}
    ours_id = running_container(wharf_runc, tmp_path / "ours", **resources)
    theirs_id = running_container(runc, tmp_path / "theirs", **resources)
    ours = json.loads(wharf_runc.ok("events", "--stats", ours_id).stdout)
    theirs = json.loads(runc.ok("events", "--stats", theirs_id).stdout)
    assert ours["type"] == "stats" and ours["id"] == ours_id
    # raw memory.stat keys and zero-valued (omitted) counters may differ between two cgroups
    volatile = ("/data/memory/raw/", "/data/cpu/throttling/", "/data/memory/cache")
    stable = {k for k in _key_paths(theirs) if not k.startswith(volatile)}
    assert stable <= _key_paths(ours), stable - _key_paths(ours)
    assert ours["data"]["memory"]["usage"]["limit"] == 64 * MIB
    assert ours["data"]["pids"] == {"current": 1, "limit": 50}
    assert ours["data"]["cpu"]["usage"]["total"] > 0


@v1_only
def test_events_streams_stats_and_reports_an_oom_kill(wharf_runc: Runtime, tmp_path: Path) -> None:
    cid = running_container(wharf_runc, tmp_path, "sleep 1; tail /dev/zero; sleep 1000",
                            memory={"limit": 16 * MIB, "swap": 16 * MIB})
    stream = subprocess.Popen(wharf_runc.cmd("events", "--interval", "300ms", cid), stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, text=True)
    try:
        seen: list[dict] = []
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not any(e["type"] == "oom" for e in seen):
            line = stream.stdout.readline()
            if not line:
                break
            seen.append(json.loads(line))
        kinds = [e["type"] for e in seen]
        assert "oom" in kinds, kinds
        assert kinds[0] == "stats" and all(e["id"] == cid for e in seen)
        # the stream ends when the container does
        wharf_runc.ok("kill", cid, "KILL")
        assert stream.wait(timeout=10) == 0
    finally:
        stream.kill()
        stream.wait()


def test_events_of_a_stopped_container_fails(wharf_runc: Runtime, tmp_path: Path) -> None:
    bundle = make_bundle(tmp_path / "b", ["true"])
    cid = new_id()
    wharf_runc.ok("create", "--bundle", str(bundle), cid)
    wharf_runc.ok("start", cid)
    deadline = time.monotonic() + 10
    while wharf_runc.state(cid)["status"] != "stopped" and time.monotonic() < deadline:
        time.sleep(0.02)
    result = wharf_runc.call("events", "--stats", cid)
    assert result.returncode != 0 and "not running" in result.stderr


def test_systemd_cgroup_is_accepted_but_creating_with_it_fails_clearly(wharf_runc: Runtime, tmp_path: Path) -> None:
    bundle = make_bundle(tmp_path / "b", ["sleep", "1000"])
    cid = new_id()
    result = wharf_runc.call("--systemd-cgroup", "create", "--bundle", str(bundle), cid)
    assert result.returncode != 0
    assert "--systemd-cgroup" in result.stderr
    if not os.path.isdir("/run/systemd/system"):
        assert "systemd is not running" in result.stderr
    assert cgroup_dirs_named(cid) == [] and not (wharf_runc.root / cid).exists()
    # every other verb works with the flag (containerd passes it to all of them)
    wharf_runc.ok("run", "--detach", "--bundle", str(bundle), cid)
    assert wharf_runc.ok("--systemd-cgroup", "state", cid).stdout
    wharf_runc.ok("--systemd-cgroup", "list")
    wharf_runc.ok("--systemd-cgroup", "kill", cid, "KILL")
    deadline = time.monotonic() + 10
    while wharf_runc.state(cid)["status"] != "stopped" and time.monotonic() < deadline:
        time.sleep(0.02)
    wharf_runc.ok("--systemd-cgroup", "delete", cid)
    assert cgroup_dirs_named(cid) == []
