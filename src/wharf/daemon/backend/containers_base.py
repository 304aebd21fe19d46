"""The state every part of the container service shares: the index of records, per-container
locks, waiters, pending attachers, background tasks; and the helpers all parts use (lookup, events,
the supervisor's task delete). The parts (create, start, attach, exits, control, removal) are mixins
over this base, composed in containers.ContainerService."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any

from wharf import errdefs
from wharf.containerd.core.tasks import TaskInfo
from wharf.daemon.backend import record as records
from wharf.daemon.backend.events import EventBus
from wharf.daemon.backend.images import ImageService
from wharf.daemon.backend.index import ContainerIndex
from wharf.daemon.backend.mounts import ContainerMounts
from wharf.daemon.backend.networking import ContainerNetworking
from wharf.daemon.backend.record import ContainerRecord
from wharf.daemon.backend.supervisor import Supervisor
from wharf.daemon.userns_remap import IdRemap

ATTACH_READY_TIMEOUT = 2.0
"""How long start waits for attachers to reach the shim before releasing the process."""
ATTACH_DRAIN_TIMEOUT = 2.0
"""How long an exit waits for attached clients to receive the last output before the task goes."""
DEFAULT_STOP_TIMEOUT = 10
EXITED_UNKNOWN = 255


@dataclass
class DaemonPaths:
    data_root: str
    runtime: str
    cgroup_parent: str = "/wharf"
    userns_remap: IdRemap | None = None
    """`--userns-remap`: the host range containers' ids are mapped to (None: no user namespace)."""

    @property
    def containers_dir(self) -> str:
        return os.path.join(self.data_root, "containers")


class PendingAttach:
    """An attacher waiting for the next task of its container."""

    def __init__(self) -> None:
        loop = asyncio.get_running_loop()
        self.task: asyncio.Future[TaskInfo | None] = loop.create_future()
        self.connected: asyncio.Future[None] = loop.create_future()


class ContainerServiceBase:
    def __init__(self, supervisor: Supervisor, images: ImageService, events: EventBus, paths: DaemonPaths) -> None:
        self._supervisor = supervisor
        self._images = images
        self._events = events
        self._paths = paths
        self._index = ContainerIndex()
        self._locks: dict[str, asyncio.Lock] = {}
        self._exit_waiters: dict[str, list[asyncio.Future[int]]] = {}
        self._removed_waiters: dict[str, list[asyncio.Future[int]]] = {}
        self._pending_attach: dict[str, list[PendingAttach]] = {}
        self._attach_sessions: dict[str, set[asyncio.Task[None]]] = {}
        self._removals: dict[str, asyncio.Future[None]] = {}
        self._gone_from_supervisor: set[str] = set()
        """Auto-removed containers whose supervisor container and snapshot went at their exit,
        while their network was released: the removal that follows skips that part."""
        self._background: set[asyncio.Task[Any]] = set()
        self.networking: ContainerNetworking | None = None
        """Set by the daemon: namespaces, endpoints, ports (None: containers get an empty netns)."""
        self.mounts: ContainerMounts | None = None
        """Set by the daemon: volumes, binds and tmpfs mounts."""

    # ---- lookup -------------------------------------------------------------------------------

    def get(self, ref: str) -> ContainerRecord:
        return self._index.get(ref)

    def all(self) -> list[ContainerRecord]:
        return list(self._index)

    def _lock(self, container_id: str) -> asyncio.Lock:
        return self._locks.setdefault(container_id, asyncio.Lock())

    async def users_of_image(self, image_id: str) -> list[str]:
        return [r.id for r in self._index if r.image_id == image_id]

    async def running_users_of_image(self, image_id: str) -> list[str]:
        return [r.id for r in self._index if r.image_id == image_id and r.state.running]

    def image_use_counts(self) -> dict[str, int]:
        """Image id → its containers, counted in one pass (an image listing asks for every image)."""
        counts: dict[str, int] = {}
        for record in self._index:
            counts[record.image_id] = counts.get(record.image_id, 0) + 1
        return counts

    # ---- helpers shared by the parts ------------------------------------------------------------

    def _publish(self, record: ContainerRecord, action: str, **extra: str) -> None:
        attributes = {"image": record.config.get("Image", ""), "name": record.name.lstrip("/")}
        attributes.update({str(k): str(v) for k, v in (record.config.get("Labels") or {}).items()})
        attributes.update(extra)
        self._events.publish("container", action, record.id, attributes)

    def _resolve(self, waiters: dict[str, list[asyncio.Future[int]]], container_id: str, code: int) -> None:
        for future in waiters.pop(container_id, []):
            if not future.done():
                future.set_result(code)

    def _spawn(self, coroutine: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _delete_task(self, container_id: str) -> None:
        with contextlib.suppress(errdefs.NotFound):
            await self._supervisor.tasks.delete(container_id)

    def load(self) -> None:
        for record in records.load_all(self._paths.containers_dir):
            self._index.add(record)

    async def close(self) -> None:
        for task in list(self._background):
            task.cancel()

    # ---- implemented by the parts (declared here so each part can call the others) --------------

    async def start(self, ref: str, by_policy: bool = False) -> None:
        raise NotImplementedError

    async def _destroy(self, record: ContainerRecord, remove_volumes: bool = False) -> None:
        raise NotImplementedError

    async def _remove_from_supervisor(self, container_id: str) -> None:
        raise NotImplementedError

    async def _signal_and_wait(self, record: ContainerRecord, number: int, timeout: float) -> None:
        raise NotImplementedError

    def _fail_pending_attach(self, container_id: str) -> None:
        raise NotImplementedError

    async def _hand_task_to_attachers(self, container_id: str, info: TaskInfo) -> None:
        raise NotImplementedError

    async def _drain_attach_sessions(self, container_id: str) -> None:
        raise NotImplementedError

    async def _detach_network(self, record: ContainerRecord) -> None:
        raise NotImplementedError

    async def _detach_storage_and_network(self, record: ContainerRecord, network: bool = True) -> None:
        raise NotImplementedError
