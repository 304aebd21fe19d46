"""LeaseManager over gRPC, and `leased(...)`: a block whose supervisor calls all run under one lease."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from wharf import errdefs
from wharf.api import containerd_pb2 as pb
from wharf.api import containerd_pb2_grpc as pb_grpc
from wharf.containerd.core.leases import Lease, LeaseResource, current_lease, expiry_label, using_lease
from wharf.containerd.proxy.rpc import CallGate, call

log = logging.getLogger(__name__)

DEFAULT_EXPIRY = 3600.0
"""Seconds a client's lease outlives the client if it dies without deleting it (a crashed wharfd)."""


def _lease(reply: pb.Lease) -> Lease:
    return Lease(id=reply.id, labels=dict(reply.labels), created_at=reply.created_at)


def _request(lease_id: str, resource: LeaseResource) -> pb.LeaseResourceRequest:
    return pb.LeaseResourceRequest(lease_id=lease_id, resource=pb.LeaseResource(id=resource.id, type=resource.type))


class LeaseManagerProxy:
    def __init__(self, stub: pb_grpc.LeasesStub, gate: CallGate) -> None:
        self._stub = stub
        self._gate = gate

    async def create(self, lease_id: str = "", labels: dict[str, str] | None = None) -> Lease:
        return _lease(await call(self._gate, self._stub.Create, pb.CreateLeaseRequest(id=lease_id, labels=labels or {})))

    async def delete(self, lease_id: str) -> None:
        await call(self._gate, self._stub.Delete, pb.LeaseID(id=lease_id))

    async def list(self) -> list[Lease]:
        return [_lease(item) for item in (await call(self._gate, self._stub.List, pb.Empty())).leases]

    async def add_resource(self, lease_id: str, resource: LeaseResource) -> None:
        await call(self._gate, self._stub.AddResource, _request(lease_id, resource))

    async def delete_resource(self, lease_id: str, resource: LeaseResource) -> None:
        await call(self._gate, self._stub.DeleteResource, _request(lease_id, resource))

    async def resources(self, lease_id: str) -> list[LeaseResource]:
        reply = await call(self._gate, self._stub.ListResources, pb.LeaseID(id=lease_id))
        return [LeaseResource(type=r.type, id=r.id) for r in reply.resources]


@contextlib.asynccontextmanager
async def leased(supervisor: Any, expiry: float = DEFAULT_EXPIRY, purpose: str = "") -> AsyncIterator[str]:
    """Run the block under a new lease (expiring after `expiry` s if never deleted), deleted at the end.

    Inside a lease already, the block joins it. A supervisor without leases (a test double, or a
    wharf-containerd older than leases, which also collects no garbage) runs the block unprotected. Yields the lease id ("" when there is none)."""
    leases = getattr(supervisor, "leases", None)
    if current_lease.get() or leases is None:
        yield current_lease.get()
        return
    labels = expiry_label(expiry)
    if purpose:
        labels["io.wharf.lease.purpose"] = purpose
    try:
        lease = await leases.create("", labels)
    except errdefs.NotImplementedYet:  # a supervisor from before leases (it outlives wharfd upgrades)
        yield ""
        return
    try:
        with using_lease(lease.id):
            yield lease.id
    finally:
        try:
            await leases.delete(lease.id)
        except errdefs.NotFound:
            pass  # expired and collected already
        except errdefs.WharfError as err:  # the supervisor is gone: the expiry ends it
            log.warning("lease %s not deleted (it expires by itself): %s", lease.id, err)
