"""Differ over gRPC."""

from __future__ import annotations

from wharf.api import containerd_pb2 as pb
from wharf.api import containerd_pb2_grpc as pb_grpc
from wharf.containerd import wire
from wharf.containerd.core.diff import DiffResult
from wharf.containerd.proxy.rpc import CallGate, call


class DifferProxy:
    def __init__(self, stub: pb_grpc.DiffStub, gate: CallGate) -> None:
        self._stub = stub
        self._gate = gate

    async def diff(self, key: str, compress: bool = False, commit: bool = False) -> DiffResult:
        reply = await call(self._gate, self._stub.Diff, pb.DiffRequest(key=key, compress=compress, commit=commit))
        return DiffResult(wire.descriptor_from_pb(reply.layer), reply.diff_id, reply.chain_id)
