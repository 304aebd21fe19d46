"""Checking a container's Config/HostConfig before anything is made, with the Docker engine's
messages (moby `daemon/daemon_unix.go` verifyPlatformContainerResources and friends): wrong JSON
types, out-of-range limits, conflicting options. Each check returns Docker's warnings or raises
InvalidArgument (400), so a rejected request changes nothing."""

from __future__ import annotations

import os
import re
from typing import Any

from wharf import errdefs

MIN_MEMORY = 6 * 1024 * 1024
CPUSET_ROOT = "/sys/fs/cgroup/cpuset"
MEMSW_FILE = "/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes"

_INT, _BOOL, _STR, _LIST, _DICT = "int64", "bool", "string", "[]", "map"
_HOST_CONFIG_TYPES: dict[str, str] = {
    "Memory": _INT, "MemorySwap": _INT, "MemoryReservation": _INT, "MemorySwappiness": _INT,
    "NanoCpus": _INT, "CpuShares": _INT, "CpuQuota": _INT, "CpuPeriod": _INT, "CpusetCpus": _STR,
    "CpusetMems": _STR, "PidsLimit": _INT, "BlkioWeight": _INT, "OomKillDisable": _BOOL,
    "OomScoreAdj": _INT, "ShmSize": _INT, "Privileged": _BOOL, "ReadonlyRootfs": _BOOL,
    "AutoRemove": _BOOL, "Init": _BOOL, "PublishAllPorts": _BOOL, "IpcMode": _STR, "PidMode": _STR,
    "UTSMode": _STR, "NetworkMode": _STR, "Runtime": _STR, "CgroupParent": _STR, "CapAdd": _LIST,
    "CapDrop": _LIST, "Binds": _LIST, "Ulimits": _LIST, "Devices": _LIST, "GroupAdd": _LIST,
    "SecurityOpt": _LIST, "Dns": _LIST, "DnsOptions": _LIST, "DnsSearch": _LIST, "ExtraHosts": _LIST,
    "Mounts": _LIST, "Tmpfs": _DICT, "Sysctls": _DICT, "PortBindings": _DICT, "RestartPolicy": _DICT,
    "LogConfig": _DICT, "MaskedPaths": _LIST, "ReadonlyPaths": _LIST,
}  # fmt: skip
_CONFIG_TYPES: dict[str, str] = {
    "Hostname": _STR, "Domainname": _STR, "User": _STR, "Tty": _BOOL, "OpenStdin": _BOOL,
    "StdinOnce": _BOOL, "AttachStdin": _BOOL, "AttachStdout": _BOOL, "AttachStderr": _BOOL,
    "Image": _STR, "WorkingDir": _STR, "StopSignal": _STR, "StopTimeout": _INT, "Labels": _DICT,
    "ExposedPorts": _DICT, "Volumes": _DICT, "NetworkDisabled": _BOOL,
}  # fmt: skip


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _type_ok(value: Any, expected: str) -> bool:
    if value is None:
        return True
    if expected == _INT:
        return isinstance(value, int) and not isinstance(value, bool) or (
            isinstance(value, float) and value.is_integer()
        )
    if expected == _BOOL:
        return isinstance(value, bool)
    if expected == _STR:
        return isinstance(value, str)
    if expected == _LIST:
        return isinstance(value, list)
    return isinstance(value, dict)


def _check_types(values: dict[str, Any], table: dict[str, str], struct: str) -> None:
    for key, expected in table.items():
        value = values.get(key)
        if not _type_ok(value, expected):
            go_type = {_LIST: "[]string", _DICT: "map[string]string"}.get(expected, expected)
            raise errdefs.InvalidArgument(
                f"json: cannot unmarshal {_json_type(value)} into Go struct field {struct}.{key} of type {go_type}"
            )


def check_types(config: dict[str, Any], host_config: dict[str, Any]) -> None:
    """Docker's JSON decoder refuses a wrong type with 400; unknown fields are ignored as it does."""
    _check_types(config, _CONFIG_TYPES, "ContainerConfigWrapper.Config")
    _check_types(host_config, _HOST_CONFIG_TYPES, "ContainerConfigWrapper.HostConfig")
    for key in ("Ulimits", "Devices"):
        for item in host_config.get(key) or []:
            if not isinstance(item, dict):
                raise errdefs.InvalidArgument(
                    f"json: cannot unmarshal {_json_type(item)} into Go struct field HostConfig.{key} of type object"
                )
    for key in ("CapAdd", "CapDrop", "GroupAdd", "SecurityOpt", "Binds", "MaskedPaths", "ReadonlyPaths"):
        for item in host_config.get(key) or []:
            if not isinstance(item, str):
                raise errdefs.InvalidArgument(
                    f"json: cannot unmarshal {_json_type(item)} into Go struct field HostConfig.{key} of type string"
                )


def _cpu_list(text: str, what: str) -> set[int]:
    """`0-2,4` → {0, 1, 2, 4}; InvalidArgument with Docker's message for bad syntax."""
    out: set[int] = set()
    for part in text.split(","):
        match = re.fullmatch(r"(\d+)(?:-(\d+))?", part.strip())
        if not match:
            raise errdefs.InvalidArgument(f"Invalid value {text} for cpuset {what}: invalid format: {text}")
        low, high = int(match.group(1)), int(match.group(2) or match.group(1))
        if high < low:
            raise errdefs.InvalidArgument(f"Invalid value {text} for cpuset {what}: invalid format: {text}")
        out.update(range(low, high + 1))
    return out


def _available(name: str, fallback: str) -> str:
    try:
        with open(os.path.join(CPUSET_ROOT, name)) as f:
            return f.read().strip() or fallback
    except OSError:
        return fallback


def _int(host_config: dict[str, Any], key: str) -> int:
    return int(host_config.get(key) or 0)


def verify_resources(host_config: dict[str, Any], update: bool = False) -> list[str]:
    """moby's verifyPlatformContainerResources on cgroup v1: warnings, or InvalidArgument."""
    warnings: list[str] = []
    memory, swap, reservation = _int(host_config, "Memory"), _int(host_config, "MemorySwap"), _int(
        host_config, "MemoryReservation")
    if memory != 0 and memory < MIN_MEMORY:
        raise errdefs.InvalidArgument("Minimum memory limit allowed is 6MB")
    if memory > 0 and swap != -1 and not os.path.exists(MEMSW_FILE):
        warnings.append("Your kernel does not support swap limit capabilities or the cgroup is not mounted. "
                        "Memory limited without swap.")
    if memory > 0 and swap > 0 and swap < memory:
        raise errdefs.InvalidArgument("Minimum memoryswap limit should be larger than memory limit, see usage")
    if memory == 0 and swap > 0 and not update:
        raise errdefs.InvalidArgument("You should always set the Memory limit when using Memoryswap limit, see usage")
    swappiness = host_config.get("MemorySwappiness")
    if swappiness is not None and swappiness != -1 and not 0 <= int(swappiness) <= 100:
        raise errdefs.InvalidArgument(f"Invalid value: {swappiness}, valid memory swappiness range is 0-100")
    if reservation > 0 and reservation < MIN_MEMORY:
        raise errdefs.InvalidArgument("Minimum memory reservation allowed is 6MB")
    if memory > 0 and reservation > 0 and memory < reservation:
        raise errdefs.InvalidArgument(
            "Minimum memory limit can not be less than memory reservation limit, see usage")
    if host_config.get("OomKillDisable") and memory == 0:
        warnings.append("OOM killer is disabled for the container, but no memory limit is set, this can result "
                        "in the system running out of resources.")
    nano, period, quota = _int(host_config, "NanoCpus"), _int(host_config, "CpuPeriod"), _int(host_config, "CpuQuota")
    if nano > 0 and period > 0:
        raise errdefs.InvalidArgument("Conflicting options: Nano CPUs and CPU Period cannot both be set")
    if nano > 0 and quota > 0:
        raise errdefs.InvalidArgument("Conflicting options: Nano CPUs and CPU Quota cannot both be set")
    cpus = os.cpu_count() or 1
    if nano != 0 and (nano < 0 or nano > cpus * 1_000_000_000):
        raise errdefs.InvalidArgument(
            f"range of CPUs is from 0.01 to {cpus}.00, as there are only {cpus} CPUs available")
    if _int(host_config, "CpuShares") < 0:
        raise errdefs.InvalidArgument(
            f"invalid CPU shares ({_int(host_config, 'CpuShares')}): value must be a positive integer")
    if period != 0 and not 1000 <= period <= 1_000_000:
        raise errdefs.InvalidArgument(
            "CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)")
    if quota > 0 and quota < 1000:
        raise errdefs.InvalidArgument("CPU cfs quota can not be less than 1ms (i.e. 1000)")
    for key, what, file, fallback in (("CpusetCpus", "cpus", "cpuset.cpus", f"0-{cpus - 1}"),
                                      ("CpusetMems", "mems", "cpuset.mems", "0")):
        requested = host_config.get(key) or ""
        if requested:
            available = _available(file, fallback)
            if not _cpu_list(requested, what) <= _cpu_list(available, what):
                noun = "CPUs" if what == "cpus" else "memory nodes"
                raise errdefs.InvalidArgument(
                    f"Requested {noun} are not available - requested {requested}, available: {available}")
    weight = _int(host_config, "BlkioWeight")
    if weight > 0 and not 10 <= weight <= 1000:
        raise errdefs.InvalidArgument("Range of blkio weight is from 10 to 1000")
    if weight < 0:
        raise errdefs.InvalidArgument("Range of blkio weight is from 10 to 1000")
    for ulimit in host_config.get("Ulimits") or []:
        if not isinstance(ulimit.get("Name"), str) or not ulimit.get("Name"):
            raise errdefs.InvalidArgument(f"invalid ulimit: {ulimit}")
        soft, hard = ulimit.get("Soft", 0), ulimit.get("Hard", 0)
        if not isinstance(soft, int) or not isinstance(hard, int) or soft > hard:
            raise errdefs.InvalidArgument(
                f"invalid ulimit argument: soft limit ({soft}) for {ulimit['Name']} is higher than the hard limit "
                f"({hard})" if isinstance(soft, int) and isinstance(hard, int) else f"invalid ulimit: {ulimit}")
    return warnings


def _mode_ok(mode: str, extra: tuple[str, ...] = ()) -> bool:
    if mode in ("", "host", *extra):
        return True
    return mode.startswith("container:") and len(mode) > len("container:")


def verify_host_config(host_config: dict[str, Any]) -> list[str]:
    """The checks of moby's verifyContainerSettings beyond resources."""
    warnings = verify_resources(host_config)
    check_capabilities(host_config)
    if not _mode_ok(host_config.get("IpcMode") or "", ("private", "shareable", "none")):
        raise errdefs.InvalidArgument(f"invalid IPC mode: {host_config.get('IpcMode')}")
    if not _mode_ok(host_config.get("PidMode") or ""):
        raise errdefs.InvalidArgument(f"invalid PID mode: {host_config.get('PidMode')}")
    if (host_config.get("UTSMode") or "") not in ("", "host"):
        raise errdefs.InvalidArgument(f"invalid UTS mode: {host_config.get('UTSMode')}")
    if _int(host_config, "ShmSize") < 0:
        raise errdefs.InvalidArgument("SHM size can not be less than 0")
    oom_score = _int(host_config, "OomScoreAdj")
    if not -1000 <= oom_score <= 1000:
        raise errdefs.InvalidArgument(f"Invalid value {oom_score}, range for oom score adj is [-1000, 1000]")
    if host_config.get("NetworkMode") == "host" and host_config.get("PortBindings"):
        warnings.append("Published ports are discarded when using host network mode")
    return warnings


def check_capabilities(host_config: dict[str, Any]) -> None:
    """CapAdd/CapDrop name known capabilities (`NET_ADMIN`, `cap_net_admin`, or `ALL`)."""
    from wharf.daemon.ocispec import ALL_CAPABILITIES, host_capabilities

    available = set(host_capabilities())
    for cap in [*(host_config.get("CapAdd") or []), *(host_config.get("CapDrop") or [])]:
        name = cap.upper()
        if name == "ALL":
            continue
        name = name if name.startswith("CAP_") else "CAP_" + name
        if name not in ALL_CAPABILITIES:
            raise errdefs.InvalidArgument(f'unknown capability: "{name}"')
        if name not in available:
            raise errdefs.InvalidArgument(
                f"capability not supported by your kernel or not available in the current environment: \"{name}\""
            )


def check_workdir_and_hostname(config: dict[str, Any]) -> None:
    workdir = config.get("WorkingDir") or ""
    if workdir and not workdir.startswith("/"):
        raise errdefs.InvalidArgument(
            f"the working directory '{workdir}' is invalid, it needs to be an absolute path")
    hostname = config.get("Hostname") or ""
    if len(hostname) > 63:
        raise errdefs.InvalidArgument(f'hostname "{hostname}" is too long (maximum 63 bytes)')


MINIMUM_HEALTHCHECK_DURATION_NS = 1_000_000
_HEALTHCHECK_DURATIONS = ("Interval", "Timeout", "StartPeriod", "StartInterval")


def check_healthcheck(config: dict[str, Any]) -> None:
    """moby's limits on a Healthcheck: durations of at least 1ms when set, no negative retries."""
    health = config.get("Healthcheck")
    if not isinstance(health, dict):
        return
    for key in _HEALTHCHECK_DURATIONS:
        value = health.get(key) or 0
        if isinstance(value, int) and 0 != value < MINIMUM_HEALTHCHECK_DURATION_NS:
            raise errdefs.InvalidArgument(f"{key} in Healthcheck cannot be less than 1ms")
    retries = health.get("Retries") or 0
    if isinstance(retries, int) and retries < 0:
        raise errdefs.InvalidArgument("Retries in Healthcheck cannot be negative")
