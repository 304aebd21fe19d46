"""ContentStore over gRPC: blobs stream in chunks both ways."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc

from wharf.api import containerd_pb2 as pb
from wharf.api import containerd_pb2_grpc as pb_grpc
from wharf.containerd import wire
from wharf.containerd.core.content import ContentInfo
from wharf.containerd.grpc_status import error_of
from wharf.containerd.proxy.rpc import CallGate, call, lease_metadata

_MESSAGE_CHUNK = 1 << 20


class ContentStoreProxy:
    def __init__(self, stub: pb_grpc.ContentStub, gate: CallGate) -> None:
        self._stub = stub
        self._gate = gate

    async def info(self, digest: str) -> ContentInfo:
        return wire.content_info_from_pb(await call(self._gate, self._stub.Info, pb.Digest(digest=digest)))

    async def read(self, digest: str) -> bytes:
        return b"".join([chunk async for chunk in self.read_chunks(digest)])

    async def read_chunks(self, digest: str, chunk_size: int = 1 << 20) -> AsyncIterator[bytes]:
        await self._gate.passed()
        stream = self._stub.Read(pb.ReadContentRequest(digest=digest, chunk_size=chunk_size), metadata=lease_metadata())
        try:
            async for message in stream:
                yield message.data
        except grpc.aio.AioRpcError as err:
            raise error_of(err) from None
        finally:
            stream.cancel()

    async def write(
        self, chunks: AsyncIterator[bytes], expected: str | None = None, labels: dict[str, str] | None = None
    ) -> ContentInfo:
        async def requests() -> AsyncIterator[pb.WriteContentRequest]:
            yield pb.WriteContentRequest(expected=expected or "", labels=labels or {})
            async for chunk in chunks:
                for start in range(0, len(chunk), _MESSAGE_CHUNK):
                    yield pb.WriteContentRequest(data=chunk[start : start + _MESSAGE_CHUNK])

        await self._gate.passed()
        try:
            return wire.content_info_from_pb(await self._stub.Write(requests(), metadata=lease_metadata()))
        except grpc.aio.AioRpcError as err:
            raise error_of(err) from None

    async def delete(self, digest: str) -> None:
        await call(self._gate, self._stub.Delete, pb.Digest(digest=digest))

    async def list(self) -> list[ContentInfo]:
        reply = await call(self._gate, self._stub.List, pb.Empty())
        return [wire.content_info_from_pb(i) for i in reply.items]
