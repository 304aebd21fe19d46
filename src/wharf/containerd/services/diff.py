"""Diff service."""

from __future__ import annotations

import grpc

from wharf.api import containerd_pb2 as pb
from wharf.api import containerd_pb2_grpc as pb_grpc
from wharf.containerd import wire
from wharf.containerd.core.diff import Differ
from wharf.containerd.services.errors import unary


class DiffService(pb_grpc.DiffServicer):
    def __init__(self, differ: Differ) -> None:
        self._differ = differ

    @unary
    async def Diff(self, request: pb.DiffRequest, context: grpc.aio.ServicerContext) -> pb.DiffResponse:
        result = await self._differ.diff(request.key, request.compress, request.commit)
        return pb.DiffResponse(
            layer=wire.descriptor_to_pb(result.layer), diff_id=result.diff_id, chain_id=result.chain_id
        )
