"""ImageStore and ImageUnpacker over gRPC."""

from __future__ import annotations

from wharf.api import containerd_pb2 as pb
from wharf.api import containerd_pb2_grpc as pb_grpc
from wharf.containerd import wire
from wharf.containerd.core.images import Image
from wharf.containerd.proxy.rpc import CallGate, call


class ImageStoreProxy:
    def __init__(self, stub: pb_grpc.ImagesStub, gate: CallGate) -> None:
        self._stub = stub
        self._gate = gate

    async def get(self, name: str) -> Image:
        return wire.image_from_pb(await call(self._gate, self._stub.Get, pb.ImageName(name=name)))

    async def list(self) -> list[Image]:
        return [wire.image_from_pb(i) for i in (await call(self._gate, self._stub.List, pb.Empty())).images]

    async def create(self, image: Image) -> Image:
        return wire.image_from_pb(await call(self._gate, self._stub.Create, wire.image_to_pb(image)))

    async def update(self, image: Image) -> Image:
        return wire.image_from_pb(await call(self._gate, self._stub.Update, wire.image_to_pb(image)))

    async def delete(self, name: str) -> None:
        await call(self._gate, self._stub.Delete, pb.ImageName(name=name))


class ImageUnpackerProxy:
    def __init__(self, stub: pb_grpc.ImagesStub, gate: CallGate) -> None:
        self._stub = stub
        self._gate = gate

    async def unpack(self, manifest_digest: str) -> str:
        return (await call(self._gate, self._stub.Unpack, pb.UnpackRequest(manifest_digest=manifest_digest))).chain_id
