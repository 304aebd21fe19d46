"""ImageStore over the `images` table."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable

from wharf import errdefs
from wharf.containerd.core.events import TOPIC_IMAGE_CREATE, TOPIC_IMAGE_DELETE, TOPIC_IMAGE_UPDATE
from wharf.containerd.core.images import Image
from wharf.containerd.plugins.metadata_sqlite.db import MetadataDB
from wharf.oci import digest as oci_digest
from wharf.oci.image import Descriptor


def _validate(image: Image) -> None:
    if not image.name:
        raise errdefs.InvalidArgument("image name must not be empty")
    try:
        oci_digest.validate(image.target.digest)
    except ValueError as err:
        raise errdefs.InvalidArgument(f"image {image.name}: {err}") from err


def _from_row(row: sqlite3.Row) -> Image:
    return Image(
        name=row["name"],
        target=Descriptor.from_json(json.loads(row["target"])),
        labels=json.loads(row["labels"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


class SqliteImageStore:
    def __init__(self, db: MetadataDB, on_delete: Callable[[], None] = lambda: None,
                 on_change: Callable[[str, str], None] = lambda topic, name: None) -> None:
        self._db = db
        self._on_delete = on_delete
        """Called after an image is deleted or retargeted: what it referenced may now be garbage."""
        self._on_change = on_change
        """Called with the event topic and the image's name after each change (clients keep copies)."""

    async def get(self, name: str) -> Image:
        row = self._db.execute("SELECT * FROM images WHERE name = ?", (name,)).fetchone()
        if row is None:
            raise errdefs.NotFound(f"image {name}: not found")
        self._on_delete()
        return _from_row(row)

    async def list(self) -> list[Image]:
        return [_from_row(row) for row in self._db.execute("SELECT * FROM images ORDER BY name")]

    async def create(self, image: Image) -> Image:
        _validate(image)
        now = time.time_ns()
        try:
            self._db.execute(
                "INSERT INTO images VALUES (?, ?, ?, ?, ?)",
                (image.name, json.dumps(image.target.to_json()), json.dumps(image.labels), now, now),
            )
        except sqlite3.IntegrityError as err:
            raise errdefs.AlreadyExists(f"image {image.name}: already exists") from err
        self._on_change(TOPIC_IMAGE_CREATE, image.name)
        return Image(image.name, image.target, dict(image.labels), now, now)

    async def update(self, image: Image) -> Image:
        _validate(image)
        now = time.time_ns()
        row = self._db.execute(
            "INSERT INTO images VALUES (?, ?, ?, ?, ?) ON CONFLICT(name) DO UPDATE SET"
            " target = excluded.target, labels = excluded.labels, updated_at = excluded.updated_at"
            " RETURNING created_at",
            (image.name, json.dumps(image.target.to_json()), json.dumps(image.labels), now, now),
        ).fetchone()
        self._on_delete()
        self._on_change(TOPIC_IMAGE_UPDATE, image.name)
        return Image(image.name, image.target, dict(image.labels), row["created_at"], now)

    async def delete(self, name: str) -> None:
        if self._db.execute("DELETE FROM images WHERE name = ?", (name,)).rowcount == 0:
            raise errdefs.NotFound(f"image {name}: not found")
        self._on_delete()
        self._on_change(TOPIC_IMAGE_DELETE, name)
