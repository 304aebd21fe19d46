"""Container cgroups: one manager per hierarchy layout (v1 with its hybrid unified tree, or pure v2).

A manager is made from the spec's cgroupsPath (`for_container`) or from the paths saved in the state
file (`from_saved`), so `delete`, `kill --all`, `pause` and `ps` need no spec.
"""

from __future__ import annotations

import errno
import os
import time

UNIFIED_ROOT = "/sys/fs/cgroup"


TYPE_CHECKING = False  # importing typing costs milliseconds on every run
if TYPE_CHECKING:
    from typing import Protocol

    from wharf.runtime.specconv import Resources
else:
    Protocol = object


class CgroupManager(Protocol):
    version: int
    paths: dict[str, str]

    def create(self, resources: Resources) -> None: ...
    def update(self, resources: Resources) -> None: ...
    def join(self, pid: int) -> None: ...
    def pids(self) -> list[int]: ...
    def freeze(self) -> None: ...
    def thaw(self) -> None: ...
    def is_frozen(self) -> bool: ...
    def destroy(self) -> None: ...


def is_unified_only() -> bool:
    """True when /sys/fs/cgroup itself is a cgroup2 mount (no v1 hierarchies)."""
    return os.path.exists(os.path.join(UNIFIED_ROOT, "cgroup.controllers"))


def for_container(cgroups_path: str, container_id: str) -> CgroupManager:
    if is_unified_only():
        from wharf.runtime.cgroups.v2 import V2Manager

        return V2Manager.for_container(cgroups_path, container_id)
    from wharf.runtime.cgroups.v1 import V1Manager

    return V1Manager.for_container(cgroups_path, container_id)


def from_saved(version: int, paths: dict[str, str]) -> CgroupManager:
    if version == 2:
        from wharf.runtime.cgroups.v2 import V2Manager

        return V2Manager(paths)
    from wharf.runtime.cgroups.v1 import V1Manager

    return V1Manager(paths)


def own_cgroups() -> dict[str, str]:
    """This process's cgroup per hierarchy, keyed by controller list ("memory", "name=systemd", "" for v2)."""
    out: dict[str, str] = {}
    with open("/proc/self/cgroup") as f:
        for line in f:
            _, controllers, path = line.rstrip("\n").split(":", 2)
            for controller in controllers.split(",") if controllers else [""]:
                out[controller] = path
    return out


def write(path: str, name: str, value: str) -> None:
    # One write(2) of the whole value, without a text file object: cgroup files take a value per write.
    file = f"{path}/{name}"
    fd = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)  # as open("w")
    try:
        os.write(fd, value.encode())
    except OSError as err:
        raise OSError(err.errno, err.strerror, file) from None
    finally:
        os.close(fd)


def warn(message: str) -> None:
    """A limit the kernel cannot apply here is skipped, as runc does, with a word on stderr."""
    import sys

    sys.stderr.write(f"wharf-runc: warning: {message}\n")


def read(path: str, name: str) -> str:
    with open(os.path.join(path, name)) as f:
        return f.read().strip()


def read_procs(path: str) -> list[int]:
    try:
        return [int(line) for line in read(path, "cgroup.procs").split()]
    except FileNotFoundError:
        return []


def remove_dir(path: str) -> None:
    """rmdir a cgroup, retrying briefly: the kernel keeps it busy until exited tasks are released."""
    for attempt in range(50):
        try:
            os.rmdir(path)
            return
        except FileNotFoundError:
            return
        except OSError as err:
            if err.errno != errno.EBUSY or attempt == 49:
                raise
            time.sleep(0.01)
