"""The content store on local disk: `<root>/content/blobs/sha256/<hex>`.

A blob is written to a temp file under `<root>/content/ingest/`, hashed as it arrives, checked against
the expected digest, fsynced and renamed into place: a blob that is visible is whole and verified.
Labels live in the metadata database. A blob written under a lease (core/leases.py) is added to it."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import BinaryIO

from wharf import errdefs
from wharf.containerd.core.content import ContentInfo
from wharf.containerd.core.leases import CONTENT
from wharf.containerd.plugins.metadata_sqlite import MetadataDB, SqliteLeaseManager
from wharf.oci import digest as oci_digest


def _checked(digest: str) -> str:
    try:
        return oci_digest.hex_of(digest)
    except ValueError as err:
        raise errdefs.InvalidArgument(str(err)) from err


class LocalContentStore:
    def __init__(self, root: Path, db: MetadataDB, leases: SqliteLeaseManager | None = None) -> None:
        self._leases = leases
        self._blobs = root / "content" / "blobs" / "sha256"
        self._ingest = root / "content" / "ingest"
        self._blobs.mkdir(parents=True, exist_ok=True)
        self._ingest.mkdir(parents=True, exist_ok=True)
        self._db = db
        for leftover in self._ingest.glob("ingest-*"):  # writes cut short by a crash: never published
            leftover.unlink(missing_ok=True)

    def blob_path(self, digest: str) -> Path:
        """Where the blob lives (for in-process readers such as the unpacker)."""
        return self._blobs / _checked(digest)

    async def info(self, digest: str) -> ContentInfo:
        path = self.blob_path(digest)
        try:
            st = path.stat()
        except FileNotFoundError as err:
            raise errdefs.NotFound(f"content {digest}: not found") from err
        row = self._db.execute("SELECT labels, created_at FROM content WHERE digest = ?", (digest,)).fetchone()
        labels = json.loads(row["labels"]) if row else {}
        created_at = row["created_at"] if row else st.st_mtime_ns
        return ContentInfo(digest=digest, size=st.st_size, created_at=created_at, labels=labels)

    async def read(self, digest: str) -> bytes:
        path = self.blob_path(digest)
        try:
            return await asyncio.to_thread(path.read_bytes)
        except FileNotFoundError as err:
            raise errdefs.NotFound(f"content {digest}: not found") from err

    async def read_chunks(self, digest: str, chunk_size: int = 1 << 20) -> AsyncIterator[bytes]:
        path = self.blob_path(digest)
        try:
            blob = open(path, "rb")  # noqa: SIM115 - closed below, across awaits
        except FileNotFoundError as err:
            raise errdefs.NotFound(f"content {digest}: not found") from err
        with blob:
            while chunk := await asyncio.to_thread(blob.read, chunk_size):
                yield chunk

    async def write(
        self, chunks: AsyncIterator[bytes], expected: str | None = None, labels: dict[str, str] | None = None
    ) -> ContentInfo:
        if expected is not None:
            _checked(expected)
        if self._leases is not None:
            self._leases.check_current()
        fd, temp_name = tempfile.mkstemp(dir=self._ingest, prefix="ingest-")
        temp = Path(temp_name)
        try:
            hasher = hashlib.sha256()
            size = 0
            with os.fdopen(fd, "wb") as out:
                async for chunk in chunks:
                    size += len(chunk)
                    # Hash in the worker too: both release the GIL, so concurrent writes overlap.
                    await asyncio.to_thread(_hash_and_write, hasher, out, chunk)
                await asyncio.to_thread(_flush_and_sync, out)
            digest = "sha256:" + hasher.hexdigest()
            if expected is not None and expected != digest:
                raise errdefs.InvalidArgument(f"unexpected commit digest {digest}, expected {expected}")
            final = self._blobs / hasher.hexdigest()
            await asyncio.to_thread(_publish, temp, final)
        finally:
            with contextlib.suppress(FileNotFoundError):
                temp.unlink()
        now = time.time_ns()
        self._db.execute(
            "INSERT INTO content VALUES (?, ?, ?) ON CONFLICT(digest) DO UPDATE SET labels = excluded.labels"
            if labels
            else "INSERT INTO content VALUES (?, ?, ?) ON CONFLICT(digest) DO NOTHING",
            (digest, json.dumps(labels or {}), now),
        )
        if self._leases is not None:
            # After the rename, in the same event-loop step as the row: the collector runs on this
            # loop too, so it never sees the blob published but not yet leased.
            self._leases.add_to_current(CONTENT, digest)
        return await self.info(digest)

    async def delete(self, digest: str) -> None:
        try:
            self.blob_path(digest).unlink()
        except FileNotFoundError as err:
            raise errdefs.NotFound(f"content {digest}: not found") from err
        self._db.execute("DELETE FROM content WHERE digest = ?", (digest,))
        self._db.execute("DELETE FROM lease_resources WHERE type = ? AND id = ?", (CONTENT, digest))

    async def list(self) -> list[ContentInfo]:
        names = await asyncio.to_thread(os.listdir, self._blobs)
        return [await self.info(f"sha256:{name}") for name in sorted(names)]


def _hash_and_write(hasher: hashlib._Hash, out: BinaryIO, chunk: bytes) -> None:
    hasher.update(chunk)
    out.write(chunk)


def _flush_and_sync(out: BinaryIO) -> None:
    out.flush()
    os.fsync(out.fileno())


def _publish(temp: Path, final: Path) -> None:
    """Rename into place, then fsync the directory so the name survives a crash."""
    os.chmod(temp, 0o444)
    os.replace(temp, final)
    dir_fd = os.open(final.parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
