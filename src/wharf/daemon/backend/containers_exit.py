"""Exits (pushed by the supervisor's /tasks/exit event): state, task delete, waiters, restart policy,
--rm; matching records with the supervisor's tasks after a restart; `docker wait`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Awaitable
from typing import Any

from wharf import errdefs
from wharf.containerd.core.tasks import TaskStatus
from wharf.daemon.backend import record as records
from wharf.daemon.backend import restart_policy
from wharf.daemon.backend.containers_base import EXITED_UNKNOWN, ContainerServiceBase
from wharf.daemon.backend.record import ContainerRecord
from wharf.daemon.backend.state import Status
from wharf.daemon.backend.timefmt import now_ns

log = logging.getLogger("wharfd.containers")

INTERRUPTED_START_KILL_TIMEOUT = 10.0
"""Seconds to wait for the SIGKILLed init of an interrupted start before deleting its task anyway."""


class ContainerExits(ContainerServiceBase):

    def task_exited(self, container_id: str, exit_code: int, exited_at: int) -> None:
        """From the supervisor's /tasks/exit event (or a reconcile): handled in the background."""
        self._spawn(self._handle_exit(container_id, exit_code, exited_at))

    async def _handle_exit(self, container_id: str, exit_code: int, exited_at: int) -> None:
        try:
            record = self._index.get(container_id)
        except errdefs.NotFound:
            return
        if record.id != container_id:
            return
        async with self._lock(container_id):
            if not record.state.running:
                return  # already handled (duplicate event, or a reconcile raced the event)
            await self._drain_attach_sessions(container_id)
            # Keep the exit before the task (and its exit status) goes: a wharfd killed between
            # the two finds it in reconcile instead of reporting EXITED_UNKNOWN.
            record.state.exit_code, record.state.finished_at = exit_code, exited_at or now_ns()
            records.save(record)

            removed_next = record.auto_remove and not restart_policy.should_restart(
                record.host_config, exit_code, record.restart_count, record.manually_stopped)

            async def delete_task() -> None:
                try:
                    await self._delete_task(container_id)
                except errdefs.WharfError as err:
                    log.warning("deleting the task of %s: %s", container_id, err)
                    return
                if removed_next:
                    await self._leave_supervisor_early(container_id)

            # The init has exited: the runtime's delete and the network's release (CNI DELs)
            # are independent, so they run together; volumes are unmounted after both.
            await asyncio.gather(delete_task(), self._detach_network(record))
            await self._detach_storage_and_network(record, network=False)
            record.state.set_exited(exit_code, exited_at)
            restart = restart_policy.should_restart(
                record.host_config, exit_code, record.restart_count, record.manually_stopped
            )
            if restart:
                record.state.status = Status.RESTARTING
            if restart or not record.auto_remove:
                # An auto-removed record's file is deleted next; until then it says what a restarted
                # wharfd needs to finish the job (running, with the exit kept above).
                records.save(record)
            self._publish(record, "die", exitCode=str(exit_code))
            self._resolve(self._exit_waiters, container_id, exit_code)
        if restart:
            self._spawn(self._restart_later(record))
        elif record.auto_remove:
            await self._destroy(record, remove_volumes=True)

    async def _leave_supervisor_early(self, container_id: str) -> None:
        """An auto-removed container's supervisor container and snapshot go while its network is
        released (the longer step), not after: its removal follows anyway. A wharfd killed in
        between finds the record (still saying running) at its next start, handles the exit and
        removes it, the supervisor's part answering NotFound."""
        try:
            await self._remove_from_supervisor(container_id)
        except errdefs.WharfError as err:
            log.warning("removing %s from the supervisor: %s", container_id, err)  # the removal tries again
        else:
            self._gone_from_supervisor.add(container_id)

    async def _restart_later(self, record: ContainerRecord) -> None:
        await asyncio.sleep(restart_policy.delay_seconds(record.restart_count))
        if record.state.status is not Status.RESTARTING or record.manually_stopped:
            return
        record.restart_count += 1
        record.state.status = Status.EXITED
        try:
            await self.start(record.id, by_policy=True)
        except errdefs.WharfError as err:
            log.warning("restarting %s: %s", record.id, err)

    async def start_restartable(self) -> None:
        """At daemon start: containers whose restart policy wants them up (`always`, and
        `unless-stopped` unless a user stopped them)."""
        for record in list(self._index):
            if record.state.running or not record.has_been_started:
                continue
            if restart_policy.starts_with_daemon(record.host_config, record.manually_stopped):
                try:
                    await self.start(record.id, by_policy=True)
                except errdefs.WharfError as err:
                    log.warning("starting %s (restart policy): %s", record.id, err)

    async def reconcile(self) -> None:
        """Match recorded states with the supervisor's tasks (after wharfd or the supervisor
        restarted). Exits found here are fully handled before this returns, so the API never
        shows a container running whose process is gone."""
        tasks = {task.id: task for task in await self._supervisor.tasks.list()}
        work: list[Awaitable[Any]] = []
        for record in list(self._index):
            task = tasks.get(record.id)
            if record.state.status is Status.RESTARTING and task is None:
                self._spawn(self._restart_later(record))  # wharfd stopped during the back-off
            elif record.state.running:
                if task is None and record.state.finished_at:  # exit kept, task gone (see _handle_exit)
                    work.append(self._handle_exit(record.id, record.state.exit_code, record.state.finished_at))
                elif task is None:
                    work.append(self._handle_exit(record.id, EXITED_UNKNOWN, now_ns()))
                elif task.status is TaskStatus.STOPPED or task.exit_status is not None:
                    status = task.exit_status
                    work.append(self._handle_exit(record.id, status.code if status else EXITED_UNKNOWN,
                                                  status.exited_at if status else now_ns()))
                elif task.pid and task.pid != record.state.pid:
                    record.state.pid = task.pid
                    records.save(record)
            else:
                if task is not None and task.status is TaskStatus.STOPPED:
                    work.append(self._delete_task(record.id))
                elif task is not None:
                    work.append(self._undo_interrupted_start(record))
                if record.auto_remove and record.has_been_started:
                    work.append(self._destroy(record, remove_volumes=True))
        results = await asyncio.gather(*work, return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                log.warning("reconciling: %s", result)

    async def _undo_interrupted_start(self, record: ContainerRecord) -> None:
        """A task alive for a container recorded as not running: wharfd died inside its `start`, after
        the supervisor was asked to create (or start) the task and before the record said running.
        The client was told the start failed, so it is undone as a failed start is: the task is
        killed and deleted (a shim refuses to delete a running one, so `rm -f` of the container,
        which goes by the record, would fail for ever), its network and volumes are released."""
        async with self._lock(record.id):
            # Looked at again under the lock: reconcile also runs while wharfd lives (after a supervisor
            # restart), and a start in progress holds the lock until the record says running.
            if record.state.running:
                return
            try:
                status = (await self._supervisor.tasks.get(record.id)).status
            except errdefs.NotFound:
                return
            if status is TaskStatus.STOPPED:
                await self._delete_task(record.id)
                return
            log.warning("container %s: a task outlived an interrupted start; removing it", record.id)
            if status is not TaskStatus.CREATED:  # a created task's delete kills its init itself
                with contextlib.suppress(errdefs.WharfError):  # exited meanwhile, or its shim is gone
                    await self._supervisor.tasks.kill(record.id, int(signal.SIGKILL), all=True)
                with contextlib.suppress(errdefs.WharfError, TimeoutError):
                    await asyncio.wait_for(self._supervisor.tasks.wait(record.id), INTERRUPTED_START_KILL_TIMEOUT)
            await self._delete_task(record.id)
            await self._detach_storage_and_network(record)

    def wait(self, ref: str, condition: str) -> asyncio.Future[int]:
        """A future of the exit code, registered now (the CLI waits before it starts)."""
        record = self.get(ref)
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        if condition == "next-exit":
            self._exit_waiters.setdefault(record.id, []).append(future)
        elif condition == "removed":
            self._removed_waiters.setdefault(record.id, []).append(future)
        elif not record.state.running:  # "not-running", as moby reads any other condition too
            future.set_result(record.state.exit_code)
        else:
            self._exit_waiters.setdefault(record.id, []).append(future)
        return future
