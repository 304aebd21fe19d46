"""Supervisor metadata in SQLite (WAL): containers, images, snapshot records, content labels,
leases.
The schema and its migrations are in `schema.py`."""

from wharf.containerd.plugins.metadata_sqlite.containers import SqliteContainerStore
from wharf.containerd.plugins.metadata_sqlite.db import MetadataDB, open_db
from wharf.containerd.plugins.metadata_sqlite.images import SqliteImageStore
from wharf.containerd.plugins.metadata_sqlite.leases import SqliteLeaseManager

__all__ = ["MetadataDB", "SqliteContainerStore", "SqliteImageStore", "SqliteLeaseManager", "open_db"]
