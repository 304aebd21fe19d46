"""Assembling the supervisor: plugins wired together, served over gRPC on a unix socket."""

from __future__ import annotations

import contextlib
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc

from wharf.api import containerd_pb2_grpc as pb_grpc
from wharf.containerd.distribution.registry_config import RegistryConfig
from wharf.containerd.distribution.service import RegistryDistributor
from wharf.containerd.gc import DEFAULT_GRACE, GarbageCollector
from wharf.containerd.plugins.content_local import LocalContentStore
from wharf.containerd.plugins.diff_walking import WalkingDiffer
from wharf.containerd.plugins.events_local import EventBroadcaster
from wharf.containerd.plugins.metadata_sqlite import (
    SqliteContainerStore,
    SqliteImageStore,
    SqliteLeaseManager,
    open_db,
)
from wharf.containerd.plugins.runtime_shim import ShimTaskService
from wharf.containerd.plugins.snapshots_overlay import OverlaySnapshotter
from wharf.containerd.plugins.unpack import SnapshotUnpacker
from wharf.containerd.services.containers import ContainersService
from wharf.containerd.services.content import ContentService
from wharf.containerd.services.diff import DiffService
from wharf.containerd.services.distribution import DistributionService
from wharf.containerd.services.events import EventsService
from wharf.containerd.services.images import ImagesService
from wharf.containerd.services.leases import LeasesService
from wharf.containerd.services.snapshots import SnapshotsService
from wharf.containerd.services.tasks import TasksService
from wharf.linux import heap

log = logging.getLogger(__name__)

_MAX_MESSAGE = 16 << 20


@dataclass
class SupervisorConfig:
    address: Path
    root: Path
    state: Path
    runtime: str = "wharf-runc"
    runtime_root: Path | None = None
    registry: RegistryConfig = field(default_factory=RegistryConfig)
    gc_grace: float = DEFAULT_GRACE
    """Seconds during which a new blob or snapshot is never collected, leased or not."""


class _TrimWhenQuiet(grpc.aio.ServerInterceptor):
    """Every RPC's arrival is activity: the heap is trimmed once RPCs stop (wharf.linux.heap)."""

    def __init__(self, trimmer: heap.QuietTrimmer) -> None:
        self.trimmer = trimmer

    async def intercept_service(self, continuation: Any, handler_call_details: Any) -> Any:
        self.trimmer.activity()
        return await continuation(handler_call_details)


@dataclass
class LocalSupervisor:
    """The plugins, in process: the same attributes as proxy.Supervisor."""

    containers: SqliteContainerStore
    tasks: ShimTaskService
    content: LocalContentStore
    snapshots: OverlaySnapshotter
    images: SqliteImageStore
    unpacker: SnapshotUnpacker
    events: EventBroadcaster
    distribution: RegistryDistributor
    diff: WalkingDiffer | None = None
    leases: SqliteLeaseManager | None = None
    gc: GarbageCollector | None = None

    async def close(self) -> None:
        if self.gc is not None:
            self.gc.close()
        await self.tasks.close()
        await self.distribution.close()


async def build(config: SupervisorConfig) -> LocalSupervisor:
    config.root.mkdir(parents=True, exist_ok=True, mode=0o711)
    config.state.mkdir(parents=True, exist_ok=True, mode=0o711)
    db = open_db(config.root / "wharf.db")
    events = EventBroadcaster()
    collector: list[GarbageCollector] = []  # made last: the stores tell it about deletions

    def collect_soon() -> None:
        if collector:
            collector[0].schedule()

    leases = SqliteLeaseManager(db, on_delete=collect_soon)
    content = LocalContentStore(config.root, db, leases)
    snapshots = OverlaySnapshotter(config.root, db, leases)
    tasks_ref: list[ShimTaskService] = []
    containers = SqliteContainerStore(
        db, has_task=lambda cid: bool(tasks_ref) and tasks_ref[0].has_task(cid), on_delete=collect_soon
    )
    tasks = ShimTaskService(config.state, containers, snapshots, events, config.runtime, config.runtime_root)
    tasks_ref.append(tasks)
    await tasks.restore()
    unpacker = SnapshotUnpacker(content, snapshots)
    await unpacker.remove_interrupted()  # layers half extracted when the last run was killed
    gc = GarbageCollector(db, content, snapshots, leases, grace=config.gc_grace)
    collector.append(gc)
    try:
        await gc.collect()  # what a crash left unreferenced (and leases that expired meanwhile)
    except Exception:  # noqa: BLE001 - a failed collection must not keep the supervisor down
        log.exception("garbage collection at start-up failed")
    return LocalSupervisor(
        containers=containers,
        tasks=tasks,
        content=content,
        snapshots=snapshots,
        images=SqliteImageStore(db, on_delete=collect_soon,
                                on_change=lambda topic, name: events.publish(topic, "", {"name": name})),
        unpacker=unpacker,
        events=events,
        distribution=RegistryDistributor(content, config.registry, leases),
        diff=WalkingDiffer(config.root, content, snapshots),
        leases=leases,
        gc=gc,
    )


async def serve(config: SupervisorConfig) -> tuple[grpc.aio.Server, LocalSupervisor]:
    """Start serving; the caller waits on the server and stops it."""
    supervisor = await build(config)
    server = grpc.aio.server(
        options=[("grpc.max_receive_message_length", _MAX_MESSAGE), ("grpc.max_send_message_length", _MAX_MESSAGE)],
        interceptors=[_TrimWhenQuiet(heap.QuietTrimmer())],
    )
    pb_grpc.add_ContainersServicer_to_server(ContainersService(supervisor.containers), server)
    pb_grpc.add_ContentServicer_to_server(ContentService(supervisor.content), server)
    pb_grpc.add_SnapshotsServicer_to_server(SnapshotsService(supervisor.snapshots), server)
    pb_grpc.add_ImagesServicer_to_server(ImagesService(supervisor.images, supervisor.unpacker), server)
    pb_grpc.add_TasksServicer_to_server(TasksService(supervisor.tasks), server)
    pb_grpc.add_EventsServicer_to_server(EventsService(supervisor.events), server)
    pb_grpc.add_DistributionServicer_to_server(DistributionService(supervisor.distribution), server)
    if supervisor.leases is not None:
        pb_grpc.add_LeasesServicer_to_server(LeasesService(supervisor.leases), server)
    if supervisor.diff is not None:
        pb_grpc.add_DiffServicer_to_server(DiffService(supervisor.diff), server)
    config.address.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileNotFoundError):
        config.address.unlink()  # a stale socket of a previous run
    server.add_insecure_port(f"unix:{config.address}")  # bound here, listening only from start()
    os.chmod(config.address, 0o660)  # before anyone can connect: never a moment at the umask's mode
    await server.start()
    log.info("serving the supervisor API on %s", config.address)
    heap.trim()  # the garbage of start-up (imports, restore, collection); RPCs trim when they stop
    return server, supervisor
