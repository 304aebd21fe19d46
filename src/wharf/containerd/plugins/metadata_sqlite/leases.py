"""LeaseManager over the `leases` and `lease_resources` tables."""

from __future__ import annotations

import json
import re
import secrets
import sqlite3
import time
from collections.abc import Callable

from wharf import errdefs
from wharf.containerd.core.leases import RESOURCE_TYPES, Lease, LeaseResource, current_lease
from wharf.containerd.plugins.metadata_sqlite.db import MetadataDB

_LEASE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")


def _from_row(row: sqlite3.Row) -> Lease:
    return Lease(id=row["id"], labels=json.loads(row["labels"]), created_at=row["created_at"])


def _check_resource(resource: LeaseResource) -> None:
    if resource.type not in RESOURCE_TYPES or not resource.id:
        raise errdefs.InvalidArgument(f"lease resource {resource.type}/{resource.id!r}: unknown type or empty id")


class SqliteLeaseManager:
    def __init__(self, db: MetadataDB, on_delete: Callable[[], None] = lambda: None) -> None:
        self._db = db
        self._on_delete = on_delete
        """Called after a lease is deleted: what it held may now be garbage."""

    async def create(self, lease_id: str = "", labels: dict[str, str] | None = None) -> Lease:
        lease_id = lease_id or f"wharf-{secrets.token_hex(12)}"
        if not _LEASE_ID.match(lease_id):
            raise errdefs.InvalidArgument(f"lease id {lease_id!r}: letters, digits and . _ : - only")
        now = time.time_ns()
        try:
            self._db.execute("INSERT INTO leases VALUES (?, ?, ?)", (lease_id, json.dumps(labels or {}), now))
        except sqlite3.IntegrityError as err:
            raise errdefs.AlreadyExists(f"lease {lease_id}: already exists") from err
        return Lease(lease_id, dict(labels or {}), now)

    async def get(self, lease_id: str) -> Lease:
        row = self._db.execute("SELECT * FROM leases WHERE id = ?", (lease_id,)).fetchone()
        if row is None:
            raise errdefs.NotFound(f"lease {lease_id}: not found")
        return _from_row(row)

    async def delete(self, lease_id: str) -> None:
        self.delete_now(lease_id)
        self._on_delete()

    def delete_now(self, lease_id: str) -> None:
        """Delete without scheduling a collection (the collector deletes expired leases itself)."""
        if self._db.execute("DELETE FROM leases WHERE id = ?", (lease_id,)).rowcount == 0:
            raise errdefs.NotFound(f"lease {lease_id}: not found")

    async def list(self) -> list[Lease]:
        return [_from_row(row) for row in self._db.execute("SELECT * FROM leases ORDER BY created_at")]

    async def add_resource(self, lease_id: str, resource: LeaseResource) -> None:
        _check_resource(resource)
        self.add(lease_id, resource.type, resource.id)

    async def delete_resource(self, lease_id: str, resource: LeaseResource) -> None:
        await self.get(lease_id)
        self._db.execute(
            "DELETE FROM lease_resources WHERE lease_id = ? AND type = ? AND id = ?",
            (lease_id, resource.type, resource.id),
        )
        self._on_delete()

    async def resources(self, lease_id: str) -> list[LeaseResource]:
        await self.get(lease_id)
        rows = self._db.execute("SELECT type, id FROM lease_resources WHERE lease_id = ? ORDER BY type, id", (lease_id,))
        return [LeaseResource(row["type"], row["id"]) for row in rows]

    # -- for the plugins ---------------------------------------------------------------------

    def add(self, lease_id: str, resource_type: str, resource_id: str) -> None:
        try:
            self._db.execute(
                "INSERT INTO lease_resources VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                (lease_id, resource_type, resource_id),
            )
        except sqlite3.IntegrityError as err:  # the foreign key: no such lease
            raise errdefs.NotFound(f"lease {lease_id}: not found") from err

    def add_to_current(self, resource_type: str, resource_id: str) -> None:
        """Add a resource just made to the lease of the call making it, if there is one."""
        lease_id = current_lease.get()
        if lease_id:
            self.add(lease_id, resource_type, resource_id)

    def check_current(self) -> None:
        """NotFound before any work when the call's lease is gone (expired and collected): what the
        work would make could not be protected."""
        lease_id = current_lease.get()
        if lease_id and self._db.execute("SELECT 1 FROM leases WHERE id = ?", (lease_id,)).fetchone() is None:
            raise errdefs.NotFound(f"lease {lease_id}: not found")

    def rename_snapshot(self, key: str, name: str) -> None:
        """A commit turns key into name: the leases that held the key hold the name."""
        self._db.execute(
            "UPDATE OR IGNORE lease_resources SET id = ? WHERE type = 'snapshots' AND id = ?", (name, key)
        )
        self.add_to_current("snapshots", name)
