"""`docker stats`: Docker's stats JSON computed from the container's cgroup files (v1 or v2) and its
network namespace's /proc/<pid>/net/dev."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from wharf.daemon.backend.timefmt import now_ns, rfc3339nano

CGROUP_ROOT = Path("/sys/fs/cgroup")
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
_NO_LIMIT_V1 = 1 << 62  # v1 writes 9223372036854771712 for "no limit"


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def _int(path: Path, default: int = 0) -> int:
    text = _read(path).strip()
    try:
        return int(text)
    except ValueError:
        return default


def _key_values(path: Path) -> dict[str, int]:
    out: dict[str, int] = {}
    for line in _read(path).splitlines():
        key, _, value = line.partition(" ")
        try:
            out[key] = int(value)
        except ValueError:
            continue
    return out


def is_cgroup_v2() -> bool:
    return (CGROUP_ROOT / "cgroup.controllers").exists()


def system_cpu_usage() -> int:
    """The host's CPU time in nanoseconds (the first line of /proc/stat), as Docker reports it."""
    fields = _read(Path("/proc/stat")).splitlines()[0].split()[1:8]
    return sum(int(f) for f in fields) * 1_000_000_000 // _CLOCK_TICKS


def online_cpus() -> int:
    return len(os.sched_getaffinity(0)) or os.cpu_count() or 1


def _network_stats(pid: int) -> dict[str, Any]:
    networks: dict[str, Any] = {}
    lines = _read(Path(f"/proc/{pid}/net/dev")).splitlines()[2:] if pid else []
    for line in lines:
        name, _, counters = line.partition(":")
        name = name.strip()
        values = counters.split()
        if name == "lo" or len(values) < 16:
            continue
        v = [int(x) for x in values]
        networks[name] = {
            "rx_bytes": v[0], "rx_packets": v[1], "rx_errors": v[2], "rx_dropped": v[3],
            "tx_bytes": v[8], "tx_packets": v[9], "tx_errors": v[10], "tx_dropped": v[11],
        }  # fmt: skip
    return networks


_BLKIO_KEYS = ("io_service_bytes_recursive", "io_serviced_recursive", "io_queue_recursive",
               "io_service_time_recursive", "io_wait_time_recursive", "io_merged_recursive",
               "io_time_recursive", "sectors_recursive")
"""moby's BlkioStats: all its lists are always in the answer (null when not read)."""
_NO_BLKIO: dict[str, Any] = dict.fromkeys(_BLKIO_KEYS)


def _v1(cgroup_path: str) -> dict[str, Any]:
    rel = cgroup_path.lstrip("/")
    memory, cpuacct = CGROUP_ROOT / "memory" / rel, CGROUP_ROOT / "cpuacct" / rel
    pids, blkio = CGROUP_ROOT / "pids" / rel, CGROUP_ROOT / "blkio" / rel
    percpu = [int(x) for x in _read(cpuacct / "cpuacct.usage_percpu").split()]
    cpu_stat = _key_values(cpuacct / "cpuacct.stat")
    throttling = _key_values(CGROUP_ROOT / "cpu" / rel / "cpu.stat")
    tick_ns = 1_000_000_000 // _CLOCK_TICKS
    limit = _int(memory / "memory.limit_in_bytes")
    pids_limit = _read(pids / "pids.max").strip()
    return {
        "cpu_usage": {
            "total_usage": _int(cpuacct / "cpuacct.usage"),
            "percpu_usage": percpu,
            "usage_in_kernelmode": cpu_stat.get("system", 0) * tick_ns,
            "usage_in_usermode": cpu_stat.get("user", 0) * tick_ns,
        },
        "throttling_data": {
            "periods": throttling.get("nr_periods", 0),
            "throttled_periods": throttling.get("nr_throttled", 0),
            "throttled_time": throttling.get("throttled_time", 0),
        },
        "memory": {
            "usage": _int(memory / "memory.usage_in_bytes"),
            "max_usage": _int(memory / "memory.max_usage_in_bytes"),
            "failcnt": _int(memory / "memory.failcnt"),
            "stats": _key_values(memory / "memory.stat"),
            "limit": limit if 0 < limit < _NO_LIMIT_V1 else _host_memory(),
        },
        "pids": {"current": _int(pids / "pids.current"),
                 **({"limit": int(pids_limit)} if pids_limit.isdigit() else {})},
        # cgroup v1: every list is there, empty when the kernel keeps no such count.
        "blkio": {**{key: [] for key in _BLKIO_KEYS},
                  "io_service_bytes_recursive": _blkio_entries(blkio / "blkio.throttle.io_service_bytes"),
                  "io_serviced_recursive": _blkio_entries(blkio / "blkio.throttle.io_serviced")},
    }


def _blkio_entries(path: Path) -> list[dict[str, Any]]:
    entries = []
    for line in _read(path).splitlines():
        parts = line.split()
        if len(parts) == 3 and ":" in parts[0]:
            major, minor = parts[0].split(":")
            entries.append({"major": int(major), "minor": int(minor), "op": parts[1], "value": int(parts[2])})
    return entries


def _v2(cgroup_path: str) -> dict[str, Any]:
    group = CGROUP_ROOT / cgroup_path.lstrip("/")
    cpu = _key_values(group / "cpu.stat")
    limit_text = _read(group / "memory.max").strip()
    pids_limit = _read(group / "pids.max").strip()
    io_bytes = []
    for line in _read(group / "io.stat").splitlines():
        device, *pairs = line.split()
        if ":" not in device:
            continue
        major, minor = (int(x) for x in device.split(":"))
        values = dict(pair.split("=", 1) for pair in pairs if "=" in pair)
        for key, op in (("rbytes", "read"), ("wbytes", "write")):
            if key in values:
                io_bytes.append({"major": major, "minor": minor, "op": op, "value": int(values[key])})
    return {
        "cpu_usage": {
            "total_usage": cpu.get("usage_usec", 0) * 1000,
            "usage_in_kernelmode": cpu.get("system_usec", 0) * 1000,
            "usage_in_usermode": cpu.get("user_usec", 0) * 1000,
        },
        "throttling_data": {
            "periods": cpu.get("nr_periods", 0),
            "throttled_periods": cpu.get("nr_throttled", 0),
            "throttled_time": cpu.get("throttled_usec", 0) * 1000,
        },
        "memory": {
            "usage": _int(group / "memory.current"),
            "stats": _key_values(group / "memory.stat"),
            "limit": int(limit_text) if limit_text.isdigit() else _host_memory(),
        },
        "pids": {"current": _int(group / "pids.current"),
                 **({"limit": int(pids_limit)} if pids_limit.isdigit() else {})},
        # cgroup v2 has only the bytes; moby leaves the other lists null.
        "blkio": {**_NO_BLKIO, "io_service_bytes_recursive": io_bytes or None},
    }


def _host_memory() -> int:
    for line in _read(Path("/proc/meminfo")).splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) * 1024
    return 0


def sample(cgroup_path: str, pid: int) -> dict[str, Any]:
    """One reading: the cgroup's counters, the host's CPU time and the container's networks."""
    data = _v2(cgroup_path) if is_cgroup_v2() else _v1(cgroup_path)
    data["system_cpu_usage"] = system_cpu_usage()
    data["networks"] = _network_stats(pid)
    data["read"] = now_ns()
    return data


def _cpu_stats(reading: dict[str, Any] | None, cpus: int) -> dict[str, Any]:
    if reading is None:
        return {"cpu_usage": {"total_usage": 0, "usage_in_kernelmode": 0, "usage_in_usermode": 0},
                "throttling_data": {"periods": 0, "throttled_periods": 0, "throttled_time": 0}}
    return {"cpu_usage": reading["cpu_usage"], "system_cpu_usage": reading["system_cpu_usage"],
            "online_cpus": cpus, "throttling_data": reading["throttling_data"]}


def to_api(
    container_id: str, name: str, current: dict[str, Any] | None, previous: dict[str, Any] | None
) -> dict[str, Any]:
    """Docker's StatsResponse; a stopped container (no reading) gets the zeroed shape Docker sends."""
    cpus = online_cpus()
    if current is None:
        return {"read": rfc3339nano(0), "preread": rfc3339nano(0), "name": name, "id": container_id,
                "pids_stats": {}, "blkio_stats": dict(_NO_BLKIO), "num_procs": 0, "storage_stats": {},
                "cpu_stats": _cpu_stats(None, cpus), "precpu_stats": _cpu_stats(None, cpus),
                "memory_stats": {}}
    return {
        "read": rfc3339nano(current["read"]),
        "preread": rfc3339nano(previous["read"]) if previous else rfc3339nano(0),
        "pids_stats": current["pids"],
        "blkio_stats": current["blkio"],
        "num_procs": 0,
        "storage_stats": {},
        "cpu_stats": _cpu_stats(current, cpus),
        "precpu_stats": _cpu_stats(previous, cpus),
        "memory_stats": current["memory"],
        "name": name,
        "id": container_id,
        "networks": current["networks"],
    }
