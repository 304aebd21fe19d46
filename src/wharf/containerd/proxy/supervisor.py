"""`connect(address) -> Supervisor`: one gRPC channel, one proxy per Protocol."""

from __future__ import annotations

import asyncio
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

import grpc

from wharf import errdefs
from wharf.api import containerd_pb2_grpc as pb_grpc
from wharf.containerd.proxy.containers import ContainerStoreProxy
from wharf.containerd.proxy.content import ContentStoreProxy
from wharf.containerd.proxy.diff import DifferProxy
from wharf.containerd.proxy.distribution import DistributionProxy
from wharf.containerd.proxy.events import EventServiceProxy
from wharf.containerd.proxy.images import ImageStoreProxy, ImageUnpackerProxy
from wharf.containerd.proxy.leases import LeaseManagerProxy
from wharf.containerd.proxy.rpc import CallGate
from wharf.containerd.proxy.snapshots import SnapshotterProxy
from wharf.containerd.proxy.tasks import TaskServiceProxy

_MAX_MESSAGE = 16 << 20
DEFAULT_CONNECT_TIMEOUT = 10.0


@dataclass
class Supervisor:
    containers: ContainerStoreProxy
    tasks: TaskServiceProxy
    content: ContentStoreProxy
    snapshots: SnapshotterProxy
    images: ImageStoreProxy
    unpacker: ImageUnpackerProxy
    events: EventServiceProxy
    distribution: DistributionProxy
    diff: DifferProxy
    channel: grpc.aio.Channel
    leases: LeaseManagerProxy

    async def wait_ready(self, timeout: float = DEFAULT_CONNECT_TIMEOUT) -> None:
        """Unavailable unless the supervisor answers within `timeout` seconds."""
        try:
            await asyncio.wait_for(self.channel.channel_ready(), timeout)
        except TimeoutError as err:
            raise errdefs.Unavailable("the supervisor (wharf-containerd) is not answering") from err

    def __await__(self) -> Generator[Any, None, Supervisor]:
        """`await connect(...)` also waits until the supervisor answers; plain `connect(...)` doesn't."""
        yield from self.wait_ready().__await__()
        return self

    async def close(self) -> None:
        await self.channel.close()


def connect(address: str) -> Supervisor:
    """A client of the supervisor at `address` (a unix socket path, with or without `unix:`)."""
    target = address if address.startswith("unix:") else f"unix:{address}"
    channel = grpc.aio.insecure_channel(
        target,
        options=[("grpc.max_receive_message_length", _MAX_MESSAGE), ("grpc.max_send_message_length", _MAX_MESSAGE)],
    )
    gate = CallGate()
    return Supervisor(
        containers=ContainerStoreProxy(pb_grpc.ContainersStub(channel), gate),
        tasks=TaskServiceProxy(pb_grpc.TasksStub(channel), gate),
        content=ContentStoreProxy(pb_grpc.ContentStub(channel), gate),
        snapshots=SnapshotterProxy(pb_grpc.SnapshotsStub(channel), gate),
        images=ImageStoreProxy(pb_grpc.ImagesStub(channel), gate),
        unpacker=ImageUnpackerProxy(pb_grpc.ImagesStub(channel), gate),
        events=EventServiceProxy(pb_grpc.EventsStub(channel), gate),
        distribution=DistributionProxy(pb_grpc.DistributionStub(channel), gate),
        channel=channel,
        diff=DifferProxy(pb_grpc.DiffStub(channel), gate),
        leases=LeaseManagerProxy(pb_grpc.LeasesStub(channel), gate),
    )
