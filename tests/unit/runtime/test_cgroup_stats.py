"""runc's `events --stats` shape from cgroup files (v2 from a plain directory: this host's kernel is v1;
v1 is also checked against the real kernel in tests/integration/runtime/test_update_and_events.py)."""

from __future__ import annotations

from pathlib import Path

from wharf.runtime.cgroups.stats import _blkio_entries, _id_list, v1_stats, v2_stats
from wharf.runtime.cgroups.v2 import V2Manager
from wharf.runtime.specconv import BlockIO, DeviceRate, Resources


def write_files(directory: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (directory / name).write_text(text)


def test_v2_stats(tmp_path: Path) -> None:
    write_files(tmp_path, {
        "cpu.stat": "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\nnr_periods 4\nnr_throttled 1\n"
                    "throttled_usec 20\n",
        "memory.current": "4096\n", "memory.max": "max\n", "memory.peak": "8192\n",
        "memory.swap.current": "0\n", "memory.swap.max": "1048576\n",
        "memory.stat": "anon 4096\nfile 12288\n", "memory.events": "low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n",
        "pids.current": "2\n", "pids.max": "max\n",
        "io.stat": "254:0 rbytes=100 wbytes=200 rios=1 wios=2 dbytes=0 dios=0\n",
        "cpuset.cpus.effective": "0-1\n", "cpuset.mems.effective": "0\n",
        "hugetlb.2MB.current": "0\n", "hugetlb.2MB.max": "max\n", "hugetlb.2MB.events": "max 0\n",
    })
    data = v2_stats(str(tmp_path))
    assert data["cpu"] == {"usage": {"total": 1_500_000, "kernel": 500_000, "user": 1_000_000},
                           "throttling": {"periods": 4, "throttledPeriods": 1, "throttledTime": 20_000}}
    assert data["memory"]["usage"] == {"limit": 2**63 - 1, "usage": 4096, "max": 8192, "failcnt": 3}
    assert data["memory"]["swap"] == {"limit": 1048576, "failcnt": 0}
    assert data["memory"]["cache"] == 12288 and data["memory"]["raw"] == {"anon": 4096, "file": 12288}
    assert data["pids"] == {"current": 2}
    assert data["blkio"] == {
        "ioServiceBytesRecursive": [{"major": 254, "op": "Read", "value": 100},
                                    {"major": 254, "op": "Write", "value": 200}],
        "ioServicedRecursive": [{"major": 254, "op": "Read", "value": 1}, {"major": 254, "op": "Write", "value": 2}],
    }
    assert data["cpuset"]["cpus"] == [0, 1] and data["cpuset"]["mems"] == [0]
    assert data["hugetlb"] == {"2MB": {"failcnt": 0}}
    assert set(data) == {"cpu", "cpuset", "memory", "pids", "blkio", "hugetlb", "intel_rdt", "network_interfaces"}


def test_v1_stats_without_controllers_keeps_runcs_keys() -> None:
    data = v1_stats({})
    assert set(data) == {"cpu", "cpuset", "memory", "pids", "blkio", "hugetlb", "intel_rdt", "network_interfaces"}
    assert data["memory"]["usage"] == {"limit": 0, "failcnt": 0}


def test_blkio_lines_and_id_lists() -> None:
    assert _blkio_entries("8:0 Read 10\n8:0 Write 0\nTotal 10\n") == [
        {"major": 8, "op": "Read", "value": 10}, {"major": 8, "op": "Write"}]
    assert _id_list("0-2,5\n") == [0, 1, 2, 5]
    assert _id_list("") == []


def test_v2_io_limits(tmp_path: Path) -> None:
    (tmp_path / "io.weight").write_text("default 100\n")
    io = BlockIO(weight=500, throttle_read_bps=[DeviceRate(8, 0, rate=1024)], throttle_write_iops=[DeviceRate(8, 0, rate=7)])
    V2Manager({"unified": str(tmp_path)}).update(Resources(blkio=io))
    assert (tmp_path / "io.weight").read_text() == str(1 + (500 - 10) * 9999 // 990)
    assert (tmp_path / "io.max").read_text() == "8:0 wiops=7"  # one write per device and key; the last stays


def test_v2_bfq_weight_is_preferred(tmp_path: Path) -> None:
    (tmp_path / "io.bfq.weight").write_text("default 100\n")
    (tmp_path / "io.weight").write_text("default 100\n")
    V2Manager({"unified": str(tmp_path)}).update(Resources(blkio=BlockIO(weight=500)))
    assert (tmp_path / "io.bfq.weight").read_text() == "500"
