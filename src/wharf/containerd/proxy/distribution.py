"""Distribution over gRPC."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import grpc

from wharf.api import containerd_pb2 as pb
from wharf.api import containerd_pb2_grpc as pb_grpc
from wharf.containerd import wire
from wharf.containerd.core.distribution import (
    PullOutcome,
    PushOutcome,
    RegistryAuth,
    Resolved,
    SearchResult,
    TransferProgress,
)
from wharf.containerd.grpc_status import error_of
from wharf.containerd.proxy.rpc import CallGate, call, lease_metadata
from wharf.oci.image import Descriptor


def _auth(auth: RegistryAuth | None) -> pb.RegistryAuth:
    auth = auth or RegistryAuth()
    return pb.RegistryAuth(username=auth.username, password=auth.password, identity_token=auth.identity_token,
                           registry_token=auth.registry_token)


def _progress(event: pb.TransferEvent) -> TransferProgress:
    return TransferProgress(event.id, event.status, event.current, event.total)


class DistributionProxy:
    def __init__(self, stub: pb_grpc.DistributionStub, gate: CallGate) -> None:
        self._stub = stub
        self._gate = gate

    async def pull(self, reference: str, platform: str = "", auth: RegistryAuth | None = None
                   ) -> AsyncIterator[TransferProgress | PullOutcome]:
        await self._gate.passed()
        call = self._stub.Pull(pb.PullRequest(reference=reference, platform=platform, auth=_auth(auth)),
                               metadata=lease_metadata())
        try:
            async for event in call:
                if event.done:
                    yield PullOutcome(wire.descriptor_from_pb(event.target), wire.descriptor_from_pb(event.manifest),
                                      wire.descriptor_from_pb(event.config))
                else:
                    yield _progress(event)
        except grpc.aio.AioRpcError as err:
            raise error_of(err) from None
        finally:
            call.cancel()

    async def push(self, reference: str, manifest: Descriptor, auth: RegistryAuth | None = None
                   ) -> AsyncIterator[TransferProgress | PushOutcome]:
        await self._gate.passed()
        call = self._stub.Push(pb.PushRequest(reference=reference, manifest=wire.descriptor_to_pb(manifest),
                                              auth=_auth(auth)))
        try:
            async for event in call:
                if event.done:
                    yield PushOutcome(event.tag, event.digest, event.size)
                else:
                    yield _progress(event)
        except grpc.aio.AioRpcError as err:
            raise error_of(err) from None
        finally:
            call.cancel()

    async def login(self, server: str, auth: RegistryAuth) -> str:
        reply = await call(self._gate, self._stub.Login, pb.LoginRequest(server=server, auth=_auth(auth)))
        return str(reply.identity_token)

    async def resolve(self, reference: str, auth: RegistryAuth | None = None) -> Resolved:
        reply = await call(self._gate, self._stub.Resolve, pb.ResolveRequest(reference=reference, auth=_auth(auth)))
        return Resolved(wire.descriptor_from_pb(reply.target), [json.loads(text) for text in reply.platforms_json])

    async def search(self, term: str, limit: int, auth: RegistryAuth | None = None) -> list[SearchResult]:
        reply = await call(self._gate, self._stub.Search, pb.SearchRequest(term=term, limit=limit, auth=_auth(auth)))
        return [SearchResult(result.name, result.description, result.star_count, result.is_official,
                             result.is_automated) for result in reply.results]
