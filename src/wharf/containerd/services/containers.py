"""Containers service."""

from __future__ import annotations

import grpc

from wharf.api import containerd_pb2 as pb
from wharf.api import containerd_pb2_grpc as pb_grpc
from wharf.containerd import wire
from wharf.containerd.core.containers import ContainerStore
from wharf.containerd.services.errors import unary


class ContainersService(pb_grpc.ContainersServicer):
    def __init__(self, store: ContainerStore) -> None:
        self._store = store

    @unary
    async def Create(self, request: pb.Container, context: grpc.aio.ServicerContext) -> pb.Container:
        return wire.container_to_pb(await self._store.create(wire.container_from_pb(request)))

    @unary
    async def Get(self, request: pb.ContainerID, context: grpc.aio.ServicerContext) -> pb.Container:
        return wire.container_to_pb(await self._store.get(request.id))

    @unary
    async def List(self, request: pb.ListContainersRequest, context: grpc.aio.ServicerContext) -> pb.ContainerList:
        containers = await self._store.list(dict(request.labels))
        return pb.ContainerList(containers=[wire.container_to_pb(c) for c in containers])

    @unary
    async def Update(self, request: pb.Container, context: grpc.aio.ServicerContext) -> pb.Container:
        return wire.container_to_pb(await self._store.update(wire.container_from_pb(request)))

    @unary
    async def Delete(self, request: pb.ContainerID, context: grpc.aio.ServicerContext) -> pb.Empty:
        await self._store.delete(request.id)
        return pb.Empty()
