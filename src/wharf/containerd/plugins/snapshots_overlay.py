"""The overlayfs snapshotter: `<root>/snapshots/<id>/fs` (the layer) and `work` (overlay's workdir).

Records (key, parent, kind) live in the metadata database; the directory is named by the record's id,
so commit (key -> name) is a rename of the record only. A snapshot with no parent mounts as a bind of
its `fs`; with parents, as overlay with the parents' `fs` dirs as lowerdir (nearest first)."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sqlite3
import time
from pathlib import Path

from wharf import errdefs
from wharf.containerd.core.leases import SNAPSHOTS
from wharf.containerd.core.snapshots import Mount, SnapshotInfo, SnapshotKind
from wharf.containerd.plugins.metadata_sqlite import MetadataDB, SqliteLeaseManager


class OverlaySnapshotter:
    def __init__(self, root: Path, db: MetadataDB, leases: SqliteLeaseManager | None = None) -> None:
        self._leases = leases
        self._dir = root / "snapshots"
        self._dir.mkdir(parents=True, exist_ok=True)
        self._db = db
        self._remove_orphan_dirs()

    # -- queries ----------------------------------------------------------------------------

    def _row(self, key: str) -> sqlite3.Row:
        row = self._db.execute("SELECT * FROM snapshots WHERE key = ?", (key,)).fetchone()
        if row is None:
            raise errdefs.NotFound(f"snapshot {key}: not found")
        return row

    def dir_of(self, snapshot_id: int) -> Path:
        """The directory of the snapshot record `snapshot_id` (for the garbage collector)."""
        return self._dir / str(snapshot_id)

    def hold(self, key: str) -> None:
        """Add an existing snapshot to the lease of the current call (an unpack that reuses a layer)."""
        if self._leases is not None:
            self._row(key)
            self._leases.add_to_current(SNAPSHOTS, key)

    def _fs(self, snapshot_id: int) -> Path:
        return self._dir / str(snapshot_id) / "fs"

    def _lowerdirs(self, parent: str) -> list[str]:
        """The `fs` dirs of `parent` and its ancestors, nearest first."""
        dirs: list[str] = []
        while parent:
            row = self._row(parent)
            dirs.append(str(self._fs(row["id"])))
            parent = row["parent"]
        return dirs

    def upper_and_lowers(self, key: str) -> tuple[Path, list[Path]]:
        """The writable layer dir of an active snapshot and its parents' dirs (for the unpacker)."""
        row = self._row(key)
        return self._fs(row["id"]), [Path(d) for d in self._lowerdirs(row["parent"])]

    async def stat(self, key: str) -> SnapshotInfo:
        row = self._row(key)
        return SnapshotInfo(
            name=row["key"],
            parent=row["parent"],
            kind=SnapshotKind(row["kind"]),
            labels=json.loads(row["labels"]),
            created_at=row["created_at"],
        )

    async def list(self) -> list[SnapshotInfo]:
        keys = [row["key"] for row in self._db.execute("SELECT key FROM snapshots ORDER BY id")]
        return [await self.stat(key) for key in keys]

    async def mounts(self, key: str) -> list[Mount]:
        row = self._row(key)
        kind = SnapshotKind(row["kind"])
        lowers = self._lowerdirs(row["parent"])
        if kind == SnapshotKind.VIEW:
            if len(lowers) == 1:
                return [Mount("bind", lowers[0], ["ro", "rbind"])]
            if not lowers:
                return [Mount("bind", str(self._fs(row["id"])), ["ro", "rbind"])]
            return [Mount("overlay", "overlay", ["ro", f"lowerdir={':'.join(lowers)}"])]
        readonly = "ro" if kind == SnapshotKind.COMMITTED else "rw"
        if not lowers or kind == SnapshotKind.COMMITTED:
            if kind == SnapshotKind.COMMITTED and lowers:
                # A committed snapshot mounts as what it is: its layer over its parents, read-only.
                return [
                    Mount("overlay", "overlay", ["ro", f"lowerdir={':'.join([str(self._fs(row['id'])), *lowers])}"])
                ]
            return [Mount("bind", str(self._fs(row["id"])), [readonly, "rbind"])]
        base = self._dir / str(row["id"])
        return [
            Mount(
                "overlay",
                "overlay",
                [f"workdir={base / 'work'}", f"upperdir={base / 'fs'}", f"lowerdir={':'.join(lowers)}"],
            )
        ]

    async def usage(self, key: str) -> int:
        return await asyncio.to_thread(_disk_usage, self._fs(self._row(key)["id"]))

    # -- changes ----------------------------------------------------------------------------

    async def prepare(self, key: str, parent: str = "", labels: dict[str, str] | None = None) -> list[Mount]:
        self._create(key, parent, SnapshotKind.ACTIVE, labels or {})
        return await self.mounts(key)

    async def view(self, key: str, parent: str = "") -> list[Mount]:
        self._create(key, parent, SnapshotKind.VIEW, {})
        return await self.mounts(key)

    def _create(self, key: str, parent: str, kind: SnapshotKind, labels: dict[str, str]) -> None:
        if not key:
            raise errdefs.InvalidArgument("snapshot key must not be empty")
        if parent and SnapshotKind(self._row(parent)["kind"]) != SnapshotKind.COMMITTED:
            raise errdefs.InvalidArgument(f"snapshot {parent}: parent is not committed")
        if self._leases is not None:
            self._leases.check_current()
        with self._db:  # one transaction: the record exists only if its directories do
            self._db.execute("BEGIN IMMEDIATE")
            try:
                cursor = self._db.execute(
                    "INSERT INTO snapshots (key, parent, kind, labels, created_at) VALUES (?, ?, ?, ?, ?)",
                    (key, parent, kind.value, json.dumps(labels), time.time_ns()),
                )
            except sqlite3.IntegrityError as err:
                raise errdefs.AlreadyExists(f"snapshot {key}: already exists") from err
            base = self._dir / str(cursor.lastrowid)
            shutil.rmtree(base, ignore_errors=True)
            (base / "fs").mkdir(parents=True)
            (base / "work").mkdir()
            os.chmod(base / "fs", 0o755)
            if self._leases is not None:
                self._leases.add_to_current(SNAPSHOTS, key)

    async def commit(self, name: str, key: str) -> None:
        row = self._row(key)
        if SnapshotKind(row["kind"]) != SnapshotKind.ACTIVE:
            raise errdefs.FailedPrecondition(f"snapshot {key}: only an active snapshot can be committed")
        try:
            self._db.execute(
                "UPDATE snapshots SET key = ?, kind = ? WHERE id = ?", (name, SnapshotKind.COMMITTED.value, row["id"])
            )
        except sqlite3.IntegrityError as err:
            raise errdefs.AlreadyExists(f"snapshot {name}: already exists") from err
        if self._leases is not None:
            self._leases.rename_snapshot(key, name)
        shutil.rmtree(self._dir / str(row["id"]) / "work", ignore_errors=True)

    async def remove(self, key: str) -> None:
        row = self._row(key)
        child = self._db.execute("SELECT key FROM snapshots WHERE parent = ? LIMIT 1", (key,)).fetchone()
        if child is not None:
            raise errdefs.FailedPrecondition(f"snapshot {key}: has a child snapshot {child['key']}")
        self._db.execute("DELETE FROM snapshots WHERE id = ?", (row["id"],))
        self._db.execute("DELETE FROM lease_resources WHERE type = ? AND id = ?", (SNAPSHOTS, key))
        await asyncio.to_thread(shutil.rmtree, self._dir / str(row["id"]), True)

    def _remove_orphan_dirs(self) -> None:
        """Dirs whose record is gone (a crash between the record's removal and the dir's)."""
        known = {str(row["id"]) for row in self._db.execute("SELECT id FROM snapshots")}
        for entry in os.listdir(self._dir):
            if entry not in known:
                shutil.rmtree(self._dir / entry, ignore_errors=True)


def _disk_usage(path: Path) -> int:
    total = 0
    seen: set[tuple[int, int]] = set()
    for dirpath, dirnames, filenames in os.walk(path):
        for name in dirnames + filenames:
            st = os.lstat(os.path.join(dirpath, name))
            if (st.st_dev, st.st_ino) in seen:
                continue
            seen.add((st.st_dev, st.st_ino))
            total += st.st_blocks * 512
    return total
