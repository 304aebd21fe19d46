"""Content service: blobs stream in and out in chunks."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc

from wharf.api import containerd_pb2 as pb
from wharf.api import containerd_pb2_grpc as pb_grpc
from wharf.containerd import wire
from wharf.containerd.core.content import ContentStore
from wharf.containerd.services.errors import stream, unary

_DEFAULT_CHUNK = 1 << 20
_MAX_CHUNK = 3 << 20  # under gRPC's default 4 MiB message limit


class ContentService(pb_grpc.ContentServicer):
    def __init__(self, store: ContentStore) -> None:
        self._store = store

    @unary
    async def Info(self, request: pb.Digest, context: grpc.aio.ServicerContext) -> pb.ContentInfo:
        return wire.content_info_to_pb(await self._store.info(request.digest))

    @stream
    async def Read(self, request: pb.ReadContentRequest, context: grpc.aio.ServicerContext) -> AsyncIterator[pb.Chunk]:
        chunk_size = min(request.chunk_size or _DEFAULT_CHUNK, _MAX_CHUNK)
        await self._store.info(request.digest)  # NotFound before the stream starts
        async for chunk in self._store.read_chunks(request.digest, chunk_size):
            yield pb.Chunk(data=chunk)

    @unary
    async def Write(
        self, request_iterator: AsyncIterator[pb.WriteContentRequest], context: grpc.aio.ServicerContext
    ) -> pb.ContentInfo:
        first = await anext(aiter(request_iterator), None)
        expected = first.expected if first is not None and first.expected else None
        labels = dict(first.labels) if first is not None else None

        async def chunks() -> AsyncIterator[bytes]:
            if first is None:
                return
            if first.data:
                yield first.data
            async for message in request_iterator:
                if message.data:
                    yield message.data

        return wire.content_info_to_pb(await self._store.write(chunks(), expected, labels or None))

    @unary
    async def Delete(self, request: pb.Digest, context: grpc.aio.ServicerContext) -> pb.Empty:
        await self._store.delete(request.digest)
        return pb.Empty()

    @unary
    async def List(self, request: pb.Empty, context: grpc.aio.ServicerContext) -> pb.ContentList:
        return pb.ContentList(items=[wire.content_info_to_pb(i) for i in await self._store.list()])
