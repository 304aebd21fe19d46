"""Verbs on an existing container: stop, kill, restart, pause, unpause, rename, update."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal as signals
from typing import Any

from wharf import errdefs
from wharf.daemon import ocispec
from wharf.daemon.backend import record as records
from wharf.daemon.backend import resource_update
from wharf.daemon.backend.containers_base import DEFAULT_STOP_TIMEOUT, ContainerServiceBase
from wharf.daemon.backend.index import validate_name
from wharf.daemon.backend.record import ContainerRecord
from wharf.daemon.backend.state import Status

log = logging.getLogger("wharfd.containers")


class ContainerControl(ContainerServiceBase):
    async def stop(self, ref: str, timeout: int | None, signal: str | None) -> None:
        record = self.get(ref)
        if record.state.status is Status.RESTARTING:
            record.manually_stopped = True  # cancels the pending restart
            record.state.status = Status.EXITED
            records.save(record)
            return
        if not record.state.running:
            raise errdefs.NotModified("container already stopped")
        record.manually_stopped = True
        number = ocispec.stop_signal_number(signal or record.config.get("StopSignal"))
        if timeout is None:
            timeout = record.config.get("StopTimeout")
            timeout = DEFAULT_STOP_TIMEOUT if timeout is None else int(timeout)
        await self._signal_and_wait(record, number, timeout)
        self._publish(record, "stop")

    async def _signal_and_wait(self, record: ContainerRecord, number: int, timeout: float) -> None:
        exited: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._exit_waiters.setdefault(record.id, []).append(exited)
        try:
            await self._supervisor.tasks.kill(record.id, number)
        except errdefs.NotFound:
            # The process has exited but its exit is not final yet (the shim drains its output
            # first): wait for it, or a `rm -f` right now finds the task still "running".
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(exited), 10)
            return
        try:
            await asyncio.wait_for(asyncio.shield(exited), None if timeout < 0 else timeout)
            return
        except TimeoutError:
            log.info("container %s did not stop in %ss: killing it", record.id, timeout)
        with contextlib.suppress(errdefs.NotFound):
            await self._supervisor.tasks.kill(record.id, int(signals.SIGKILL), all=True)
        await asyncio.wait_for(asyncio.shield(exited), 30)

    async def kill(self, ref: str, signal: str | None) -> None:
        record = self.get(ref)
        number = ocispec.stop_signal_number(signal or "SIGKILL")
        if not record.state.running:
            raise errdefs.Conflict(f"Cannot kill container: {ref}: Container {record.id} is not running")
        if number != signals.SIGKILL:
            await self._supervisor.tasks.kill(record.id, number)
            self._publish(record, "kill", signal=str(number))
            return
        self._publish(record, "kill", signal=str(number))
        record.manually_stopped = True
        # Like Docker, a SIGKILL returns once the exit is recorded (so `rm` right after works).
        with contextlib.suppress(TimeoutError):
            await self._signal_and_wait(record, number, 10)

    async def restart(self, ref: str, timeout: int | None, signal: str | None) -> None:
        record = self.get(ref)
        if record.state.running:
            await self.stop(ref, timeout, signal)
        await self.start(record.id)
        self._publish(record, "restart")

    async def pause(self, ref: str) -> None:
        record = self.get(ref)
        async with self._lock(record.id):
            if not record.state.running:
                raise errdefs.Conflict(f"Container {record.id} is not running")
            if record.state.status is Status.PAUSED:
                raise errdefs.Conflict(f"Container {record.id} is already paused")
            await self._supervisor.tasks.pause(record.id)
            record.state.status = Status.PAUSED
            records.save(record)
        self._publish(record, "pause")

    async def unpause(self, ref: str) -> None:
        record = self.get(ref)
        async with self._lock(record.id):
            if record.state.status is not Status.PAUSED:
                # moby answers this one with a bare error: HTTP 500, not a conflict.
                raise errdefs.System(f"Container {record.id} is not paused")
            await self._supervisor.tasks.resume(record.id)
            record.state.status = Status.RUNNING
            records.save(record)
        self._publish(record, "unpause")

    async def rename(self, ref: str, new_name: str) -> None:
        record = self.get(ref)
        if not new_name:
            raise errdefs.InvalidArgument("Neither old nor new names may be empty")
        if "/" + new_name.lstrip("/") == record.name:
            raise errdefs.InvalidArgument("Renaming a container with the same name as its current name")
        try:
            name = validate_name("/" + new_name.lstrip("/"))
            self._index.reserve_name(name, record.id)
        except errdefs.WharfError as err:  # moby's words around the name's own error, same status
            raise type(err)(f"Error when allocating new name: {err}") from err
        old = record.name
        self._index.release_name(old)
        record.name = name
        records.save(record)
        self._publish(record, "rename", oldName=old)

    async def update(self, ref: str, body: Any) -> dict[str, Any]:
        """`docker update`: resources (a running container's through the supervisor's
        tasks.update) and the restart policy, checked first so a refused update changes nothing,
        then persisted."""
        record = self.get(ref)
        async with self._lock(record.id):
            updated, warnings = resource_update.prepare(record.host_config, body, record.id)
            if record.state.status is Status.REMOVING or record.id in self._removals:
                raise errdefs.Conflict(
                    f'Cannot update container {record.id}: container is marked for removal and cannot be "update"'
                )
            if record.state.running:  # live first: a refused update changes nothing
                await resource_update.apply_live(self._supervisor, record, updated)
            await resource_update.store_in_spec(self._supervisor, record.id, updated)
            record.host_config = updated
            records.save(record)
        self._publish(record, "update")
        return {"Warnings": warnings or None}  # moby's nil slice
