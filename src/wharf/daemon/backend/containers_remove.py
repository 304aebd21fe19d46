"""`docker rm` and `container prune`: everything of a stopped container goes, once."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import signal as signals
from typing import Any

from wharf import errdefs
from wharf.daemon.backend.containers_base import ContainerServiceBase
from wharf.daemon.backend.prune_filters import PruneFilters
from wharf.daemon.backend.record import ContainerRecord
from wharf.daemon.backend.state import Status


class ContainerRemoval(ContainerServiceBase):
    async def prune(self, raw_filters: dict[str, Any] | None = None) -> tuple[list[str], int]:
        """Remove every stopped container the filters (until, label, label!) let through; returns
        their ids and the bytes their writable layers held."""
        filters = PruneFilters(raw_filters or {})
        removed, reclaimed = [], 0
        for record in list(self._index):
            if record.state.running or record.id in self._removals:
                continue
            if not filters.matches(record.config.get("Labels"), record.created):
                continue
            with contextlib.suppress(errdefs.WharfError):
                reclaimed += await self._supervisor.snapshots.usage(record.id)
            await self._destroy(record)
            removed.append(record.id)
        return removed, reclaimed

    async def remove(self, ref: str, force: bool, volumes: bool = False) -> None:
        record = self.get(ref)
        if record.state.running:
            if not force:
                raise errdefs.Conflict(
                    f'cannot remove container "{record.name}": container is running: stop the container '
                    "before removing or force remove"
                )
            await self._signal_and_wait(record, int(signals.SIGKILL), 10)
        await self._destroy(record, remove_volumes=volumes)

    async def _destroy(self, record: ContainerRecord, remove_volumes: bool = False) -> None:
        """Remove everything of a stopped container; concurrent calls share one removal."""
        ongoing = self._removals.get(record.id)
        if ongoing is not None:
            await asyncio.shield(ongoing)
            return
        if record.id not in {r.id for r in self._index}:
            return
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._removals[record.id] = done
        try:
            async with self._lock(record.id):
                record.state.status = Status.REMOVING
                if record.id in self._gone_from_supervisor:
                    self._gone_from_supervisor.remove(record.id)
                else:
                    await self._remove_from_supervisor(record.id)
                if self.mounts is not None:
                    self.mounts.forget(record, remove_anonymous=remove_volumes)
                shutil.rmtree(record.directory, ignore_errors=True)
                self._index.remove(record)
                self._locks.pop(record.id, None)
                self._attach_sessions.pop(record.id, None)
            self._fail_pending_attach(record.id)
            self._resolve(self._exit_waiters, record.id, record.state.exit_code)
            self._resolve(self._removed_waiters, record.id, record.state.exit_code)
            self._publish(record, "destroy")
        finally:
            self._removals.pop(record.id, None)
            done.set_result(None)

    async def _remove_from_supervisor(self, container_id: str) -> None:
        """The container, its task if one is left, then its snapshot (the rootfs the task had mounted)."""
        await self._delete_container_and_task(container_id)
        with contextlib.suppress(errdefs.NotFound):
            await self._supervisor.snapshots.remove(container_id)

    async def _delete_container_and_task(self, container_id: str) -> None:
        """The supervisor's container, and the task a stopped container may still have (its exit's
        task delete failed, or a start was interrupted): the container's delete refuses while a
        task exists, so the task is deleted only then, instead of a delete (answering NotFound)
        before every removal. A container the supervisor no longer knows may still have a task."""
        try:
            await self._supervisor.containers.delete(container_id)
        except errdefs.FailedPrecondition:
            await self._delete_task(container_id)
            with contextlib.suppress(errdefs.NotFound):
                await self._supervisor.containers.delete(container_id)
        except errdefs.NotFound:
            await self._delete_task(container_id)
