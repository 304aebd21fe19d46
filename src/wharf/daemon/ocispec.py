"""Docker's container Config + HostConfig (already merged with the image config) → OCI runtime spec.

Defaults follow the Docker engine's (moby `oci/defaults.go` and `daemon/oci_linux.go`): the default
capability set, mounts, masked and read-only /proc paths, device rules. The user (`-u`) is passed as
the annotation `io.wharf.user`, resolved by the supervisor against the rootfs.
"""

from __future__ import annotations

import signal as signals
from dataclasses import dataclass
from typing import Any

from wharf import errdefs
from wharf.daemon.seccomp_profile import seccomp_for

OCI_VERSION = "1.1.0"
DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
USER_ANNOTATION = "io.wharf.user"

DEFAULT_CAPABILITIES = [
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
    "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
]  # fmt: skip

ALL_CAPABILITIES = [
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
    "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER",
    "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
]  # fmt: skip



def host_capabilities() -> list[str]:
    """The capabilities wharfd's own bounding set holds (in number order): "all" for a privileged
    container means these, as a runtime can't grant more than it has."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("CapBnd:"):
                    mask = int(line.split()[1], 16)
                    return [name for bit, name in enumerate(ALL_CAPABILITIES) if mask & (1 << bit)]
    except OSError:
        pass
    return list(ALL_CAPABILITIES)


MASKED_PATHS = [
    "/proc/asound", "/proc/acpi", "/proc/interrupts", "/proc/kcore", "/proc/keys",
    "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug",
    "/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap",
]  # fmt: skip

READONLY_PATHS = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]

# (type, major, minor, access) the cgroup device controller allows besides the deny-all rule.
DEFAULT_DEVICE_RULES = [
    ("c", None, None, "m"), ("b", None, None, "m"),
    ("c", 1, 3, "rwm"), ("c", 1, 8, "rwm"), ("c", 1, 7, "rwm"), ("c", 5, 0, "rwm"),
    ("c", 1, 5, "rwm"), ("c", 1, 9, "rwm"), ("c", 136, None, "rwm"), ("c", 5, 2, "rwm"),
    ("c", 10, 200, "rwm"),
]  # fmt: skip


@dataclass
class ContainerFiles:
    """Files wharfd writes per container and binds into it."""

    hostname: str
    hosts: str
    resolv_conf: str


def _default_mounts(privileged: bool, shm_size: int) -> list[dict[str, Any]]:
    sys_options = ["nosuid", "noexec", "nodev"] + ([] if privileged else ["ro"])
    return [
        {"destination": "/proc", "type": "proc", "source": "proc", "options": ["nosuid", "noexec", "nodev"]},
        {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
         "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
        {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
         "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
        {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": sys_options},
        {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
         "options": ["nosuid", "noexec", "nodev", "relatime"] + ([] if privileged else ["ro"])},
        {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": ["nosuid", "noexec", "nodev"]},
        {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
         "options": ["nosuid", "noexec", "nodev", "mode=1777", f"size={shm_size}"]},
    ]  # fmt: skip


def _bind_mounts(binds: list[str]) -> list[dict[str, Any]]:
    """`-v /host:/ctr[:ro]` binds (named volumes come later with the volume service)."""
    mounts = []
    for bind in binds:
        parts = bind.split(":")
        if len(parts) < 2 or not parts[0].startswith("/"):
            raise errdefs.InvalidArgument(f"invalid volume specification: '{bind}'")
        source, destination = parts[0], parts[1]
        modes = parts[2].split(",") if len(parts) > 2 else []
        options = ["rbind", "ro" if "ro" in modes else "rw"]
        mounts.append({"destination": destination, "type": "bind", "source": source, "options": options})
    return mounts


def _file_mounts(files: ContainerFiles) -> list[dict[str, Any]]:
    return [
        {"destination": f"/etc/{name}", "type": "bind", "source": source, "options": ["rbind", "rprivate"]}
        for name, source in (("resolv.conf", files.resolv_conf), ("hostname", files.hostname), ("hosts", files.hosts))
    ]


def _device_rules(privileged: bool) -> list[dict[str, Any]]:
    if privileged:
        return [{"allow": True, "access": "rwm"}]
    rules: list[dict[str, Any]] = [{"allow": False, "access": "rwm"}]
    for kind, major, minor, access in DEFAULT_DEVICE_RULES:
        rule: dict[str, Any] = {"allow": True, "type": kind, "access": access}
        if major is not None:
            rule["major"] = major
        if minor is not None:
            rule["minor"] = minor
        rules.append(rule)
    return rules


def process_env(config: dict[str, Any], hostname: str) -> list[str]:
    """PATH and HOSTNAME (and TERM with a tty) first, then the container's Env overriding them."""
    env = [DEFAULT_PATH, f"HOSTNAME={hostname}"]
    if config.get("Tty"):
        env.append("TERM=xterm")
    for entry in config.get("Env") or []:
        key = entry.split("=", 1)[0]
        env = [e for e in env if e.split("=", 1)[0] != key]
        env.append(entry)
    return env


def _capabilities(host_config: dict[str, Any]) -> list[str]:
    available = host_capabilities()
    if host_config.get("Privileged"):
        return available
    caps = [cap for cap in DEFAULT_CAPABILITIES if cap in available]

    def normalise(cap: str) -> str:
        cap = cap.upper()
        return cap if cap.startswith("CAP_") else "CAP_" + cap

    adds = [normalise(c) for c in host_config.get("CapAdd") or []]
    drops = [normalise(c) for c in host_config.get("CapDrop") or []]
    if "CAP_ALL" in adds:
        caps = available
    else:
        caps += [c for c in adds if c not in caps and c in available]
    if "CAP_ALL" in drops:
        return [c for c in adds if c != "CAP_ALL"]
    return [c for c in caps if c not in drops]


def _rlimits(host_config: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"type": "RLIMIT_" + limit["Name"].upper(), "soft": int(limit["Soft"]), "hard": int(limit["Hard"])}
        for limit in host_config.get("Ulimits") or []
    ]


def _resources(host_config: dict[str, Any]) -> dict[str, Any]:
    resources: dict[str, Any] = {"devices": _device_rules(bool(host_config.get("Privileged")))}
    memory: dict[str, Any] = {}
    if host_config.get("Memory"):
        memory["limit"] = int(host_config["Memory"])
    if host_config.get("MemorySwap"):
        memory["swap"] = int(host_config["MemorySwap"])
    if host_config.get("MemoryReservation"):
        memory["reservation"] = int(host_config["MemoryReservation"])
    if memory:
        resources["memory"] = memory
    cpu: dict[str, Any] = {}
    if host_config.get("CpuShares"):
        cpu["shares"] = int(host_config["CpuShares"])
    if host_config.get("NanoCpus"):
        cpu["period"] = 100_000
        cpu["quota"] = int(host_config["NanoCpus"]) * 100_000 // 1_000_000_000
    if host_config.get("CpuQuota"):
        cpu["quota"] = int(host_config["CpuQuota"])
    if host_config.get("CpuPeriod"):
        cpu["period"] = int(host_config["CpuPeriod"])
    if host_config.get("CpusetCpus"):
        cpu["cpus"] = host_config["CpusetCpus"]
    if host_config.get("CpusetMems"):
        cpu["mems"] = host_config["CpusetMems"]
    if cpu:
        resources["cpu"] = cpu
    if host_config.get("PidsLimit") and int(host_config["PidsLimit"]) > 0:
        resources["pids"] = {"limit": int(host_config["PidsLimit"])}
    if host_config.get("OomKillDisable"):
        resources.setdefault("memory", {})["disableOOMKiller"] = True
    if host_config.get("BlkioWeight"):
        resources["blockIO"] = {"weight": int(host_config["BlkioWeight"])}
    return resources


def resources_of(host_config: dict[str, Any]) -> dict[str, Any]:
    """The spec's linux.resources for a HostConfig (used again by `docker update`)."""
    return _resources(host_config)


def _namespaces(host_config: dict[str, Any]) -> list[dict[str, str]]:
    kinds = ["pid", "ipc", "uts", "mount"]
    if host_config.get("PidMode") == "host":
        kinds.remove("pid")
    if host_config.get("IpcMode") == "host":
        kinds.remove("ipc")
    if host_config.get("UTSMode") == "host":
        kinds.remove("uts")
    if host_config.get("NetworkMode") != "host":
        # A fresh network namespace with only loopback until networks exist.
        kinds.append("network")
    return [{"type": kind} for kind in kinds]


def set_network_namespace(spec: dict[str, Any], path: str | None) -> None:
    """Join the pinned namespace at `path` (made by wharfd before the task), or the host's (None)."""
    namespaces = [ns for ns in spec["linux"]["namespaces"] if ns["type"] != "network"]
    if path is not None:
        namespaces.append({"type": "network", "path": path})
    spec["linux"]["namespaces"] = namespaces


def stop_signal_number(name: str | None) -> int:
    """`SIGTERM`, `TERM`, `15` → 15. InvalidArgument for unknown names."""
    if not name:
        return int(signals.SIGTERM)
    if name.isdigit():
        return int(name)
    upper = name.upper()
    if not upper.startswith("SIG"):
        upper = "SIG" + upper
    try:
        return int(signals.Signals[upper])
    except KeyError:
        raise errdefs.InvalidArgument(f"Invalid signal: {name}") from None


def build_spec(
    container_id: str,
    config: dict[str, Any],
    host_config: dict[str, Any],
    args: list[str],
    hostname: str,
    files: ContainerFiles,
    cgroup_parent: str,
) -> dict[str, Any]:
    """The OCI runtime spec for a container (without `root.path`, which the bundle sets)."""
    privileged = bool(host_config.get("Privileged"))
    caps = _capabilities(host_config)
    security_opts = host_config.get("SecurityOpt") or []
    process: dict[str, Any] = {
        "terminal": bool(config.get("Tty")),
        "user": {"uid": 0, "gid": 0},
        "args": args,
        "env": process_env(config, hostname),
        "cwd": config.get("WorkingDir") or "/",
        "capabilities": {"bounding": caps, "effective": caps, "permitted": caps},
        "noNewPrivileges": any(opt.split(":")[0].split("=")[0] == "no-new-privileges"
                               and not opt.endswith("false") for opt in security_opts),
    }
    rlimits = _rlimits(host_config)
    if rlimits:
        process["rlimits"] = rlimits
    if host_config.get("OomScoreAdj"):
        process["oomScoreAdj"] = int(host_config["OomScoreAdj"])
    annotations: dict[str, str] = {}
    if config.get("User"):
        annotations[USER_ANNOTATION] = config["User"]
    mounts = _default_mounts(privileged, int(host_config.get("ShmSize") or 64 * 1024 * 1024))
    mounts += _file_mounts(files)
    mounts += _bind_mounts(host_config.get("Binds") or [])
    for target, options in (host_config.get("Tmpfs") or {}).items():
        extra = [o for o in (options or "").split(",") if o]
        mounts.append({"destination": target, "type": "tmpfs", "source": "tmpfs",
                       "options": ["nosuid", "nodev", "noexec", *extra]})
    parent = (host_config.get("CgroupParent") or cgroup_parent or "/wharf").rstrip("/")
    linux: dict[str, Any] = {
        "namespaces": _namespaces(host_config),
        "resources": _resources(host_config),
        "cgroupsPath": f"{parent}/{container_id}",
    }
    if host_config.get("Sysctls"):
        linux["sysctl"] = dict(host_config["Sysctls"])
    if not privileged:
        # As the host config says (`--security-opt systempaths=unconfined` sends empty lists); a
        # container created before the defaults were stored in it has none: the defaults.
        masked, readonly = host_config.get("MaskedPaths"), host_config.get("ReadonlyPaths")
        linux["maskedPaths"] = list(MASKED_PATHS if masked is None else masked)
        linux["readonlyPaths"] = list(READONLY_PATHS if readonly is None else readonly)
    seccomp = seccomp_for(security_opts, privileged, caps)
    if seccomp is not None:
        linux["seccomp"] = seccomp
    spec: dict[str, Any] = {
        "ociVersion": OCI_VERSION,
        "process": process,
        "root": {"path": "rootfs", "readonly": bool(host_config.get("ReadonlyRootfs"))},
        "hostname": hostname,
        "mounts": mounts,
        "linux": linux,
    }
    if config.get("Domainname"):
        spec["domainname"] = config["Domainname"]
    if annotations:
        spec["annotations"] = annotations
    return spec


# ---- options applied after build_spec (devices, groups, shared namespaces, init) -------------


def _device_node(path_on_host: str) -> tuple[str, int, int, int]:
    """(type, major, minor, mode) of a host device node; InvalidArgument as Docker words it."""
    import os
    import stat

    try:
        st = os.stat(path_on_host)
    except OSError:
        raise errdefs.InvalidArgument(
            f'error gathering device information while adding custom device "{path_on_host}": '
            "no such file or directory"
        ) from None
    if stat.S_ISCHR(st.st_mode):
        kind = "c"
    elif stat.S_ISBLK(st.st_mode):
        kind = "b"
    else:
        raise errdefs.InvalidArgument(
            f'error gathering device information while adding custom device "{path_on_host}": not a device node'
        )
    return kind, os.major(st.st_rdev), os.minor(st.st_rdev), stat.S_IMODE(st.st_mode)


# Made by every runtime itself, or mounted: never copied from the host for --privileged.
_RUNTIME_DEVICES = {"/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty",
                    "/dev/ptmx", "/dev/console"}
_SKIPPED_DEV_DIRS = {"pts", "shm", "fd", "mqueue", "hugepages"}


def _host_devices() -> list[dict[str, Any]]:
    """Every device node under the host's /dev, as `--privileged` gives them (as moby does)."""
    import os
    import stat

    devices: list[dict[str, Any]] = []
    for directory, subdirs, names in os.walk("/dev"):
        if directory == "/dev":
            subdirs[:] = [d for d in subdirs if d not in _SKIPPED_DEV_DIRS]
        for name in names:
            path = os.path.join(directory, name)
            if path in _RUNTIME_DEVICES:
                continue
            try:
                st = os.lstat(path)
            except OSError:
                continue
            if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
                devices.append({"path": path, "type": "c" if stat.S_ISCHR(st.st_mode) else "b",
                                "major": os.major(st.st_rdev), "minor": os.minor(st.st_rdev),
                                "fileMode": stat.S_IMODE(st.st_mode), "uid": st.st_uid, "gid": st.st_gid})
    return devices


def add_devices(spec: dict[str, Any], host_config: dict[str, Any]) -> None:
    """`--device /dev/x[:/dev/y[:rwm]]`: the node in the container and a cgroup allow rule;
    `--device-cgroup-rule 'c 1:3 rwm'`: the rule alone."""
    linux = spec["linux"]
    rules = linux["resources"].setdefault("devices", [])
    if host_config.get("Privileged"):
        linux["devices"] = _host_devices()
    for device in host_config.get("Devices") or []:
        source = device.get("PathOnHost") or ""
        target = device.get("PathInContainer") or source
        access = device.get("CgroupPermissions") or "rwm"
        if not source.startswith("/") or not target.startswith("/") or set(access) - set("rwm"):
            raise errdefs.InvalidArgument(f"invalid device mapping: {source}:{target}:{access}")
        kind, major, minor, mode = _device_node(source)
        linux.setdefault("devices", []).append(
            {"path": target, "type": kind, "major": major, "minor": minor, "fileMode": mode, "uid": 0, "gid": 0}
        )
        rules.append({"allow": True, "type": kind, "major": major, "minor": minor, "access": access})
    for rule in host_config.get("DeviceCgroupRules") or []:
        parts = str(rule).split()
        numbers = parts[1].split(":") if len(parts) == 3 else []
        if len(parts) != 3 or parts[0] not in ("a", "b", "c") or len(numbers) != 2 or set(parts[2]) - set("rwm"):
            raise errdefs.InvalidArgument(f"invalid device cgroup format '{rule}'")
        entry: dict[str, Any] = {"allow": True, "type": parts[0], "access": parts[2]}
        for key, number in zip(("major", "minor"), numbers, strict=True):
            if number != "*":
                if not number.isdigit():
                    raise errdefs.InvalidArgument(f"invalid device cgroup format '{rule}'")
                entry[key] = int(number)
        rules.append(entry)


GROUPS_ANNOTATION = "io.wharf.groups"


def add_groups(spec: dict[str, Any], host_config: dict[str, Any]) -> None:
    """`--group-add`: numeric groups go into the spec; names go in the annotation
    `io.wharf.groups`, resolved by the supervisor against the rootfs's /etc/group."""
    gids: list[int] = []
    names: list[str] = []
    for group in host_config.get("GroupAdd") or []:
        if str(group).isdigit():
            gids.append(int(group))
        elif not group or "," in str(group):
            raise errdefs.InvalidArgument(f"Unable to find group {group}: no matching entries in group file")
        else:
            names.append(str(group))
    if names:
        spec.setdefault("annotations", {})[GROUPS_ANNOTATION] = ",".join(names)
    if gids:
        user = spec["process"]["user"]
        user["additionalGids"] = sorted({*user.get("additionalGids", []), *gids})


def join_namespaces(spec: dict[str, Any], host_config: dict[str, Any], pid_of: Any) -> None:
    """`--ipc/--pid container:<id>`: join the other container's namespace by /proc/<pid>/ns path
    (`pid_of(ref)` gives the running container's pid or raises)."""
    if host_config.get("UTSMode") == "host":
        spec.pop("hostname", None)  # the host's name: a runtime can't set one without a uts namespace
    for key, kind in (("IpcMode", "ipc"), ("PidMode", "pid"), ("UTSMode", "uts")):
        mode = str(host_config.get(key) or "")
        if not mode.startswith("container:"):
            continue
        pid = pid_of(mode.split(":", 1)[1])
        namespaces = [ns for ns in spec["linux"]["namespaces"] if ns["type"] != kind]
        namespaces.append({"type": kind, "path": f"/proc/{pid}/ns/{kind}"})
        spec["linux"]["namespaces"] = namespaces
        if kind == "uts":
            spec.pop("hostname", None)


INIT_PATH_IN_CONTAINER = "/sbin/docker-init"


def apply_init(spec: dict[str, Any], init_binary: str) -> None:
    """`--init`: bind the host's tini read-only as /sbin/docker-init and run the command under it."""
    spec["mounts"].append({"destination": INIT_PATH_IN_CONTAINER, "type": "bind", "source": init_binary,
                           "options": ["rbind", "ro", "rprivate"]})
    spec["process"]["args"] = [INIT_PATH_IN_CONTAINER, "--", *spec["process"]["args"]]
