"""Looking into a container: its processes (top), its resource use (stats), and its files (archive,
export). Each verb finds the container, then hands on to top, stats, archive and container_fs."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import AsyncIterator, Callable
from typing import IO, Any

from wharf import errdefs
from wharf.daemon.backend import archive, changes, stats
from wharf.daemon.backend.container_fs import container_root
from wharf.daemon.backend.container_ids import ContainerIds
from wharf.daemon.backend.record import ContainerRecord
from wharf.daemon.backend.supervisor import Supervisor
from wharf.daemon.backend.top import top
from wharf.linux.fsids import run_with_fs_ids

STATS_INTERVAL = 1.0
"""Seconds between two readings (Docker's collector interval)."""
SPOOL_IN_MEMORY = 32 << 20
"""Archives up to this size stay in memory on their way to or from the client."""


class InspectionService:
    def __init__(self, supervisor: Supervisor, find_container: Callable[[str], ContainerRecord]) -> None:
        self._supervisor = supervisor
        self._find = find_container

    # ---- top ----------------------------------------------------------------------------------

    async def top(self, ref: str, ps_args: str) -> dict[str, Any]:
        record = self._find(ref)
        if not record.state.running:
            raise errdefs.Conflict(f"Container {record.id} is not running")
        pids = await self._supervisor.tasks.pids(record.id)
        return await top(pids, ps_args)

    # ---- stats --------------------------------------------------------------------------------

    async def _cgroup_path(self, record: ContainerRecord) -> str:
        spec = (await self._supervisor.containers.get(record.id)).spec
        return str((spec.get("linux") or {}).get("cgroupsPath") or "")

    async def stats(self, ref: str, stream: bool, one_shot: bool) -> AsyncIterator[dict[str, Any]]:
        """Readings in Docker's shape: one (two samples apart, so CPU % can be computed, unless
        `one_shot`), or one per interval while the container runs."""
        record = self._find(ref)
        name = record.name
        if not record.state.running:
            yield stats.to_api(record.id, name, None, None)
            return
        cgroup_path = await self._cgroup_path(record)
        previous: dict[str, Any] | None = None
        current = await asyncio.to_thread(stats.sample, cgroup_path, record.state.pid)
        if not stream and not one_shot:
            await asyncio.sleep(STATS_INTERVAL)
            previous, current = current, await asyncio.to_thread(stats.sample, cgroup_path, record.state.pid)
        yield stats.to_api(record.id, name, current, previous)
        while stream and record.state.running:
            await asyncio.sleep(STATS_INTERVAL)
            if not record.state.running:
                break
            previous, current = current, await asyncio.to_thread(stats.sample, cgroup_path, record.state.pid)
            yield stats.to_api(record.id, name, current, previous)

    # ---- files --------------------------------------------------------------------------------

    async def stat_path(self, ref: str, path: str) -> dict[str, Any]:
        record = self._find(ref)
        async with container_root(self._supervisor, record, with_mount_points=True) as root_fd:
            return await asyncio.to_thread(archive.path_stat, root_fd, path, record.id)

    async def get_archive(self, ref: str, path: str) -> tuple[dict[str, Any], IO[bytes]]:
        """The path's stat and a tar of it (a spooled temporary file, at its start)."""
        record = self._find(ref)
        spool: IO[bytes] = tempfile.SpooledTemporaryFile(SPOOL_IN_MEMORY)  # noqa: SIM115 - the caller closes it
        try:
            async with container_root(self._supervisor, record, with_mount_points=True) as root_fd:
                stat_info = await asyncio.to_thread(archive.path_stat, root_fd, path, record.id)
                await asyncio.to_thread(archive.write_archive, root_fd, path, spool, record.id,
                                        ids=_ids_of(record))
        except BaseException:
            spool.close()
            raise
        spool.seek(0)
        return stat_info, spool

    async def put_archive(
        self, ref: str, path: str, body: IO[bytes], no_overwrite_dir_non_dir: bool, copy_uid_gid: bool
    ) -> None:
        record = self._find(ref)
        if record.host_config.get("ReadonlyRootfs"):
            raise errdefs.Forbidden("container rootfs is marked read-only")
        ids = _ids_of(record)
        async with container_root(self._supervisor, record, with_mount_points=True) as root_fd:
            def extract() -> None:
                archive.extract_archive(root_fd, path, body, record.id, no_overwrite_dir_non_dir, copy_uid_gid, ids)

            if ids is None:
                await asyncio.to_thread(extract)
            else:
                # Through a remapped container's root, host uid 0 owns nothing: create as its root.
                await asyncio.to_thread(run_with_fs_ids, *ids.root_on_host, extract)

    async def export(self, ref: str) -> IO[bytes]:
        """A tar of the container's root filesystem (mounted volumes and files are left out)."""
        record = self._find(ref)
        spool: IO[bytes] = tempfile.SpooledTemporaryFile(SPOOL_IN_MEMORY)  # noqa: SIM115
        try:
            async with container_root(self._supervisor, record) as root_fd:
                await asyncio.to_thread(archive.write_rootfs, root_fd, spool, _ids_of(record))
        except BaseException:
            spool.close()
            raise
        spool.seek(0)
        return spool

    async def changes(self, ref: str) -> list[dict[str, Any]]:
        """`docker diff`: [{Path, Kind}] (0 modified, 1 added, 2 deleted)."""
        record = self._find(ref)
        upper, lowers = changes.overlay_dirs(await self._supervisor.snapshots.mounts(record.id))
        return await asyncio.to_thread(changes.changes, upper, lowers)


def _ids_of(record: ContainerRecord) -> ContainerIds | None:
    """A running remapped container's mappings (its files are reached through its process, with
    host ids); a stopped one's snapshot is mounted with the ids on disk, the container's own."""
    if record.state.running and record.state.pid:
        return ContainerIds.of_process(record.state.pid)
    return None
