"""Images service (the image store and the unpacker)."""

from __future__ import annotations

import grpc

from wharf.api import containerd_pb2 as pb
from wharf.api import containerd_pb2_grpc as pb_grpc
from wharf.containerd import wire
from wharf.containerd.core.images import ImageStore, ImageUnpacker
from wharf.containerd.services.errors import unary


class ImagesService(pb_grpc.ImagesServicer):
    def __init__(self, store: ImageStore, unpacker: ImageUnpacker) -> None:
        self._store = store
        self._unpacker = unpacker

    @unary
    async def Get(self, request: pb.ImageName, context: grpc.aio.ServicerContext) -> pb.Image:
        return wire.image_to_pb(await self._store.get(request.name))

    @unary
    async def List(self, request: pb.Empty, context: grpc.aio.ServicerContext) -> pb.ImageList:
        return pb.ImageList(images=[wire.image_to_pb(i) for i in await self._store.list()])

    @unary
    async def Create(self, request: pb.Image, context: grpc.aio.ServicerContext) -> pb.Image:
        return wire.image_to_pb(await self._store.create(wire.image_from_pb(request)))

    @unary
    async def Update(self, request: pb.Image, context: grpc.aio.ServicerContext) -> pb.Image:
        return wire.image_to_pb(await self._store.update(wire.image_from_pb(request)))

    @unary
    async def Delete(self, request: pb.ImageName, context: grpc.aio.ServicerContext) -> pb.Empty:
        await self._store.delete(request.name)
        return pb.Empty()

    @unary
    async def Unpack(self, request: pb.UnpackRequest, context: grpc.aio.ServicerContext) -> pb.UnpackResponse:
        return pb.UnpackResponse(chain_id=await self._unpacker.unpack(request.manifest_digest))
