"""wharfd's entry point: flags, the supervisor, the services, the API socket."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import signal
import sys
from typing import Any

from aiohttp import web

from wharf import errdefs
from wharf.daemon.backend.containers import ContainerService, DaemonPaths
from wharf.daemon.backend.distribution import DistributionService
from wharf.daemon.backend.events import EventBus
from wharf.daemon.backend.exec import ExecService
from wharf.daemon.backend.health import HealthService
from wharf.daemon.backend.image_archive import ImageArchives
from wharf.daemon.backend.image_records import CachedImageStore
from wharf.daemon.backend.images import ImageService
from wharf.daemon.backend.inspection import InspectionService
from wharf.daemon.backend.monitor import follow_task_events
from wharf.daemon.backend.record import save as save_record
from wharf.daemon.backend.system import SystemService
from wharf.daemon.backend.system_df import DiskUsage
from wharf.daemon.builder.service import BuildService
from wharf.daemon.config import DaemonConfig, load_config
from wharf.daemon.networks_and_volumes import NetworksAndVolumes
from wharf.daemon.routers.build.routes import BuildRouter
from wharf.daemon.routers.container.routes import ContainerRouter
from wharf.daemon.routers.container_inspection.routes import InspectionRouter
from wharf.daemon.routers.distribution.routes import DistributionRouter
from wharf.daemon.routers.exec.routes import ExecRouter
from wharf.daemon.routers.image.routes import ImageRouter
from wharf.daemon.routers.openapi import routes as openapi_routes
from wharf.daemon.routers.swarm.routes import SwarmRouter
from wharf.daemon.routers.system.df import DiskUsageRouter
from wharf.daemon.routers.system.routes import SystemRouter
from wharf.daemon.server.app import make_app
from wharf.daemon.server.listeners import TLSSettings, listen
from wharf.daemon.userns_remap import IdRemap, resolve_userns_remap
from wharf.linux import heap

log = logging.getLogger("wharfd")


class Daemon:
    """The services of one wharfd over one supervisor, and the app serving them."""

    def __init__(self, supervisor: Any, data_root: str, runtime: str, cgroup_parent: str,
                 exec_root: str = "", bridge: str = "wharf0", default_subnet: str = "",
                 userns_remap: IdRemap | None = None) -> None:
        self.events = EventBus()
        # Every service reads and changes image records through the cache (image_records.py).
        self.image_records = supervisor.images = CachedImageStore(supervisor.images)
        self.images = ImageService(supervisor, self.events)
        paths = DaemonPaths(data_root=data_root, runtime=runtime, cgroup_parent=cgroup_parent,
                            userns_remap=userns_remap)
        os.makedirs(paths.containers_dir, exist_ok=True)
        self.containers = ContainerService(supervisor, self.images, self.events, paths)
        self.images.image_users = self.containers.users_of_image
        self.images.running_image_users = self.containers.running_users_of_image
        self.images.image_use_counts = self.containers.image_use_counts
        self.system = SystemService(self.containers, self.images, self.events, data_root, runtime,
                                    _daemon_id(data_root), userns_remapped=userns_remap is not None)
        self.execs = ExecService(supervisor, self.events, self.containers.get)
        self.health = HealthService(supervisor, self.events, self.containers.get, save_record)
        # Without an exec root (unit tests), containers get an empty network namespace and no volumes.
        self.networks_and_volumes = NetworksAndVolumes(self.containers, self.events, data_root, exec_root,
                                                       bridge, default_subnet) if exec_root else None
        if self.networks_and_volumes is not None:
            self.networks_and_volumes.controller.userns_remap = userns_remap
            self.networks_and_volumes.store.owner = userns_remap.root if userns_remap else None
        self._supervisor = supervisor
        self._monitor: asyncio.Task[None] | None = None
        disk_usage = DiskUsage(supervisor, self.images, self.containers, self._volume_store)
        distribution = DistributionService(supervisor, self.images)
        self.builds = BuildService(supervisor, self.images, distribution,
                                   data_root, runtime, cgroup_parent, self.containers.get,
                                   self.networks_and_volumes.networking if self.networks_and_volumes else None)
        self.app = make_app([
            SystemRouter(self.system).routes(),
            ContainerRouter(self.containers, [self._add_exec_ids], sizes=disk_usage.container_sizes).routes(),
            ExecRouter(self.execs).routes(),
            InspectionRouter(InspectionService(supervisor, self.containers.get)).routes(),
            ImageRouter(self.images, distribution,
                        ImageArchives(supervisor, self.images, os.path.join(data_root, "tmp"))).routes(),
            DistributionRouter(distribution).routes(),
            *(self.networks_and_volumes.routes() if self.networks_and_volumes else []),
            DiskUsageRouter(disk_usage).routes(),
            BuildRouter(self.builds).routes(),
            SwarmRouter().routes(),
            openapi_routes(),
        ])  # fmt: skip

    def _volume_store(self) -> Any:
        return self.networks_and_volumes.store if self.networks_and_volumes else None

    def _add_exec_ids(self, record: Any, inspected: dict[str, Any]) -> None:
        inspected["ExecIDs"] = self.execs.ids_of(record.id) or None

    async def start(self) -> None:
        """Reload containers, follow exits (reconciling with the supervisor's tasks first)."""
        self.containers.load()
        if self.networks_and_volumes is not None:
            self.networks_and_volumes.load()
        subscribed = asyncio.Event()
        self._monitor = asyncio.create_task(follow_task_events(
            self._supervisor, self.containers, subscribed, on_images_changed=self.image_records.records_changed))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(subscribed.wait(), 10)
        if self.networks_and_volumes is not None:
            await self.networks_and_volumes.resume()
        await self.containers.start_restartable()
        self.health.watch_running(self.containers.all())
        await self.builds.sweep_leftovers()  # before the API serves: no build of ours exists yet

    async def stop(self) -> None:
        if self._monitor is not None:
            self._monitor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._monitor
        await self.health.close()
        await self.execs.close()
        await self.containers.close()
        if self.networks_and_volumes is not None:
            await self.networks_and_volumes.close()


def _daemon_id(data_root: str) -> str:
    path = os.path.join(data_root, "engine-id")
    try:
        with open(path) as source:
            return source.read().strip()
    except FileNotFoundError:
        engine_id = secrets.token_hex(16)
        with open(path, "w") as out:
            out.write(engine_id)
        return engine_id


async def serve(config: DaemonConfig) -> None:
    from wharf.daemon.supervisor_process import connect_or_start

    for directory in (config.data_root, config.exec_root):
        os.makedirs(directory, mode=0o711, exist_ok=True)
    try:
        remap = resolve_userns_remap(config.userns_remap)
    except errdefs.WharfError as err:
        raise SystemExit(f"wharfd: {err}") from None
    supervisor = await connect_or_start(config)
    daemon = Daemon(supervisor, config.data_root, config.runtime, config.cgroup_parent,
                    exec_root=config.exec_root, bridge=config.bridge, default_subnet=config.default_subnet,
                    userns_remap=remap)
    await daemon.start()
    runner = web.AppRunner(daemon.app, access_log=None, handle_signals=False, shutdown_timeout=2)
    await runner.setup()
    tls = TLSSettings(verify=config.tlsverify, enabled=config.tls, ca=config.tlscacert, cert=config.tlscert,
                      key=config.tlskey, allow_insecure_tcp=config.allow_insecure_tcp)
    await listen(runner, config.hosts, tls, config.group)
    with open(os.path.join(config.exec_root, "wharfd.pid"), "w") as out:
        out.write(str(os.getpid()))
    heap.trim()  # the garbage of start-up (imports, reload); requests trim when they stop
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    log.info("shutting down")
    await runner.cleanup()
    await daemon.stop()
    for host in config.hosts:
        if host.startswith("unix://"):
            with contextlib.suppress(OSError):
                os.unlink(host[len("unix://"):])
    close = getattr(supervisor, "close", None)
    if close is not None:
        result = close()
        if asyncio.iscoroutine(result):
            await result


def main(argv: list[str] | None = None) -> None:
    run(load_config(argv))


def run(config: DaemonConfig) -> None:
    logging.basicConfig(
        level=getattr(logging, config.log_level.upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        asyncio.run(serve(config))
    except KeyboardInterrupt:
        pass
    except errdefs.WharfError as err:
        log.error("%s", err)
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
