"""The state store: one directory per container under --root, holding state.json and exec.fifo.

A container's status is never stored; it is derived each time from the process and the fifo:
the init gone (or its pid reused) -> stopped; exec.fifo present -> created; frozen -> paused;
otherwise running.
"""

from __future__ import annotations

import os

from wharf import errdefs
from wharf.linux.procfs import proc_start_time, proc_state
from wharf.runtime import jsonlite as json

TYPE_CHECKING = False  # typing costs milliseconds to import; this path runs for every `state`
if TYPE_CHECKING:
    from typing import Any

STATE_FILE = "state.json"
EXEC_FIFO = "exec.fifo"
# Written by `create` before it makes the cgroups, removed once state.json exists: a create killed
# midway leaves it behind, and `delete --force` finds the cgroups to remove there.
CREATING_FILE = "creating.json"


class Status:
    """The derived status, a plain string (an enum would import `enum`: milliseconds per call)."""

    CREATING = "creating"
    CREATED = "created"
    RUNNING = "running"
    PAUSED = "paused"
    STOPPED = "stopped"


class ContainerState:
    """What state.json holds: everything a later verb needs without the spec."""

    FIELDS = ("id", "pid", "start_time", "bundle", "rootfs", "created", "oci_version", "owner", "annotations",
              "cgroup_version", "cgroup_paths", "namespace_paths", "hooks")

    def __init__(
        self,
        id: str,
        pid: int,
        start_time: int,
        bundle: str,
        rootfs: str,
        created: str,
        oci_version: str,
        owner: str = "",
        annotations: dict[str, str] | None = None,
        cgroup_version: int = 1,
        cgroup_paths: dict[str, str] | None = None,
        namespace_paths: dict[str, str] | None = None,  # joined namespaces (type -> path)
        hooks: dict[str, list[dict[str, Any]]] | None = None,  # poststart/poststop, as in the spec
    ) -> None:
        self.id = id
        self.pid = pid
        self.start_time = start_time
        self.bundle = bundle
        self.rootfs = rootfs
        self.created = created
        self.oci_version = oci_version
        self.owner = owner
        self.annotations = annotations or {}
        self.cgroup_version = cgroup_version
        self.cgroup_paths = cgroup_paths or {}
        self.namespace_paths = namespace_paths or {}
        self.hooks = hooks or {}

    def to_json(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.FIELDS}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ContainerState:
        return cls(**{name: data[name] for name in cls.FIELDS if name in data})

    def hook_state(self, status: str) -> dict[str, Any]:
        """The state a hook reads on stdin."""
        out = self.oci_json(status)
        out["pid"] = self.pid
        return out

    def oci_json(self, status: str) -> dict[str, Any]:
        """The runtime-spec state (as `runc state` prints it)."""
        out: dict[str, Any] = {
            "ociVersion": self.oci_version,
            "id": self.id,
            "pid": self.pid if status != Status.STOPPED else 0,
            "status": status,
            "bundle": self.bundle,
            "rootfs": self.rootfs,
            "created": self.created,
            "owner": self.owner,
        }
        if self.annotations:
            out["annotations"] = self.annotations
        return out


def validate_id(container_id: str) -> None:
    # runc's rule, ^[\w+-\.]+$, without importing `re`
    if not container_id or container_id in (".", "..") or not all(c.isalnum() or c in "_+-." for c in container_id):
        raise errdefs.InvalidArgument(f"invalid container id {container_id!r}")


SECCOMP_CACHE_DIR = "@seccomp-cache"
"""Compiled seccomp programs, under the root; `@` is never in a container id, so never taken for one."""


class StateStore:
    def __init__(self, root: str) -> None:
        self.root = root
        self.seccomp_cache = os.path.join(root, SECCOMP_CACHE_DIR)

    def dir_of(self, container_id: str) -> str:
        validate_id(container_id)
        return os.path.join(self.root, container_id)

    def make_dir(self, container_id: str) -> str:
        """Create the container's state dir; AlreadyExists if the id is taken."""
        os.makedirs(self.root, mode=0o711, exist_ok=True)
        path = self.dir_of(container_id)
        try:
            os.mkdir(path, 0o711)
        except FileExistsError as err:
            raise errdefs.AlreadyExists(f"container with id exists: {container_id}") from err
        return path

    def save(self, state: ContainerState) -> None:
        path = os.path.join(self.dir_of(state.id), STATE_FILE)
        tmp = path + ".tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(state.to_json(), f)
        os.rename(tmp, path)

    def load(self, container_id: str) -> ContainerState:
        path = os.path.join(self.dir_of(container_id), STATE_FILE)
        try:
            with open(path) as f:
                data = json.load(f)
        except FileNotFoundError as err:
            raise errdefs.NotFound(f"container does not exist: {container_id}") from err
        return ContainerState.from_json(data)

    def ids(self) -> list[str]:
        try:
            names = sorted(os.listdir(self.root))
        except FileNotFoundError:
            return []
        return [n for n in names if os.path.exists(os.path.join(self.root, n, STATE_FILE))]

    def mark_creating(self, container_id: str, cgroup_version: int, cgroup_paths: dict[str, str]) -> None:
        path = os.path.join(self.dir_of(container_id), CREATING_FILE)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(json.dumps({"cgroup_version": cgroup_version, "cgroup_paths": cgroup_paths}))

    def creation_done(self, container_id: str) -> None:
        try:
            os.unlink(os.path.join(self.dir_of(container_id), CREATING_FILE))
        except FileNotFoundError:
            pass

    def unfinished_create(self, container_id: str) -> dict[str, Any] | None:
        """What a create that never finished left: its cgroups ({"cgroup_version", "cgroup_paths"}), or None."""
        try:
            with open(os.path.join(self.dir_of(container_id), CREATING_FILE)) as f:
                data: dict[str, Any] = json.load(f)
        except (FileNotFoundError, ValueError):
            return None
        return data

    def fifo_path(self, container_id: str) -> str:
        return os.path.join(self.dir_of(container_id), EXEC_FIFO)

    def status(self, state: ContainerState) -> str:
        if not init_alive(state.pid, state.start_time):
            return Status.STOPPED
        if os.path.exists(self.fifo_path(state.id)):
            return Status.CREATED
        if _is_frozen(state):
            return Status.PAUSED
        return Status.RUNNING

    def remove(self, container_id: str) -> None:
        path = self.dir_of(container_id)
        for name in (STATE_FILE, STATE_FILE + ".tmp", EXEC_FIFO, CREATING_FILE):
            try:
                os.unlink(os.path.join(path, name))
            except FileNotFoundError:
                pass
        try:
            os.rmdir(path)
        except FileNotFoundError:
            pass


def init_alive(pid: int, start_time: int) -> bool:
    """The container's init is alive: same pid, same start time, not a zombie."""
    if pid <= 0 or proc_start_time(pid) != start_time:
        return False
    return proc_state(pid) not in (None, "Z", "X")


def _is_frozen(state: ContainerState) -> bool:
    from wharf.runtime import cgroups

    return cgroups.from_saved(state.cgroup_version, state.cgroup_paths).is_frozen()
