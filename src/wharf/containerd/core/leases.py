"""Leases: what protects content and snapshots from garbage collection while nothing else does.

A blob or snapshot is kept by the garbage collector when an image, a container or a lease references
it (see `containerd/gc.py`). Work that makes resources before the record that will reference them
exists (a pull before its image is named, a build before its image, a load) holds a lease: everything
written or prepared under it is added to it, and stays until the lease is deleted or expires.

The lease a call is made under travels as gRPC metadata `containerd-lease` (containerd's header).
On both sides of the boundary it is the context variable `current_lease`: the proxy sends its value
with every call, the services set it from the header for the length of the call, so the plugins
(content store, snapshotter) can add what they make to it.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol

LEASE_HEADER = "containerd-lease"
EXPIRE_LABEL = "containerd.io/gc.expire"
"""RFC 3339 time after which the lease no longer protects anything (and the collector deletes it)."""

CONTENT = "content"
SNAPSHOTS = "snapshots"
RESOURCE_TYPES = (CONTENT, SNAPSHOTS)

current_lease: contextvars.ContextVar[str] = contextvars.ContextVar("wharf_current_lease", default="")


@dataclass
class Lease:
    id: str
    labels: dict[str, str] = field(default_factory=dict)
    created_at: int = 0
    """Nanoseconds since the epoch; set by the store."""


@dataclass(frozen=True)
class LeaseResource:
    type: str
    """`content` (id is a digest) or `snapshots` (id is a snapshot key or committed name)."""
    id: str


class LeaseManager(Protocol):
    async def create(self, lease_id: str = "", labels: dict[str, str] | None = None) -> Lease:
        """A new lease (a random id when none is given); AlreadyExists if the id is taken."""

    async def delete(self, lease_id: str) -> None:
        """NotFound if absent. What only it protected becomes garbage."""

    async def list(self) -> list[Lease]: ...

    async def add_resource(self, lease_id: str, resource: LeaseResource) -> None: ...

    async def delete_resource(self, lease_id: str, resource: LeaseResource) -> None: ...

    async def resources(self, lease_id: str) -> list[LeaseResource]: ...


@contextlib.contextmanager
def using_lease(lease_id: str) -> Iterator[None]:
    """Calls (and tasks started) inside run under `lease_id`."""
    token = current_lease.set(lease_id)
    try:
        yield
    finally:
        with contextlib.suppress(ValueError):  # reset from another context (a closed generator)
            current_lease.reset(token)


def expiry_label(seconds: float) -> dict[str, str]:
    """The labels of a lease that expires `seconds` from now."""
    at = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=seconds)
    return {EXPIRE_LABEL: at.isoformat(timespec="seconds").replace("+00:00", "Z")}


def expires_at(labels: dict[str, str]) -> float | None:
    """The lease's expiry as a Unix time, or None if it has none (or an unreadable one: kept)."""
    text = labels.get(EXPIRE_LABEL)
    if not text:
        return None
    try:
        at = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if at.tzinfo is None:
        at = at.replace(tzinfo=datetime.UTC)
    return at.timestamp()
