"""Supervisor metadata in SQLite (WAL): containers, images, snapshot records, content labels.
The schema and its migrations are in `schema.py`."""

from wharf.containerd.plugins.metadata_sqlite.containers import SqliteContainerStore
from wharf.containerd.plugins.metadata_sqlite.db import MetadataDB, open_db
from wharf.containerd.plugins.metadata_sqlite.images import SqliteImageStore

__all__ = ["MetadataDB", "SqliteContainerStore", "SqliteImageStore", "open_db"]
