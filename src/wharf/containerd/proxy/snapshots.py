"""Snapshotter over gRPC."""

from __future__ import annotations

from wharf.api import containerd_pb2 as pb
from wharf.api import containerd_pb2_grpc as pb_grpc
from wharf.containerd import wire
from wharf.containerd.core.snapshots import Mount, SnapshotInfo
from wharf.containerd.proxy.rpc import CallGate, call


class SnapshotterProxy:
    def __init__(self, stub: pb_grpc.SnapshotsStub, gate: CallGate) -> None:
        self._stub = stub
        self._gate = gate

    async def stat(self, key: str) -> SnapshotInfo:
        return wire.snapshot_info_from_pb(await call(self._gate, self._stub.Stat, pb.SnapshotKey(key=key)))

    async def prepare(self, key: str, parent: str = "", labels: dict[str, str] | None = None) -> list[Mount]:
        request = pb.PrepareSnapshotRequest(key=key, parent=parent, labels=labels or {})
        return wire.mounts_from_pb(await call(self._gate, self._stub.Prepare, request))

    async def view(self, key: str, parent: str = "") -> list[Mount]:
        return wire.mounts_from_pb(await call(self._gate, self._stub.View, pb.PrepareSnapshotRequest(key=key, parent=parent)))

    async def mounts(self, key: str) -> list[Mount]:
        return wire.mounts_from_pb(await call(self._gate, self._stub.Mounts, pb.SnapshotKey(key=key)))

    async def commit(self, name: str, key: str) -> None:
        await call(self._gate, self._stub.Commit, pb.CommitSnapshotRequest(name=name, key=key))

    async def remove(self, key: str) -> None:
        await call(self._gate, self._stub.Remove, pb.SnapshotKey(key=key))

    async def list(self) -> list[SnapshotInfo]:
        reply = await call(self._gate, self._stub.List, pb.Empty())
        return [wire.snapshot_info_from_pb(i) for i in reply.items]

    async def usage(self, key: str) -> int:
        return (await call(self._gate, self._stub.Usage, pb.SnapshotKey(key=key))).size
