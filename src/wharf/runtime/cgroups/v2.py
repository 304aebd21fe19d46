"""cgroup v2 (unified hierarchy at /sys/fs/cgroup)."""

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


class V2Manager:
    version = 2

    def __init__(self, paths: dict[str, str]) -> None:
        self.paths = paths

    @property
    def path(self) -> str:
        return self.paths["unified"]

    @classmethod
    def for_container(cls, cgroups_path: str, container_id: str) -> V2Manager:
        if cgroups_path.startswith("/"):
            path = os.path.normpath(UNIFIED_ROOT + cgroups_path)
        else:
            own = own_cgroups().get("", "/")
            path = os.path.normpath(os.path.join(UNIFIED_ROOT + own, cgroups_path or container_id))
        return cls({"unified": path})

    def create(self, resources: Resources) -> None:
        made = not os.path.isdir(self.path)
        os.makedirs(self.path, exist_ok=True)
        try:
            self._enable_controllers()
            self._apply(resources)
        except OSError:
            if made:
                remove_dir(self.path)
            raise

    def _enable_controllers(self) -> None:
        # Each ancestor must delegate the controllers to its children, from the hierarchy's root down.
        chain = []
        parent = os.path.dirname(self.path)
        while os.path.exists(os.path.join(parent, "cgroup.controllers")):
            chain.append(parent)
            if parent == os.path.dirname(parent):
                break
            parent = os.path.dirname(parent)
        for directory in reversed(chain):
            available = read(directory, "cgroup.controllers").split()
            wanted = [c for c in ("cpu", "cpuset", "memory", "pids", "io") if c in available]
            if wanted:
                try:
                    write(directory, "cgroup.subtree_control", " ".join("+" + c for c in wanted))
                except OSError:
                    pass  # a cgroup with processes of its own cannot delegate; the limits then fail loudly

    def _apply(self, r: Resources) -> None:
        if r.memory_limit is not None:
            write(self.path, "memory.max", "max" if r.memory_limit < 0 else str(r.memory_limit))
            if r.memory_swap is not None:
                swap = "max" if r.memory_swap < 0 else str(max(r.memory_swap - r.memory_limit, 0))
                write(self.path, "memory.swap.max", swap)
        if r.memory_reservation is not None:
            write(self.path, "memory.low", str(r.memory_reservation))
        if r.cpu_shares:
            # runc's conversion of v1 shares [2, 262144] to v2 weight [1, 10000].
            write(self.path, "cpu.weight", str(1 + ((r.cpu_shares - 2) * 9999) // 262142))
        if r.cpu_quota or r.cpu_period:
            quota = "max" if not r.cpu_quota or r.cpu_quota < 0 else str(r.cpu_quota)
            write(self.path, "cpu.max", f"{quota} {r.cpu_period or 100000}")
        if r.cpuset_cpus:
            write(self.path, "cpuset.cpus", r.cpuset_cpus)
        if r.cpuset_mems:
            write(self.path, "cpuset.mems", r.cpuset_mems)
        if r.pids_limit is not None:
            write(self.path, "pids.max", "max" if r.pids_limit <= 0 else str(r.pids_limit))
        if r.blkio.is_set():
            _apply_io(self.path, r.blkio)

    def update(self, resources: Resources) -> None:
        self._apply(resources)

    def join(self, pid: int) -> None:
        write(self.path, "cgroup.procs", str(pid))

    def self_join(self) -> SelfJoin:
        return SelfJoin([], self.path)

    def pids(self) -> list[int]:
        return read_procs(self.path)

    def freeze(self) -> None:
        write(self.path, "cgroup.freeze", "1")
        for _ in range(1000):
            if "frozen 1" in read(self.path, "cgroup.events"):
                return
            time.sleep(0.001)

    def thaw(self) -> None:
        write(self.path, "cgroup.freeze", "0")

    def is_frozen(self) -> bool:
        try:
            return read(self.path, "cgroup.freeze") == "1"
        except OSError:
            return False

    def destroy(self) -> None:
        remove_dir(self.path)


def _apply_io(path: str, io: BlockIO) -> None:
    """linux.resources.blockIO on v2: io.bfq.weight (BFQ, same [1, 1000] range as blkio) or io.weight
    (runc's conversion to [1, 10000]); throttles in io.max. A weight the kernel cannot take is skipped
    with a warning, as runc does."""
    bfq = os.path.exists(os.path.join(path, "io.bfq.weight"))
    plain = os.path.exists(os.path.join(path, "io.weight"))
    if io.weight:
        if bfq:
            write(path, "io.bfq.weight", str(io.weight))
        elif plain:
            write(path, "io.weight", str(1 + (io.weight - 10) * 9999 // 990))
        else:
            warn("blockIO weight ignored: no io.weight or io.bfq.weight (io controller not enabled here)")
    if io.leaf_weight:
        warn("blockIO leafWeight ignored: cgroup v2 has no leaf weights")
    for device in io.weight_devices:
        if device.weight:
            if bfq:
                write(path, "io.bfq.weight", f"{device.major}:{device.minor} {device.weight}")
            elif plain:
                write(path, "io.weight", f"{device.major}:{device.minor} {1 + (device.weight - 10) * 9999 // 990}")
            else:
                warn(f"blockIO weight of {device.major}:{device.minor} ignored: no io.weight or io.bfq.weight")
    for key, devices in (("rbps", io.throttle_read_bps), ("wbps", io.throttle_write_bps),
                         ("riops", io.throttle_read_iops), ("wiops", io.throttle_write_iops)):
        for device in devices:
            write(path, "io.max", f"{device.major}:{device.minor} {key}={device.rate or 'max'}")
