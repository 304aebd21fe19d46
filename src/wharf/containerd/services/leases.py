"""Leases service."""

from __future__ import annotations

import grpc

from wharf.api import containerd_pb2 as pb
from wharf.api import containerd_pb2_grpc as pb_grpc
from wharf.containerd.core.leases import Lease, LeaseManager, LeaseResource
from wharf.containerd.services.errors import unary


def lease_to_pb(lease: Lease) -> pb.Lease:
    return pb.Lease(id=lease.id, labels=lease.labels, created_at=lease.created_at)


def _resource(request: pb.LeaseResourceRequest) -> LeaseResource:
    return LeaseResource(type=request.resource.type, id=request.resource.id)


class LeasesService(pb_grpc.LeasesServicer):
    def __init__(self, leases: LeaseManager) -> None:
        self._leases = leases

    @unary
    async def Create(self, request: pb.CreateLeaseRequest, context: grpc.aio.ServicerContext) -> pb.Lease:
        return lease_to_pb(await self._leases.create(request.id, dict(request.labels)))

    @unary
    async def Delete(self, request: pb.LeaseID, context: grpc.aio.ServicerContext) -> pb.Empty:
        await self._leases.delete(request.id)
        return pb.Empty()

    @unary
    async def List(self, request: pb.Empty, context: grpc.aio.ServicerContext) -> pb.LeaseList:
        return pb.LeaseList(leases=[lease_to_pb(lease) for lease in await self._leases.list()])

    @unary
    async def AddResource(self, request: pb.LeaseResourceRequest, context: grpc.aio.ServicerContext) -> pb.Empty:
        await self._leases.add_resource(request.lease_id, _resource(request))
        return pb.Empty()

    @unary
    async def DeleteResource(self, request: pb.LeaseResourceRequest, context: grpc.aio.ServicerContext) -> pb.Empty:
        await self._leases.delete_resource(request.lease_id, _resource(request))
        return pb.Empty()

    @unary
    async def ListResources(self, request: pb.LeaseID, context: grpc.aio.ServicerContext) -> pb.LeaseResourceList:
        resources = await self._leases.resources(request.id)
        return pb.LeaseResourceList(resources=[pb.LeaseResource(id=r.id, type=r.type) for r in resources])
