"""Opening `<root>/wharf.db`: WAL mode, migrations applied."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from wharf.containerd.plugins.metadata_sqlite.schema import MIGRATIONS

MetadataDB = sqlite3.Connection


def open_db(path: Path) -> MetadataDB:
    """One connection shared by the stores. Statements are small and indexed, so they run on the
    event loop's thread; WAL with synchronous=NORMAL keeps commits free of fsync waits while a crash
    still leaves the last committed state."""
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    db.row_factory = sqlite3.Row
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("PRAGMA foreign_keys=ON")
    _migrate(db)
    return db


def _migrate(db: MetadataDB) -> None:
    applied = db.execute("PRAGMA user_version").fetchone()[0]
    for number, script in enumerate(MIGRATIONS[applied:], start=applied + 1):
        # executescript commits first; run the migration and the version bump as one transaction.
        db.executescript(f"BEGIN IMMEDIATE;\n{script}\nPRAGMA user_version = {number};\nCOMMIT;")
