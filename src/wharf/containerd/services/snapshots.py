"""Snapshots service."""

from __future__ import annotations

import grpc

from wharf.api import containerd_pb2 as pb
from wharf.api import containerd_pb2_grpc as pb_grpc
from wharf.containerd import wire
from wharf.containerd.core.snapshots import Snapshotter
from wharf.containerd.services.errors import unary


class SnapshotsService(pb_grpc.SnapshotsServicer):
    def __init__(self, snapshotter: Snapshotter) -> None:
        self._snapshots = snapshotter

    @unary
    async def Stat(self, request: pb.SnapshotKey, context: grpc.aio.ServicerContext) -> pb.SnapshotInfo:
        return wire.snapshot_info_to_pb(await self._snapshots.stat(request.key))

    @unary
    async def Prepare(self, request: pb.PrepareSnapshotRequest, context: grpc.aio.ServicerContext) -> pb.MountList:
        return wire.mounts_to_pb(await self._snapshots.prepare(request.key, request.parent, dict(request.labels)))

    @unary
    async def View(self, request: pb.PrepareSnapshotRequest, context: grpc.aio.ServicerContext) -> pb.MountList:
        return wire.mounts_to_pb(await self._snapshots.view(request.key, request.parent))

    @unary
    async def Mounts(self, request: pb.SnapshotKey, context: grpc.aio.ServicerContext) -> pb.MountList:
        return wire.mounts_to_pb(await self._snapshots.mounts(request.key))

    @unary
    async def Commit(self, request: pb.CommitSnapshotRequest, context: grpc.aio.ServicerContext) -> pb.Empty:
        await self._snapshots.commit(request.name, request.key)
        return pb.Empty()

    @unary
    async def Remove(self, request: pb.SnapshotKey, context: grpc.aio.ServicerContext) -> pb.Empty:
        await self._snapshots.remove(request.key)
        return pb.Empty()

    @unary
    async def List(self, request: pb.Empty, context: grpc.aio.ServicerContext) -> pb.SnapshotList:
        return pb.SnapshotList(items=[wire.snapshot_info_to_pb(i) for i in await self._snapshots.list()])

    @unary
    async def Usage(self, request: pb.SnapshotKey, context: grpc.aio.ServicerContext) -> pb.UsageResponse:
        return pb.UsageResponse(size=await self._snapshots.usage(request.key))
