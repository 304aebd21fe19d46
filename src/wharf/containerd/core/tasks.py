"""Tasks: the running process of a container, held by one wharf-shim each."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Protocol


class TaskStatus(enum.StrEnum):
    CREATED = "created"
    RUNNING = "running"
    PAUSED = "paused"
    STOPPED = "stopped"
    UNKNOWN = "unknown"


@dataclass
class ExitStatus:
    code: int
    """128 + signal for a process killed by a signal, as the shell and Docker report it."""
    exited_at: int
    """Nanoseconds since the epoch."""


@dataclass
class CreateTaskOptions:
    stdin: bool = False
    """Keep a pipe (or the pty) open to the container's stdin."""
    terminal: bool = False
    log_path: str | None = None
    """json-file log written by the shim; None for no log."""
    log_max_size: int = 0
    log_max_files: int = 1


@dataclass
class TaskInfo:
    id: str
    pid: int
    status: TaskStatus
    exit_status: ExitStatus | None
    attach_socket: str
    """Unix socket of the shim's attach endpoint (see docs/architecture.md, "Attach protocol")."""


class TaskService(Protocol):
    async def create(self, container_id: str, options: CreateTaskOptions) -> TaskInfo:
        """Make the bundle, start the shim, run `runtime create`. The process waits for start()."""

    async def start(self, container_id: str) -> int:
        """Release the process; returns its pid."""

    async def get(self, container_id: str) -> TaskInfo:
        """NotFound if the container has no task."""

    async def list(self) -> list[TaskInfo]: ...

    async def kill(self, container_id: str, signal: int, all: bool = False) -> None: ...

    async def wait(self, container_id: str) -> ExitStatus:
        """Block until the task's process exits (returns at once if it has)."""

    async def delete(self, container_id: str) -> ExitStatus:
        """Remove a stopped task: runtime delete, unmount rootfs, stop the shim, remove the bundle.
        FailedPrecondition while it runs."""

    async def close_stdin(self, container_id: str) -> None: ...

    async def resize_pty(self, container_id: str, width: int, height: int) -> None: ...

    async def pause(self, container_id: str) -> None: ...

    async def resume(self, container_id: str) -> None: ...

    async def pids(self, container_id: str) -> list[int]: ...

    async def update(
        self, container_id: str, resources: dict[str, object], annotations: dict[str, str] | None = None
    ) -> None:
        """New cgroup limits for the running task (`docker update`): `resources` is an OCI
        `linux.resources` object, applied by the runtime's `update` verb, then kept in the bundle's
        config.json (with `annotations` merged in). FailedPrecondition unless the task is running
        or paused; InvalidArgument when the runtime or the kernel refuses the values."""

    # -- exec: extra processes in a running task (docker exec) ---------------------------------
    # An exec's info is a TaskInfo whose `id` is the exec id and whose attach_socket is the task's
    # (the attach header names the exec: `"exec_id"`).

    async def exec(
        self, container_id: str, exec_id: str, process: dict[str, object], stdin: bool = False,
        terminal: bool = False, user: str = "",
    ) -> TaskInfo:
        """Register an exec (not started). `user` is Docker's -u value, resolved against the rootfs
        into `process.user` as for the container's own process; "" keeps `process.user`.
        FailedPrecondition if the task is not running; AlreadyExists for a used exec id."""

    async def start_exec(self, container_id: str, exec_id: str) -> int:
        """Run it; returns its pid. Attach first (its output is not kept)."""

    async def get_exec(self, container_id: str, exec_id: str) -> TaskInfo: ...

    async def wait_exec(self, container_id: str, exec_id: str) -> ExitStatus: ...

    async def kill_exec(self, container_id: str, exec_id: str, signal: int) -> None: ...

    async def delete_exec(self, container_id: str, exec_id: str) -> ExitStatus:
        """Forget an exited exec. FailedPrecondition while it runs."""

    async def resize_exec(self, container_id: str, exec_id: str, width: int, height: int) -> None: ...

    async def close_exec_stdin(self, container_id: str, exec_id: str) -> None: ...
