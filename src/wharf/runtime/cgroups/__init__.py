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
    def self_join(self) -> SelfJoin: ...
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


class SelfJoin:
    """A child's way into a container's cgroups, opened by the parent before it forks the child.

    Moving another process (its pid written to cgroup.procs) takes the kernel's global threadgroup
    lock, whose writer first waits for an RCU grace period: 7-16 ms on an idle machine, on every
    create and exec (runc pays it too). Two ways skip the lock: a child cloned with CLONE_INTO_CGROUP
    is born in its v2 cgroup, and a thread moving itself (0 written to a v1 hierarchy's `tasks`)
    needs no threadgroup stability. So `fork` clones the child into the v2 (or hybrid unified)
    cgroup, and the child's first act is `join_self` for the v1 hierarchies. A kernel without
    CLONE_INTO_CGROUP gets a plain fork, and the child writes itself into cgroup.procs (the slow way).
    """

    def __init__(self, v1_dirs: list[str], v2_dir: str | None) -> None:
        self._fds: list[int] = []
        self._v2_dir_fd = -1
        try:
            # Opened here, in the parent: the child may have entered other namespaces when it writes.
            for path in v1_dirs:
                self._fds.append(os.open(f"{path}/tasks", os.O_WRONLY | os.O_CLOEXEC))
            if v2_dir is not None:
                self._v2_dir_fd = os.open(v2_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
                self._fds.append(self._v2_dir_fd)
        except OSError:
            self.close()
            raise
        self._v2_dir = v2_dir

    def fork(self, *, use_clone3: bool = True) -> int:
        """os.fork(), the child born in the v2 cgroup where the kernel can; the parent's copies of the
        files are closed. Raises OSError if the cgroup refuses the child (then there is none)."""
        try:
            pid = self._fork(use_clone3)
        except BaseException:
            self.close()
            raise
        if pid:
            self.close()
        return pid

    def _fork(self, use_clone3: bool) -> int:
        global _clone3_unsupported
        if self._v2_dir_fd >= 0 and use_clone3 and not _clone3_unsupported:
            from wharf.linux.clone import UNSUPPORTED, fork_into_cgroup

            try:
                pid = fork_into_cgroup(self._v2_dir_fd)
            except OSError as err:
                if err.errno not in UNSUPPORTED:
                    raise OSError(err.errno, f"joining {self._v2_dir}: {os.strerror(err.errno)}") from None
                _clone3_unsupported = True
            else:
                return pid
        if self._v2_dir is not None:
            self._fds.append(os.open(f"{self._v2_dir}/cgroup.procs", os.O_WRONLY | os.O_CLOEXEC))
        return os.fork()

    def join_self(self) -> None:
        """In the child, before it enters other namespaces: into every cgroup it is not in yet."""
        try:
            for fd in self._fds:
                if fd == self._v2_dir_fd:
                    continue  # cloned into it, or its cgroup.procs is the fd that follows
                try:
                    os.write(fd, b"0")
                except OSError as err:
                    path = os.readlink(f"/proc/self/fd/{fd}")
                    raise OSError(err.errno, f"cgroups: joining {path}: {os.strerror(err.errno)}") from None
        finally:
            self.close()

    def close(self) -> None:
        for fd in self._fds:
            os.close(fd)
        self._fds = []


_clone3_unsupported = False


def fork_joining(manager: CgroupManager) -> tuple[int, SelfJoin]:
    """Fork a child that joins `manager`'s cgroups (see SelfJoin; the child calls `join_self` first):
    (pid or 0, the join). Our stdio is flushed first, so the child repeats nothing of ours."""
    import sys

    from wharf import errdefs

    sys.stdout.flush()
    sys.stderr.flush()
    try:
        join = manager.self_join()
        return join.fork(), join
    except OSError as err:
        raise errdefs.System(f"cgroups: {err.strerror or err}") from err


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
