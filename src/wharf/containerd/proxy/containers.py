"""ContainerStore over gRPC."""

from __future__ import annotations

from collections.abc import Mapping

from wharf.api import containerd_pb2 as pb
from wharf.api import containerd_pb2_grpc as pb_grpc
from wharf.containerd import wire
from wharf.containerd.core.containers import Container
from wharf.containerd.proxy.rpc import CallGate, call


class ContainerStoreProxy:
    def __init__(self, stub: pb_grpc.ContainersStub, gate: CallGate) -> None:
        self._stub = stub
        self._gate = gate

    async def create(self, container: Container) -> Container:
        return wire.container_from_pb(await call(self._gate, self._stub.Create, wire.container_to_pb(container)))

    async def get(self, container_id: str) -> Container:
        return wire.container_from_pb(await call(self._gate, self._stub.Get, pb.ContainerID(id=container_id)))

    async def list(self, labels: Mapping[str, str] | None = None) -> list[Container]:
        reply = await call(self._gate, self._stub.List, pb.ListContainersRequest(labels=labels or {}))
        return [wire.container_from_pb(c) for c in reply.containers]

    async def update(self, container: Container) -> Container:
        return wire.container_from_pb(await call(self._gate, self._stub.Update, wire.container_to_pb(container)))

    async def delete(self, container_id: str) -> None:
        await call(self._gate, self._stub.Delete, pb.ContainerID(id=container_id))
