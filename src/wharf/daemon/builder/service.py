"""The build service: one build = the request body saved and unpacked as the context in a private
dir under `<data-root>/builder/tmp/`, evaluated, then the dir removed."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import shutil
from collections.abc import AsyncIterator, Callable

from wharf import errdefs
from wharf.containerd.core.leases import CONTENT, LeaseResource
from wharf.containerd.proxy.leases import leased
from wharf.daemon.backend.distribution import DistributionService
from wharf.daemon.backend.images import ImageService
from wharf.daemon.backend.record import ContainerRecord
from wharf.daemon.backend.supervisor import Supervisor
from wharf.daemon.builder.cache import BuildCache
from wharf.daemon.builder.commit import CommitRequest, CommitService
from wharf.daemon.builder.context import load_context
from wharf.daemon.builder.evaluator import Builder, BuildOptions, Send
from wharf.daemon.builder.run_network import ContainerNetworkingLike
from wharf.daemon.builder.runner import BUILD_LABEL, RunSettings

log = logging.getLogger(__name__)

CACHE_LEASE = "wharfd-build-cache"
"""The lease that keeps what the build cache names (no expiry: the cache outlives wharfd)."""
SWEEP_KILL_TIMEOUT = 10.0
"""Seconds to wait for a killed leftover build container before deleting its task anyway."""


class BuildService:
    def __init__(
        self, supervisor: Supervisor, images: ImageService, distribution: DistributionService,
        data_root: str, runtime: str, cgroup_parent: str,
        container_lookup: Callable[[str], ContainerRecord] | None = None,
        networking: ContainerNetworkingLike | None = None,
    ) -> None:  # fmt: skip
        self._dir = os.path.join(data_root, "builder")
        self._tmp = os.path.join(self._dir, "tmp")
        work = os.path.join(self._dir, "work")
        _unmount_leftovers(os.path.join(work, "mnt"))
        shutil.rmtree(self._tmp, ignore_errors=True)  # what a crashed build left behind
        shutil.rmtree(os.path.join(work, "run"), ignore_errors=True)
        os.makedirs(self._tmp, mode=0o700, exist_ok=True)
        self.cache = BuildCache(self._dir)
        settings = RunSettings(runtime, cgroup_parent, networking=networking, files_dir=os.path.join(work, "run"),
                               mount_dir=os.path.join(work, "mnt"))  # fmt: skip
        self._builder = Builder(supervisor, images, distribution, self.cache, settings, work)
        self._supervisor = supervisor
        self._swept = False
        self._commits = CommitService(supervisor, images, container_lookup) if container_lookup else None

    async def commit(self, request: CommitRequest) -> str:
        if self._commits is None:
            raise errdefs.NotImplementedYet("commit needs the container service")
        async with leased(self._supervisor, purpose="commit"):  # the layer is garbage until the image names it
            return await self._commits.commit(request)

    async def sweep_leftovers(self) -> None:
        """At wharfd's start: a build interrupted by a kill of wharfd or the supervisor leaves its
        RUN container's task (shim, rootfs mount, cgroups) behind, and no build may follow to sweep it."""
        try:
            await self._sweep_leftovers()
        except errdefs.WharfError as err:
            self._swept = False  # the next build tries again
            log.warning("sweeping the containers of interrupted builds: %s", err)

    async def _sweep_leftovers(self) -> None:
        """Build containers and snapshots a wharfd that died mid-build left in the supervisor
        (once, before this daemon's first build: none of its own can exist yet)."""
        if self._swept:
            return
        self._swept = True
        supervisor = self._supervisor
        # Filtered by the supervisor: the other containers' specs are neither encoded nor sent. The
        # label is checked again here: a supervisor older than the filter (it outlives wharfd
        # upgrades) ignores it and lists every container.
        for container in await supervisor.containers.list({BUILD_LABEL: "1"}):
            if container.labels.get(BUILD_LABEL) != "1":
                continue
            with contextlib.suppress(errdefs.WharfError, TimeoutError):
                await supervisor.tasks.kill(container.id, 9, all=True)
                # A shim refuses to delete a task whose process still runs: wait for the kill.
                await asyncio.wait_for(supervisor.tasks.wait(container.id), SWEEP_KILL_TIMEOUT)
            with contextlib.suppress(errdefs.WharfError, TimeoutError):
                await supervisor.tasks.delete(container.id)
            with contextlib.suppress(errdefs.WharfError):
                await supervisor.containers.delete(container.id)
        for snapshot in await supervisor.snapshots.list():
            if snapshot.labels.get(BUILD_LABEL) == "1" and snapshot.kind.value == "active":
                with contextlib.suppress(errdefs.WharfError):
                    await supervisor.snapshots.remove(snapshot.name)

    async def build(self, body: AsyncIterator[bytes], options: BuildOptions, send: Send) -> str:
        # One lease for the whole build: step snapshots and layers are garbage until images name them.
        async with leased(self._supervisor, purpose="build"):
            try:
                return await self._build(body, options, send)
            finally:
                await self._keep_cache()

    async def _keep_cache(self) -> None:
        """The cache names step images no image record names: a lease without expiry keeps them
        (and, through them, their layers) from garbage collection until `builder prune`."""
        leases = getattr(self._supervisor, "leases", None)
        if leases is None:
            return
        wanted = {LeaseResource(CONTENT, digest) for digest in self.cache.manifests()}
        try:
            try:
                held = set(await leases.resources(CACHE_LEASE))
            except errdefs.NotFound:
                await leases.create(CACHE_LEASE, {"io.wharf.lease.purpose": "build cache"})
                held = set()
            for resource in wanted - held:
                await leases.add_resource(CACHE_LEASE, resource)
            for resource in held - wanted:
                await leases.delete_resource(CACHE_LEASE, resource)
        except errdefs.WharfError as err:
            log.warning("build cache lease not updated: %s", err)

    async def _build(self, body: AsyncIterator[bytes], options: BuildOptions, send: Send) -> str:
        await self._sweep_leftovers()
        workdir = os.path.join(self._tmp, secrets.token_hex(8))
        os.makedirs(workdir, mode=0o700)
        try:
            archive = os.path.join(workdir, "context.tar")
            with open(archive, "wb") as out:
                async for chunk in body:
                    await asyncio.to_thread(out.write, chunk)
            root = os.path.join(workdir, "context")
            os.makedirs(root, mode=0o755)
            context = await asyncio.to_thread(load_context, archive, root, options.dockerfile)
            return await self._builder.build(context, options, send)
        finally:
            await asyncio.to_thread(shutil.rmtree, workdir, True)

    async def prune(self, all_cache: bool) -> tuple[list[str], int]:
        count = self.cache.clear()
        await self._keep_cache()
        return [f"cache-entry-{i}" for i in range(count)], 0


def _unmount_leftovers(mount_dir: str) -> None:
    """Rootfs mounts a wharfd that died mid-COPY left: unmounted (lazily), never walked into."""
    if not os.path.isdir(mount_dir):
        return
    from wharf.linux import mount as linux_mount

    for name in os.listdir(mount_dir):
        path = os.path.join(mount_dir, name)
        if os.path.ismount(path):
            with contextlib.suppress(OSError):
                linux_mount.umount2(path, 2)  # MNT_DETACH
        if not os.path.ismount(path):
            shutil.rmtree(path, ignore_errors=True)
