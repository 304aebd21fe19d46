"""A container's cgroup statistics in runc's `events --stats` JSON shape (runc's types.Stats).

Go's encoding/json rules are kept so the output reads as runc's: a number or list tagged `omitempty`
is left out when zero/empty, a struct never is. v1 reads each controller's own files (cpuacct,
cpuset, memory, pids, blkio, hugetlb); v2 reads the unified directory (cpu.stat, memory.*, pids.*,
io.stat, hugetlb.*).
"""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_NS_PER_TICK = 1_000_000_000 // 100  # cpuacct.stat counts USER_HZ (100) ticks


def _read(path: str, name: str) -> str | None:
    try:
        with open(os.path.join(path, name)) as f:
            return f.read()
    except OSError:
        return None


def _int(path: str, name: str) -> int:
    """A single-number file; "max" (no limit) and a missing file read as 0, as runc's parsers give."""
    text = _read(path, name)
    if text is None:
        return 0
    text = text.strip()
    try:
        return int(text)
    except ValueError:
        return 0


def _key_values(text: str | None) -> dict[str, int]:
    out: dict[str, int] = {}
    for line in (text or "").splitlines():
        key, _, value = line.partition(" ")
        try:
            out[key] = int(value)
        except ValueError:
            continue
    return out


def _omit_empty(data: dict[str, Any], *keys: str) -> dict[str, Any]:
    for key in keys:
        if not data.get(key):
            data.pop(key, None)
    return data


def _id_list(text: str | None) -> list[int]:
    """"0-2,5" -> [0, 1, 2, 5]."""
    out: list[int] = []
    for part in (text or "").strip().split(","):
        if not part:
            continue
        low, _, high = part.partition("-")
        out.extend(range(int(low), int(high or low) + 1))
    return out


def _memory_entry(path: str, prefix: str) -> dict[str, Any]:
    entry = {"limit": _int(path, f"{prefix}limit_in_bytes"), "usage": _int(path, f"{prefix}usage_in_bytes"),
             "max": _int(path, f"{prefix}max_usage_in_bytes"), "failcnt": _int(path, f"{prefix}failcnt")}
    return _omit_empty(entry, "usage", "max")


def _blkio_entries(text: str | None) -> list[dict[str, Any]]:
    """Lines "MAJ:MIN Op VALUE" (the "Total N" line is skipped, as runc does)."""
    out = []
    for line in (text or "").splitlines():
        fields = line.split()
        if len(fields) < 2 or fields[0] == "Total":
            continue
        major, _, minor = fields[0].partition(":")
        entry: dict[str, Any] = {"major": int(major), "minor": int(minor)}
        if len(fields) == 3:
            entry["op"] = fields[1]
            entry["value"] = int(fields[2])
        else:
            entry["value"] = int(fields[1])
        out.append(_omit_empty(entry, "major", "minor", "op", "value"))
    return out


def v1_stats(paths: dict[str, str]) -> dict[str, Any]:
    return {"cpu": _v1_cpu(paths), "cpuset": _v1_cpuset(paths.get("cpuset")), "memory": _v1_memory(paths.get("memory")),
            "pids": _pids(paths.get("pids")), "blkio": _v1_blkio(paths.get("blkio")),
            "hugetlb": _v1_hugetlb(paths.get("hugetlb")), "intel_rdt": {}, "network_interfaces": None}


def _v1_cpu(paths: dict[str, str]) -> dict[str, Any]:
    usage: dict[str, Any] = {}
    acct = paths.get("cpuacct")
    if acct:
        usage["total"] = _int(acct, "cpuacct.usage")
        usage["percpu"] = [int(v) for v in (_read(acct, "cpuacct.usage_percpu") or "").split()]
        kernel, user = [], []
        for line in (_read(acct, "cpuacct.usage_all") or "").splitlines()[1:]:
            fields = line.split()
            if len(fields) == 3:
                user.append(int(fields[1]))
                kernel.append(int(fields[2]))
        usage["percpu_kernel"] = kernel
        usage["percpu_user"] = user
        ticks = _key_values(_read(acct, "cpuacct.stat"))
        usage["kernel"] = ticks.get("system", 0) * _NS_PER_TICK
        usage["user"] = ticks.get("user", 0) * _NS_PER_TICK
    else:
        usage = {"kernel": 0, "user": 0}
    throttling: dict[str, Any] = {}
    cpu = paths.get("cpu")
    if cpu:
        stat = _key_values(_read(cpu, "cpu.stat"))
        throttling = {"periods": stat.get("nr_periods", 0), "throttledPeriods": stat.get("nr_throttled", 0),
                      "throttledTime": stat.get("throttled_time", 0)}
    return {"usage": _omit_empty(usage, "total", "percpu", "percpu_kernel", "percpu_user"),
            "throttling": _omit_empty(throttling, "periods", "throttledPeriods", "throttledTime")}


def _v1_cpuset(path: str | None) -> dict[str, Any]:
    names = ("cpu_exclusive", "mem_hardwall", "mem_exclusive", "memory_migrate", "memory_spread_page",
             "memory_spread_slab", "memory_pressure", "sched_load_balance", "sched_relax_domain_level")
    out: dict[str, Any] = {"cpus": [], "cpu_exclusive": 0, "mems": []}
    out.update({name: 0 for name in names})
    if path:
        out["cpus"] = _id_list(_read(path, "cpuset.cpus"))
        out["mems"] = _id_list(_read(path, "cpuset.mems"))
        for name in names:
            out[name] = _int(path, f"cpuset.{name}")
    return _omit_empty(out, "cpus", "mems")


def _v1_memory(path: str | None) -> dict[str, Any]:
    if not path:
        return {"usage": {"limit": 0, "failcnt": 0}, "swap": {"limit": 0, "failcnt": 0},
                "kernel": {"limit": 0, "failcnt": 0}, "kernelTCP": {"limit": 0, "failcnt": 0}}
    raw = _key_values(_read(path, "memory.stat"))
    out: dict[str, Any] = {"cache": raw.get("cache", 0), "usage": _memory_entry(path, "memory."),
                           "swap": _memory_entry(path, "memory.memsw."), "kernel": _memory_entry(path, "memory.kmem."),
                           "kernelTCP": _memory_entry(path, "memory.kmem.tcp."), "raw": raw}
    return _omit_empty(out, "cache", "raw")


def _pids(path: str | None) -> dict[str, Any]:
    if not path:
        return {}
    return _omit_empty({"current": _int(path, "pids.current"), "limit": _int(path, "pids.max")}, "current", "limit")


def _v1_blkio(path: str | None) -> dict[str, Any]:
    if not path:
        return {}
    # CFQ's files, else BFQ's, else the throttle layer's (as runc picks them)
    for prefix in ("blkio.", "blkio.bfq.", "blkio.throttle."):
        if os.path.exists(os.path.join(path, f"{prefix}io_serviced_recursive")):
            break
    else:
        return {}
    names = {"ioServiceBytesRecursive": "io_service_bytes_recursive", "ioServicedRecursive": "io_serviced_recursive"}
    if prefix != "blkio.throttle.":
        names.update({"ioQueueRecursive": "io_queued_recursive", "ioServiceTimeRecursive": "io_service_time_recursive",
                      "ioWaitTimeRecursive": "io_wait_time_recursive", "ioMergedRecursive": "io_merged_recursive",
                      "ioTimeRecursive": "time_recursive", "sectorsRecursive": "sectors_recursive"})
    out = {key: _blkio_entries(_read(path, prefix + name)) for key, name in names.items()}
    return _omit_empty(out, *names)


def _v1_hugetlb(path: str | None) -> dict[str, Any]:
    if not path:
        return {}
    out: dict[str, Any] = {}
    for name in sorted(os.listdir(path)):
        if name.startswith("hugetlb.") and name.endswith(".usage_in_bytes") and ".rsvd." not in name:
            size = name[len("hugetlb."):-len(".usage_in_bytes")]
            out[size] = _omit_empty({"usage": _int(path, name), "max": _int(path, f"hugetlb.{size}.max_usage_in_bytes"),
                                     "failcnt": _int(path, f"hugetlb.{size}.failcnt")}, "usage", "max")
    return out


def v2_stats(path: str) -> dict[str, Any]:
    return {"cpu": _v2_cpu(path), "cpuset": _v2_cpuset(path), "memory": _v2_memory(path), "pids": _pids(path),
            "blkio": _v2_io(path), "hugetlb": _v2_hugetlb(path), "intel_rdt": {}, "network_interfaces": None}


def _v2_cpu(path: str) -> dict[str, Any]:
    stat = _key_values(_read(path, "cpu.stat"))
    usage = {"total": stat.get("usage_usec", 0) * 1000, "kernel": stat.get("system_usec", 0) * 1000,
             "user": stat.get("user_usec", 0) * 1000}
    throttling = {"periods": stat.get("nr_periods", 0), "throttledPeriods": stat.get("nr_throttled", 0),
                  "throttledTime": stat.get("throttled_usec", 0) * 1000}
    return {"usage": _omit_empty(usage, "total"),
            "throttling": _omit_empty(throttling, "periods", "throttledPeriods", "throttledTime")}


def _v2_cpuset(path: str) -> dict[str, Any]:
    out: dict[str, Any] = {"cpus": _id_list(_read(path, "cpuset.cpus.effective")), "cpu_exclusive": 0,
                           "mems": _id_list(_read(path, "cpuset.mems.effective"))}
    out.update({name: 0 for name in ("mem_hardwall", "mem_exclusive", "memory_migrate", "memory_spread_page",
                                     "memory_spread_slab", "memory_pressure", "sched_load_balance",
                                     "sched_relax_domain_level")})
    return _omit_empty(out, "cpus", "mems")


def _v2_memory(path: str) -> dict[str, Any]:
    raw = _key_values(_read(path, "memory.stat"))
    events = _key_values(_read(path, "memory.events"))
    usage = _omit_empty({"limit": _int(path, "memory.max") or (1 << 63) - 1, "usage": _int(path, "memory.current"),
                         "max": _int(path, "memory.peak"), "failcnt": events.get("max", 0)}, "usage", "max")
    swap = _omit_empty({"limit": _int(path, "memory.swap.max") or (1 << 63) - 1,
                        "usage": _int(path, "memory.swap.current"), "failcnt": 0}, "usage")
    out: dict[str, Any] = {"cache": raw.get("file", 0), "usage": usage, "swap": swap,
                           "kernel": {"limit": 0, "failcnt": 0}, "kernelTCP": {"limit": 0, "failcnt": 0}, "raw": raw}
    return _omit_empty(out, "cache", "raw")


def _v2_io(path: str) -> dict[str, Any]:
    """io.stat lines "MAJ:MIN rbytes=N wbytes=N rios=N wios=N ..." -> runc's Read/Write entries."""
    service_bytes, serviced = [], []
    for line in (_read(path, "io.stat") or "").splitlines():
        device, *pairs = line.split()
        major, _, minor = device.partition(":")
        values = dict(p.split("=", 1) for p in pairs if "=" in p)
        for key, op, into in (("rbytes", "Read", service_bytes), ("wbytes", "Write", service_bytes),
                              ("rios", "Read", serviced), ("wios", "Write", serviced)):
            if key in values:
                into.append(_omit_empty({"major": int(major), "minor": int(minor), "op": op,
                                         "value": int(values[key])}, "major", "minor", "value"))
    return _omit_empty({"ioServiceBytesRecursive": service_bytes, "ioServicedRecursive": serviced},
                       "ioServiceBytesRecursive", "ioServicedRecursive")


def _v2_hugetlb(path: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    try:
        names = sorted(os.listdir(path))
    except OSError:
        return out
    for name in names:
        if name.startswith("hugetlb.") and name.endswith(".current") and ".rsvd." not in name:
            size = name[len("hugetlb."):-len(".current")]
            events = _key_values(_read(path, f"hugetlb.{size}.events"))
            out[size] = _omit_empty({"usage": _int(path, name), "max": _int(path, f"hugetlb.{size}.max"),
                                     "failcnt": events.get("max", 0)}, "usage", "max")
    return out
