"""cgroup v1: one directory per mounted hierarchy, plus the unified (v2) tree of a hybrid host."""

from __future__ import annotations

import os
import time

from wharf.runtime.cgroups import (
    UNIFIED_ROOT,
    SelfJoin,
    own_cgroups,
    read,
    read_procs,
    remove_dir,
    warn,
    write,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from wharf.runtime.specconv import BlockIO, Resources

HYBRID_UNIFIED = os.path.join(UNIFIED_ROOT, "unified")


def hierarchies() -> dict[str, str]:
    """Mounted v1 hierarchies: controller key (the first controller, or "name=X") -> mount point.

    A co-mounted hierarchy (cpu,cpuacct) appears once under each of its controllers."""
    out: dict[str, str] = {}
    with open("/proc/self/mountinfo") as f:
        for line in f:
            pre, _, post = line.partition(" - ")
            post_fields = post.split()
            if not post_fields or post_fields[0] != "cgroup":
                continue
            mount_point = pre.split()[4]
            for option in post_fields[2].split(","):
                if option in ("rw", "ro") or option.startswith(("relatime", "noexec", "nosuid", "nodev")):
                    continue
                if option.startswith("release_agent") or option in ("clone_children", "xattr", "noprefix"):
                    continue
                out.setdefault(option, mount_point)
    return out


class V1Manager:
    version = 1

    def __init__(self, paths: dict[str, str]) -> None:
        self.paths = paths  # controller key -> cgroup dir ("unified" for the hybrid v2 tree)

    @classmethod
    def for_container(cls, cgroups_path: str, container_id: str) -> V1Manager:
        own = own_cgroups()
        paths: dict[str, str] = {}
        seen_mounts: dict[str, str] = {}
        for controller, mount_point in hierarchies().items():
            if mount_point in seen_mounts:
                paths[controller] = seen_mounts[mount_point]
                continue
            paths[controller] = seen_mounts[mount_point] = _join(
                mount_point, own.get(controller, "/"), cgroups_path, container_id
            )
        if os.path.exists(os.path.join(HYBRID_UNIFIED, "cgroup.procs")):
            paths["unified"] = _join(HYBRID_UNIFIED, own.get("", "/"), cgroups_path, container_id)
        return cls(paths)

    def _dirs(self) -> list[str]:
        return list(dict.fromkeys(self.paths.values()))

    def create(self, resources: Resources) -> None:
        made: list[str] = []
        try:
            for path in self._dirs():
                if not os.path.isdir(path):
                    os.makedirs(path, exist_ok=True)
                    made.append(path)
            self._apply(resources)
        except OSError:
            for path in reversed(made):
                try:
                    remove_dir(path)
                except OSError:
                    pass
            raise

    def _apply(self, r: Resources) -> None:
        if "cpuset" in self.paths:
            cpuset = self.paths["cpuset"]
            _inherit_cpuset(cpuset)
            if r.cpuset_cpus:
                write(cpuset, "cpuset.cpus", r.cpuset_cpus)
            if r.cpuset_mems:
                write(cpuset, "cpuset.mems", r.cpuset_mems)
        memory = self.paths.get("memory")
        if memory:
            _set_memory_and_swap(memory, r.memory_limit, r.memory_swap)
            if r.memory_reservation is not None:
                write(memory, "memory.soft_limit_in_bytes", str(r.memory_reservation))
            if r.memory_swappiness is not None and 0 <= r.memory_swappiness <= 100:
                write(memory, "memory.swappiness", str(r.memory_swappiness))
            if r.disable_oom_killer:
                write(memory, "memory.oom_control", "1")
        cpu = self.paths.get("cpu")
        if cpu:
            if r.cpu_shares:
                write(cpu, "cpu.shares", str(r.cpu_shares))
            if r.cpu_period:
                write(cpu, "cpu.cfs_period_us", str(r.cpu_period))
            if r.cpu_quota:
                write(cpu, "cpu.cfs_quota_us", str(r.cpu_quota))
        pids = self.paths.get("pids")
        if pids and r.pids_limit is not None:
            write(pids, "pids.max", "max" if r.pids_limit <= 0 else str(r.pids_limit))
        blkio = self.paths.get("blkio")
        if blkio and r.blkio.is_set():
            _apply_blkio(blkio, r.blkio)
        devices = self.paths.get("devices")
        if devices and r.devices:
            _apply_device_rules(devices, r.devices)

    def update(self, resources: Resources) -> None:
        self._apply(resources)

    def join(self, pid: int) -> None:
        for path in self._dirs():
            write(path, "cgroup.procs", str(pid))

    def self_join(self) -> SelfJoin:
        unified = self.paths.get("unified")
        return SelfJoin([path for path in self._dirs() if path != unified], unified)

    def pids(self) -> list[int]:
        for key in ("pids", "freezer", "memory", "cpu"):
            if key in self.paths:
                return read_procs(self.paths[key])
        return read_procs(next(iter(self.paths.values())))

    def freeze(self) -> None:
        self._set_freezer("FROZEN")

    def thaw(self) -> None:
        self._set_freezer("THAWED")

    def _set_freezer(self, state: str) -> None:
        freezer = self.paths.get("freezer")
        if not freezer:
            raise OSError(95, "the freezer cgroup is not mounted")
        write(freezer, "freezer.state", state)
        for _ in range(1000):
            if read(freezer, "freezer.state") == state:
                return
            time.sleep(0.001)
            write(freezer, "freezer.state", state)

    def is_frozen(self) -> bool:
        freezer = self.paths.get("freezer")
        if not freezer:
            return False
        try:
            return read(freezer, "freezer.state") in ("FROZEN", "FREEZING")
        except OSError:
            return False

    def destroy(self) -> None:
        errors: list[OSError] = []
        for path in self._dirs():
            try:
                remove_dir(path)
            except OSError as err:
                errors.append(err)
        if errors:
            raise errors[0]


def _join(mount_point: str, own: str, cgroups_path: str, container_id: str) -> str:
    # runc's fs driver: an absolute cgroupsPath is from the hierarchy's root, a relative one (or the
    # container id when none is given) from the runtime's own cgroup.
    if cgroups_path.startswith("/"):
        return os.path.normpath(mount_point + cgroups_path)
    return os.path.normpath(os.path.join(mount_point + own, cgroups_path or container_id))


def _inherit_cpuset(path: str) -> None:
    """A new v1 cpuset starts empty and refuses tasks: copy cpus/mems down from the nearest non-empty parent."""
    for name in ("cpuset.cpus", "cpuset.mems"):
        if read(path, name):
            continue
        chain = [path]
        parent = os.path.dirname(path)
        while read(parent, name) == "" and parent != os.path.dirname(parent):
            chain.append(parent)
            parent = os.path.dirname(parent)
        value = read(parent, name)
        for directory in reversed(chain):
            write(directory, name, value)


def _apply_device_rules(path: str, rules: list[dict[str, object]]) -> None:
    from wharf.runtime.devices import DEFAULT_ALLOWED_RULES

    for rule in list(rules) + [dict(r, allow=True) for r in DEFAULT_ALLOWED_RULES]:
        kind = str(rule.get("type") or "a")
        major = "*" if rule.get("major") in (None, -1) else str(rule.get("major"))
        minor = "*" if rule.get("minor") in (None, -1) else str(rule.get("minor"))
        access = str(rule.get("access") or "rwm")
        entry = "a" if kind == "a" else f"{kind} {major}:{minor} {access}"
        write(path, "devices.allow" if rule.get("allow") else "devices.deny", entry)


def _set_memory_and_swap(path: str, limit: int | None, swap: int | None) -> None:
    """memory.limit_in_bytes must stay <= memory.memsw.limit_in_bytes at every write: raising both
    writes the swap limit first, lowering both the memory limit first (as runc orders them)."""
    has_swap = os.path.exists(os.path.join(path, "memory.memsw.limit_in_bytes"))
    if limit == -1 and swap is None and has_swap:
        swap = -1  # unlimited memory with an unset swap limit: unlimited swap too, as runc
    if swap is not None and not has_swap:
        if limit is not None:
            write(path, "memory.limit_in_bytes", str(limit))
        if swap not in (-1, limit):
            warn("swap limit ignored: the kernel has no memory.memsw.limit_in_bytes (swapaccount=0)")
        return
    if limit is not None and swap is not None:
        current = int(read(path, "memory.limit_in_bytes"))
        if swap == -1 or current < swap:
            write(path, "memory.memsw.limit_in_bytes", str(swap))
            write(path, "memory.limit_in_bytes", str(limit))
        else:
            write(path, "memory.limit_in_bytes", str(limit))
            write(path, "memory.memsw.limit_in_bytes", str(swap))
    elif limit is not None:
        write(path, "memory.limit_in_bytes", str(limit))
    elif swap is not None:
        write(path, "memory.memsw.limit_in_bytes", str(swap))


def _apply_blkio(path: str, io: BlockIO) -> None:
    """linux.resources.blockIO on v1: CFQ's blkio.weight files, or BFQ's blkio.bfq.weight ones, whichever the
    kernel has; a weight without either file is skipped with a warning (as runc). Throttles always exist."""
    if os.path.exists(os.path.join(path, "blkio.weight")):
        weight_file, device_file = "blkio.weight", "blkio.weight_device"
    elif os.path.exists(os.path.join(path, "blkio.bfq.weight")):
        weight_file, device_file = "blkio.bfq.weight", "blkio.bfq.weight_device"
    else:
        weight_file = device_file = ""
    wants_weight = io.weight or io.leaf_weight or any(d.weight or d.leaf_weight for d in io.weight_devices)
    if wants_weight and not weight_file:
        warn("blockIO weight ignored: the kernel has no blkio.weight or blkio.bfq.weight "
             "(no CFQ/BFQ I/O scheduler with cgroup support)")
    if weight_file:
        if io.weight:
            write(path, weight_file, str(io.weight))
        if io.leaf_weight:
            _write_if_exists(path, "blkio.leaf_weight", str(io.leaf_weight))
        for device in io.weight_devices:
            if device.weight:
                write(path, device_file, f"{device.major}:{device.minor} {device.weight}")
            if device.leaf_weight:
                _write_if_exists(path, "blkio.leaf_weight_device", f"{device.major}:{device.minor} {device.leaf_weight}")
    for name, devices in (("blkio.throttle.read_bps_device", io.throttle_read_bps),
                          ("blkio.throttle.write_bps_device", io.throttle_write_bps),
                          ("blkio.throttle.read_iops_device", io.throttle_read_iops),
                          ("blkio.throttle.write_iops_device", io.throttle_write_iops)):
        for device in devices:
            write(path, name, f"{device.major}:{device.minor} {device.rate}")


def _write_if_exists(path: str, name: str, value: str) -> None:
    if os.path.exists(os.path.join(path, name)):
        write(path, name, value)
    else:
        warn(f"{name} ignored: the kernel has no such file (leaf weights are CFQ's only)")
