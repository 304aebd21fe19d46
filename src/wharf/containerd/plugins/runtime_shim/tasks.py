"""ShimTaskService: tasks as wharf-shim processes, found again after a supervisor restart.

Per task: the bundle `<state>/bundles/<id>`, the shim's state dir `<state>/s/<hash of id>`, a ShimClient
and a background waiter that publishes `/tasks/exit` when the init process exits. A shim that died
while we were away is read from its `exit.json`."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wharf import errdefs
from wharf.containerd.core.containers import ContainerStore
from wharf.containerd.core.events import (
    TOPIC_TASK_CREATE,
    TOPIC_TASK_DELETE,
    TOPIC_TASK_EXIT,
    TOPIC_TASK_PAUSED,
    TOPIC_TASK_RESUMED,
    TOPIC_TASK_START,
)
from wharf.containerd.core.snapshots import Snapshotter
from wharf.containerd.core.tasks import CreateTaskOptions, ExitStatus, TaskInfo, TaskStatus
from wharf.containerd.plugins.events_local import EventBroadcaster
from wharf.containerd.plugins.runtime_shim.bundle import make_bundle, remove_bundle
from wharf.containerd.plugins.runtime_shim.leftover_cgroups import remove_task_cgroups
from wharf.containerd.plugins.runtime_shim.runtime_binary import resolve_runtime
from wharf.containerd.plugins.runtime_shim.user import resolve_user
from wharf.containerd.plugins.runtime_shim.warm_shim import WarmShims
from wharf.shim.client import ShimClient, attach_socket, control_socket, read_exit_file, stop_unclaimed_shim

log = logging.getLogger(__name__)

# The exit status of a task whose shim vanished without recording one (containerd uses 255 too).
UNKNOWN_EXIT_CODE = 255
RESTORE_CONCURRENCY = 16
"""Shims of a previous run asked for their state at once when the supervisor restarts."""


@dataclass
class _Task:
    id: str
    shim: ShimClient
    bundle: Path
    state_dir: Path
    pid: int = 0
    exit: ExitStatus | None = None
    exited: asyncio.Event = field(default_factory=asyncio.Event)
    starting: asyncio.Lock = field(default_factory=asyncio.Lock)
    """Held while `start` runs, so a fast exit's event never precedes the start's."""
    waiter: asyncio.Task[None] | None = None


def _recorded_exit(state_dir: Path) -> ExitStatus:
    """The exit the shim wrote to exit.json; a shim that died without one gets UNKNOWN_EXIT_CODE."""
    try:
        recorded = read_exit_file(str(state_dir))
        if recorded is not None:
            return ExitStatus(int(recorded["exit_status"]), int(recorded["exited_at"]))
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return ExitStatus(UNKNOWN_EXIT_CODE, time.time_ns())


def _status_of(state: dict[str, Any]) -> TaskStatus:
    try:
        return TaskStatus(state.get("status", "unknown"))
    except ValueError:
        return TaskStatus.UNKNOWN


def _recorded_pid(state_dir: Path) -> int:
    try:
        return int((state_dir / "init.pid").read_text().strip() or 0)
    except (OSError, ValueError):
        return 0


class ShimTaskService:
    def __init__(
        self,
        state: Path,
        containers: ContainerStore,
        snapshots: Snapshotter,
        events: EventBroadcaster,
        default_runtime: str,
        runtime_root: Path | None = None,
    ) -> None:
        self._bundles = state / "bundles"
        self._shims = state / "s"
        self._bundles.mkdir(parents=True, exist_ok=True)
        self._shims.mkdir(parents=True, exist_ok=True)
        self._shims.chmod(0o700)  # shim sockets: root only (CVE-2020-15257)
        self._containers = containers
        self._snapshots = snapshots
        self._events = events
        self._default_runtime = default_runtime
        self._runtime_root = runtime_root
        self._tasks: dict[str, _Task] = {}
        self._creating: set[str] = set()
        self._warm = WarmShims()

    def _shim_dir(self, container_id: str) -> Path:
        """The shim's state dir: named by a hash of the id, because the shim's sockets live there and a
        unix socket path is at most 107 bytes (a 64-hex id alone nearly fills it)."""
        return self._shims / hashlib.sha256(container_id.encode()).hexdigest()[:16]

    def has_task(self, container_id: str) -> bool:
        return container_id in self._tasks or container_id in self._creating

    def _task(self, container_id: str) -> _Task:
        task = self._tasks.get(container_id)
        if task is None:
            raise errdefs.NotFound(f"task {container_id}: not found")
        return task

    # -- restart ------------------------------------------------------------------------------

    async def restore(self) -> None:
        """Reconnect to the shims of a previous run (one per bundle in `<state>/bundles/`)."""
        found: list[_Task] = []
        for name in sorted(os.listdir(self._bundles)):
            state_dir = self._shim_dir(name)
            if not state_dir.is_dir():  # a crash before its shim started
                await asyncio.to_thread(remove_bundle, self._bundles / name)
                with contextlib.suppress(errdefs.NotFound):
                    spec = (await self._containers.get(name)).spec
                    await asyncio.to_thread(remove_task_cgroups, spec, name)
                continue
            shim = ShimClient(control_socket(str(state_dir)))
            found.append(_Task(name, shim, self._bundles / name, state_dir))
        # Several shims asked at once: one after another, 250 round trips took ~0.2 s of start-up.
        asking = asyncio.Semaphore(RESTORE_CONCURRENCY)
        await asyncio.gather(*(self._restore_state(task, asking) for task in found))
        for task in found:  # registered in name order, as before, once every shim has answered
            self._tasks[task.id] = task
            self._watch(task)
            log.info("restored task %s (pid %d, %s)", task.id, task.pid, "exited" if task.exit else "alive")
        self._warm.replenish()  # the first container's shim starts warm too

    async def _restore_state(self, task: _Task, asking: asyncio.Semaphore) -> None:
        """The pid of a previous run's task from its shim; a shim gone leaves its exit in exit.json."""
        async with asking:
            try:
                state = await task.shim.call("state")
                task.pid = int(state.get("pid") or 0)
            except errdefs.Unavailable:
                task.exit = _recorded_exit(task.state_dir)
                task.pid = _recorded_pid(task.state_dir)
                await self._reap_if_orphaned(task)
            except errdefs.WharfError as err:  # it answers, so it lives: the waiter will tell
                log.warning("task %s: shim state failed: %s", task.id, err)

    # -- exits --------------------------------------------------------------------------------

    def _watch(self, task: _Task) -> None:
        task.waiter = asyncio.create_task(self._wait_for_exit(task), name=f"wait-{task.id}")

    async def _wait_for_exit(self, task: _Task) -> None:
        if task.exit is None:
            try:
                result = await task.shim.call("wait")
                task.exit = ExitStatus(int(result["exit_status"]), int(result["exited_at"]))
            except (errdefs.WharfError, KeyError, ValueError, TypeError) as err:
                task.exit = _recorded_exit(task.state_dir)
                log.info("task %s: shim wait failed (%s); exit from exit.json: %s", task.id, err, task.exit)
                if isinstance(err, errdefs.Unavailable):
                    await self._reap_if_orphaned(task)
        async with task.starting:
            pass
        task.exited.set()
        self._events.publish(
            TOPIC_TASK_EXIT,
            task.id,
            {"exit_status": str(task.exit.code), "exited_at": str(task.exit.exited_at), "pid": str(task.pid)},
        )

    # -- TaskService --------------------------------------------------------------------------

    async def create(self, container_id: str, options: CreateTaskOptions) -> TaskInfo:
        if self.has_task(container_id):
            raise errdefs.AlreadyExists(f"task {container_id}: already exists")
        self._creating.add(container_id)
        try:
            container = await self._containers.get(container_id)
            if not container.snapshot_key:
                raise errdefs.InvalidArgument(f"container {container_id}: no snapshot for its rootfs")
            mounts = await self._snapshots.mounts(container.snapshot_key)
            bundle = self._bundles / container_id
            state_dir = self._shim_dir(container_id)
            await asyncio.to_thread(make_bundle, bundle, container.spec, mounts)
            try:
                socket_path = await self._warm.start(
                    id=container_id,
                    bundle=str(bundle),
                    state_dir=str(state_dir),
                    runtime=resolve_runtime(container.runtime or self._default_runtime),
                    runtime_root=str(self._runtime_root) if self._runtime_root else None,
                    stdin=options.stdin,
                    terminal=options.terminal,
                    log_path=options.log_path,
                    log_max_size=options.log_max_size,
                    log_max_files=options.log_max_files,
                )
                shim = ShimClient(socket_path)
                state = await shim.call("state")
            except BaseException:
                await asyncio.to_thread(stop_unclaimed_shim, str(state_dir))
                shutil.rmtree(state_dir, ignore_errors=True)
                # A runtime killed inside `create` leaves a cgroup that no `delete` can find; its
                # processes go first, so nothing holds the rootfs when it is unmounted.
                await asyncio.to_thread(remove_task_cgroups, container.spec, container_id)
                try:
                    await asyncio.to_thread(remove_bundle, bundle)
                except errdefs.WharfError as err:
                    log.warning("task %s: cleaning up a failed create: %s", container_id, err)
                raise
            task = _Task(container_id, shim, bundle, state_dir, pid=int(state.get("pid") or 0))
            self._tasks[container_id] = task
            self._watch(task)
        finally:
            self._creating.discard(container_id)
        self._events.publish(TOPIC_TASK_CREATE, container_id, {"pid": str(task.pid)})
        if task.exit is not None:  # the init died already: its exit tells more than the state did
            return await self.get(container_id)
        return self._info(task, _status_of(state))

    async def start(self, container_id: str) -> int:
        task = self._task(container_id)
        async with task.starting:
            result = await task.shim.call("start")
            task.pid = int(result.get("pid") or task.pid)
            self._events.publish(TOPIC_TASK_START, container_id, {"pid": str(task.pid)})
        return task.pid

    async def get(self, container_id: str) -> TaskInfo:
        task = self._task(container_id)
        status = TaskStatus.STOPPED
        if task.exit is None:
            try:
                status = _status_of(await task.shim.call("state"))
            except errdefs.Unavailable:
                status = TaskStatus.UNKNOWN
        return self._info(task, status)

    @staticmethod
    def _info(task: _Task, status: TaskStatus) -> TaskInfo:
        return TaskInfo(
            id=task.id,
            pid=task.pid,
            status=status,
            exit_status=task.exit,
            attach_socket=attach_socket(str(task.state_dir)),
        )

    async def list(self) -> list[TaskInfo]:
        return [await self.get(task_id) for task_id in sorted(self._tasks)]

    async def kill(self, container_id: str, signal: int, all: bool = False) -> None:
        task = self._task(container_id)
        if task.exit is not None:
            raise errdefs.NotFound(f"task {container_id}: process already finished")
        await task.shim.call("kill", signal=signal, all=all)

    async def wait(self, container_id: str) -> ExitStatus:
        task = self._task(container_id)
        await task.exited.wait()
        assert task.exit is not None
        return task.exit

    async def delete(self, container_id: str) -> ExitStatus:
        task = self._task(container_id)
        exit_status = task.exit
        shim_lives = True
        try:
            result = await task.shim.call("delete")
            exit_status = ExitStatus(int(result["exit_status"]), int(result["exited_at"]))
        except errdefs.Unavailable:
            shim_lives = False
            if exit_status is None:  # the shim is gone but we have not seen the exit yet
                await task.exited.wait()
                exit_status = task.exit
            await self._force_runtime_delete(container_id)
        assert exit_status is not None
        if task.waiter is not None and not task.waiter.done():
            task.waiter.cancel()

        async def shut_shim_down() -> None:
            if shim_lives:
                with contextlib.suppress(errdefs.WharfError):
                    await task.shim.call("shutdown")
            await task.shim.close()

        # The shim's shutdown (it removes its state dir before it answers) and the rootfs's unmount
        # touch different things: together. The task stays known until both end, so no create
        # of the same id can start a shim in the state dir the old one is removing.
        try:
            outcomes = await asyncio.gather(
                shut_shim_down(), asyncio.to_thread(remove_bundle, task.bundle), return_exceptions=True)
        finally:
            if self._tasks.get(container_id) is task:  # not if a delete that overlapped this one went first
                del self._tasks[container_id]
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome
        shutil.rmtree(task.state_dir, ignore_errors=True)
        self._events.publish(
            TOPIC_TASK_DELETE,
            container_id,
            {"exit_status": str(exit_status.code), "exited_at": str(exit_status.exited_at), "pid": str(task.pid)},
        )
        return exit_status

    async def _reap_if_orphaned(self, task: _Task) -> None:
        """The shim died without recording an exit: its container may still run, unmanaged, in its
        cgroup. Kill it through the runtime (as containerd does for a dead shim), so "exited" is true."""
        if read_exit_file(str(task.state_dir)) is None:
            log.warning("task %s: shim died without an exit: killing its container", task.id)
            await self._force_runtime_delete(task.id)

    async def _force_runtime_delete(self, container_id: str) -> None:
        """The shim died: its runtime state may remain; `runtime delete --force` it ourselves."""
        spec = None
        try:
            container = await self._containers.get(container_id)
            runtime = container.runtime or self._default_runtime
            spec = container.spec
        except errdefs.NotFound:
            runtime = self._default_runtime
        args = [resolve_runtime(runtime)]
        if self._runtime_root is not None:
            args += ["--root", str(self._runtime_root)]
        args += ["delete", "--force", container_id]
        with contextlib.suppress(OSError):
            process = await asyncio.create_subprocess_exec(
                *args, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
            )
            await process.wait()
        if spec is not None:  # a runtime killed in `create` has no state for `delete` to go by
            await asyncio.to_thread(remove_task_cgroups, spec, container_id)

    async def close_stdin(self, container_id: str) -> None:
        await self._task(container_id).shim.call("close_stdin")

    async def resize_pty(self, container_id: str, width: int, height: int) -> None:
        await self._task(container_id).shim.call("resize", width=width, height=height)

    async def pause(self, container_id: str) -> None:
        await self._task(container_id).shim.call("pause")
        self._events.publish(TOPIC_TASK_PAUSED, container_id)

    async def resume(self, container_id: str) -> None:
        await self._task(container_id).shim.call("resume")
        self._events.publish(TOPIC_TASK_RESUMED, container_id)

    async def pids(self, container_id: str) -> list[int]:
        result = await self._task(container_id).shim.call("pids")
        return [int(pid) for pid in result.get("pids", [])]

    async def update(
        self, container_id: str, resources: dict[str, object], annotations: dict[str, str] | None = None
    ) -> None:
        task = self._task(container_id)
        if task.exit is not None:
            raise errdefs.FailedPrecondition(f"container {container_id} is not running")
        await task.shim.call("update", resources=resources, annotations=annotations or {})

    # -- exec ---------------------------------------------------------------------------------

    async def exec(
        self, container_id: str, exec_id: str, process: dict[str, object], stdin: bool = False,
        terminal: bool = False, user: str = "",
    ) -> TaskInfo:
        task = self._task(container_id)
        if task.exit is not None:
            raise errdefs.FailedPrecondition(f"container {container_id} is not running")
        process = dict(process)
        if user:
            # Resolved like the container's own user (bundle.make_bundle), against its rootfs now.
            resolved = await asyncio.to_thread(resolve_user, task.bundle / "rootfs", user)
            current = process.get("user")
            added = current.get("additionalGids", []) if isinstance(current, dict) else []
            groups = sorted({*added, *resolved.pop("additionalGids", [])})  # type: ignore[misc]
            process["user"] = {**resolved, **({"additionalGids": groups} if groups else {})}
        await task.shim.call("exec", exec_id=exec_id, process=process, stdin=stdin, terminal=terminal)
        return TaskInfo(id=exec_id, pid=0, status=TaskStatus.CREATED, exit_status=None,
                        attach_socket=attach_socket(str(task.state_dir)))

    async def start_exec(self, container_id: str, exec_id: str) -> int:
        result = await self._task(container_id).shim.call("start", exec_id=exec_id)
        return int(result.get("pid") or 0)

    async def get_exec(self, container_id: str, exec_id: str) -> TaskInfo:
        task = self._task(container_id)
        state = await task.shim.call("state", exec_id=exec_id)
        try:
            status = TaskStatus(state.get("status", "unknown"))
        except ValueError:
            status = TaskStatus.UNKNOWN
        exit_status = None
        if status is TaskStatus.STOPPED:
            exit_status = ExitStatus(int(state.get("exit_status") or 0), int(state.get("exited_at") or 0))
        return TaskInfo(id=exec_id, pid=int(state.get("pid") or 0), status=status, exit_status=exit_status,
                        attach_socket=attach_socket(str(task.state_dir)))

    async def wait_exec(self, container_id: str, exec_id: str) -> ExitStatus:
        result = await self._task(container_id).shim.call("wait", exec_id=exec_id)
        return ExitStatus(int(result["exit_status"]), int(result["exited_at"]))

    async def kill_exec(self, container_id: str, exec_id: str, signal: int) -> None:
        await self._task(container_id).shim.call("kill", exec_id=exec_id, signal=signal)

    async def delete_exec(self, container_id: str, exec_id: str) -> ExitStatus:
        result = await self._task(container_id).shim.call("delete", exec_id=exec_id)
        return ExitStatus(int(result.get("exit_status") or 0), int(result.get("exited_at") or 0))

    async def resize_exec(self, container_id: str, exec_id: str, width: int, height: int) -> None:
        await self._task(container_id).shim.call("resize", exec_id=exec_id, width=width, height=height)

    async def close_exec_stdin(self, container_id: str, exec_id: str) -> None:
        await self._task(container_id).shim.call("close_stdin", exec_id=exec_id)

    async def close(self) -> None:
        """Stop watching (the shims live on)."""
        await self._warm.close()
        for task in self._tasks.values():
            if task.waiter is not None:
                task.waiter.cancel()
            await task.shim.close()
