"""Distribution service: pull and push as server streams of progress, the outcome last; resolve; search."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import grpc

from wharf.api import containerd_pb2 as pb
from wharf.api import containerd_pb2_grpc as pb_grpc
from wharf.containerd import wire
from wharf.containerd.core.distribution import Distribution, PullOutcome, PushOutcome, RegistryAuth
from wharf.containerd.services.errors import stream, unary


def _auth(message: pb.RegistryAuth) -> RegistryAuth:
    return RegistryAuth(message.username, message.password, message.identity_token, message.registry_token)


class DistributionService(pb_grpc.DistributionServicer):
    def __init__(self, distribution: Distribution) -> None:
        self._distribution = distribution

    @stream
    async def Pull(self, request: pb.PullRequest, context: grpc.aio.ServicerContext) -> AsyncIterator[pb.TransferEvent]:
        async for item in self._distribution.pull(request.reference, request.platform, _auth(request.auth)):
            if isinstance(item, PullOutcome):
                yield pb.TransferEvent(done=True, target=wire.descriptor_to_pb(item.target),
                                       manifest=wire.descriptor_to_pb(item.manifest),
                                       config=wire.descriptor_to_pb(item.config))
            else:
                yield pb.TransferEvent(id=item.id, status=item.status, current=item.current, total=item.total)

    @stream
    async def Push(self, request: pb.PushRequest, context: grpc.aio.ServicerContext) -> AsyncIterator[pb.TransferEvent]:
        manifest = wire.descriptor_from_pb(request.manifest)
        async for item in self._distribution.push(request.reference, manifest, _auth(request.auth)):
            if isinstance(item, PushOutcome):
                yield pb.TransferEvent(done=True, tag=item.tag, digest=item.digest, size=item.size)
            else:
                yield pb.TransferEvent(id=item.id, status=item.status, current=item.current, total=item.total)

    @unary
    async def Login(self, request: pb.LoginRequest, context: grpc.aio.ServicerContext) -> pb.LoginResponse:
        return pb.LoginResponse(identity_token=await self._distribution.login(request.server, _auth(request.auth)))

    @unary
    async def Resolve(self, request: pb.ResolveRequest, context: grpc.aio.ServicerContext) -> pb.ResolveResponse:
        resolved = await self._distribution.resolve(request.reference, _auth(request.auth))
        return pb.ResolveResponse(target=wire.descriptor_to_pb(resolved.target),
                                  platforms_json=[json.dumps(platform) for platform in resolved.platforms])

    @unary
    async def Search(self, request: pb.SearchRequest, context: grpc.aio.ServicerContext) -> pb.SearchResponse:
        results = await self._distribution.search(request.term, request.limit, _auth(request.auth))
        return pb.SearchResponse(results=[
            pb.SearchResult(name=result.name, description=result.description, star_count=result.star_count,
                            is_official=result.is_official, is_automated=result.is_automated)
            for result in results
        ])
