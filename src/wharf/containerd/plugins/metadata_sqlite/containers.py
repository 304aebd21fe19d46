"""ContainerStore over the `containers` table."""

from __future__ import annotations

import json
import re
import sqlite3
import time
from collections.abc import Callable, Mapping

from wharf import errdefs
from wharf.containerd.core.containers import Container
from wharf.containerd.plugins.metadata_sqlite.db import MetadataDB

# containerd's identifier grammar: ids name directories (bundles, shim state), so no `/` or `..`.
_IDENTIFIER = re.compile(r"^[A-Za-z0-9]+(?:[._-][A-Za-z0-9]+)*$")
_IDENTIFIER_MAX = 76


def _validate(container: Container) -> None:
    if not _IDENTIFIER.match(container.id) or len(container.id) > _IDENTIFIER_MAX:
        raise errdefs.InvalidArgument(
            f"container id {container.id!r}: must be 1-{_IDENTIFIER_MAX} letters and digits,"
            " separated by single '.', '_' or '-'"
        )


def _from_row(row: sqlite3.Row) -> Container:
    return Container(
        id=row["id"],
        image=row["image"],
        runtime=row["runtime"],
        spec=json.loads(row["spec"]),
        snapshot_key=row["snapshot_key"],
        labels=json.loads(row["labels"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


class SqliteContainerStore:
    def __init__(self, db: MetadataDB, has_task: Callable[[str], bool] = lambda _id: False,
                 on_delete: Callable[[], None] = lambda: None) -> None:  # fmt: skip
        self._db = db
        self._has_task = has_task
        self._on_delete = on_delete
        """Called after a container is deleted: its snapshot may now be garbage."""

    async def create(self, container: Container) -> Container:
        _validate(container)
        now = time.time_ns()
        stored = Container(**{**vars(container), "created_at": now, "updated_at": now})
        try:
            self._db.execute(
                "INSERT INTO containers VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    stored.id,
                    stored.image,
                    stored.runtime,
                    json.dumps(stored.spec),
                    stored.snapshot_key,
                    json.dumps(stored.labels),
                    now,
                    now,
                ),
            )
        except sqlite3.IntegrityError as err:
            raise errdefs.AlreadyExists(f"container {container.id}: already exists") from err
        return stored

    async def get(self, container_id: str) -> Container:
        row = self._db.execute("SELECT * FROM containers WHERE id = ?", (container_id,)).fetchone()
        if row is None:
            raise errdefs.NotFound(f"container {container_id}: not found")
        return _from_row(row)

    async def list(self, labels: Mapping[str, str] | None = None) -> list[Container]:
        # The label test runs in SQLite (json_each copes with any key, dots and quotes included):
        # the specs of the containers left out are never decoded.
        wanted = list((labels or {}).items())
        tests = " AND ".join(
            ["EXISTS (SELECT 1 FROM json_each(containers.labels) WHERE key = ? AND value = ?)"] * len(wanted)
        )
        query = f"SELECT * FROM containers {'WHERE ' + tests if tests else ''} ORDER BY created_at"
        return [_from_row(row) for row in self._db.execute(query, [part for pair in wanted for part in pair])]

    async def update(self, container: Container) -> Container:
        _validate(container)
        current = await self.get(container.id)
        stored = Container(**{**vars(container), "created_at": current.created_at, "updated_at": time.time_ns()})
        self._db.execute(
            "UPDATE containers SET image = ?, runtime = ?, spec = ?, snapshot_key = ?, labels = ?, updated_at = ?"
            " WHERE id = ?",
            (
                stored.image,
                stored.runtime,
                json.dumps(stored.spec),
                stored.snapshot_key,
                json.dumps(stored.labels),
                stored.updated_at,
                stored.id,
            ),
        )
        return stored

    async def delete(self, container_id: str) -> None:
        await self.get(container_id)
        if self._has_task(container_id):
            raise errdefs.FailedPrecondition(f"container {container_id}: has a task, delete the task first")
        self._db.execute("DELETE FROM containers WHERE id = ?", (container_id,))
        self._on_delete()
