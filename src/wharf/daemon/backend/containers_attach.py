"""Attach: clients carried to the shim's attach socket, also before the task exists (`docker run`)."""

from __future__ import annotations

import asyncio
import logging

from wharf import errdefs
from wharf.containerd.core.tasks import TaskInfo
from wharf.daemon.backend.attach import AttachOptions, ClientConnection, ShimAttachment, parse_detach_keys
from wharf.daemon.backend.containers_base import (
    ATTACH_DRAIN_TIMEOUT,
    ATTACH_READY_TIMEOUT,
    ContainerServiceBase,
    PendingAttach,
)
from wharf.daemon.backend.record import ContainerRecord

log = logging.getLogger("wharfd.containers")


class ContainerAttaching(ContainerServiceBase):

    async def _hand_task_to_attachers(self, container_id: str, info: TaskInfo) -> None:
        pending = self._pending_attach.pop(container_id, [])
        for attacher in pending:
            if not attacher.task.done():
                attacher.task.set_result(info)
        if pending:
            await asyncio.wait([a.connected for a in pending], timeout=ATTACH_READY_TIMEOUT)

    def _fail_pending_attach(self, container_id: str) -> None:
        for attacher in self._pending_attach.pop(container_id, []):
            if not attacher.task.done():
                attacher.task.set_result(None)

    async def attach(self, record: ContainerRecord, client: ClientConnection, stdin: bool, stdout: bool,
                     stderr: bool, replay_logs: bytes = b"", detach_keys: str = "",
                     raw_output: bool | None = None) -> None:
        """Carry the container's stdio over the client's connection. Before the task exists (`docker
        run` attaches before it starts), wait for it: start hands new tasks to waiting attachers
        and lets them connect before releasing the process, so no output is lost."""
        # As moby: the client's end of stdin closes the container's only without a terminal.
        options = AttachOptions(stdin=stdin, stdout=stdout, stderr=stderr,
                                stdin_once=bool(record.config.get("StdinOnce")) and not record.tty, tty=record.tty,
                                detach_keys=parse_detach_keys(detach_keys), raw_output=raw_output)
        session = asyncio.current_task()
        assert session is not None
        sessions = self._attach_sessions.setdefault(record.id, set())
        pending: PendingAttach | None = None
        try:
            if replay_logs:
                await client.write(replay_logs)
            info: TaskInfo | None = None
            if record.state.running:
                try:
                    info = await self._supervisor.tasks.get(record.id)
                except errdefs.NotFound:
                    info = None
            if info is None:
                pending = PendingAttach()
                self._pending_attach.setdefault(record.id, []).append(pending)
                gone = asyncio.ensure_future(client.closed.wait())
                await asyncio.wait({pending.task, gone}, return_when=asyncio.FIRST_COMPLETED)
                gone.cancel()
                if not pending.task.done() or pending.task.result() is None:
                    return  # the client left, or the container went away or failed to start
                info = pending.task.result()
            assert info is not None
            try:
                attachment = await ShimAttachment.open(info.attach_socket, options)
            except OSError as err:
                log.info("attach to %s: the task is gone (%s)", record.id, err)
                return
            finally:
                if pending is not None and not pending.connected.done():
                    pending.connected.set_result(None)
            sessions.add(session)  # type: ignore[arg-type]  # an exit waits for these to drain
            await attachment.pump(client)
        finally:
            if pending is not None:
                # Never make a start wait for an attacher that is gone.
                waiting = self._pending_attach.get(record.id, [])
                if pending in waiting:
                    waiting.remove(pending)
                if not pending.connected.done():
                    pending.connected.set_result(None)
            sessions.discard(session)  # type: ignore[arg-type]
            client.close()

    async def _drain_attach_sessions(self, container_id: str) -> None:
        sessions = list(self._attach_sessions.get(container_id, ()))
        if sessions:
            await asyncio.wait(sessions, timeout=ATTACH_DRAIN_TIMEOUT)

    async def resize(self, ref: str, width: int, height: int) -> None:
        record = self.get(ref)
        if not record.state.running:
            raise errdefs.Conflict(f"Container {record.id} is not running")
        await self._supervisor.tasks.resize_pty(record.id, width, height)
