"""Reading a `docker load` upload as it arrives: each member of the tar goes straight into the content
store (hashed there; compressed members are also decompressed here to learn their diff id), so the
archive is never spooled to disk and never read twice.

Docker archives list `manifest.json` (or `index.json`) last, and legacy ones name layers by v1 id
(`<id>/layer.tar`), so what a member is becomes known only at the end: every regular member is
stored as a blob under the load's lease (core/leases.py), which keeps it from garbage collection.
Then the archive is planned as before (image_archive_reader's checks: paths, symlinks inside the
archive, sizes, JSON, digests, diff ids) over the headers and the stored blobs (`StreamedArchive`).
Members nothing uses are deleted again by the loader, as is everything a refused archive stored.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import queue
import tarfile
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import IO, Any

from wharf import errdefs
from wharf.containerd.core.content import ContentStore
from wharf.daemon.backend.image_archive_reader import (
    _STRICT_FILES,
    MAX_JSON_BYTES,
    ArchiveReader,
    _safe_name,
)
from wharf.daemon.backend.layer_codec import GZIP_MAGIC, ZSTD_MAGIC
from wharf.oci import image as oci

_CHUNK = 1 << 20
KEEP_IN_MEMORY = 1 << 20
"""Members up to this size are also kept in memory (configs, manifests: the planner reads them)."""
_QUEUED = 64
"""Body chunks read ahead of the tar parser."""
_QUEUED_PER_WRITE = 4
WRITES_FINISHING = 3
"""Members whose write may still be finishing (fsync, rename) while the next ones stream."""
MEMORY_BUDGET = 64 << 20
"""At most this much member data is kept in memory; the rest is read back from the store if needed."""


@dataclass
class StoredMember:
    digest: str
    size: int
    diff_id: str
    """The digest of the decompressed bytes (the digest itself for an uncompressed member)."""
    compression: str
    """"", "gzip" or "zstd"."""
    new: bool
    """Not in the content store before this load (a refused load deletes it again)."""
    data: bytes | None = None


class StreamedArchive(ArchiveReader):
    """The planner's view of a streamed archive: the headers, and the members' bytes in the store."""

    def __init__(self, members: dict[str, tarfile.TarInfo], stored: dict[str, StoredMember],
                 strict: dict[str, bytes], fetch: Callable[[str], bytes]) -> None:  # fmt: skip
        # No tar to read from: ArchiveReader's member table is filled from the stream's headers.
        self._members = members
        self.stored = stored
        self.replaced: list[str] = []
        """Digests of new members a later member of the same name replaced (also to delete)."""
        self._strict = strict
        self._fetch = fetch

    def _bytes(self, name: str) -> bytes:
        member = self._resolve(name)
        resolved = _safe_name(member.name)
        if resolved in self._strict:
            return self._strict[resolved]
        stored = self.stored.get(resolved)
        if stored is None:
            raise errdefs.InvalidArgument(f"invalid archive: {name!r} is not a plain file")
        return stored.data if stored.data is not None else self._fetch(stored.digest)

    def open(self, name: str) -> tuple[IO[bytes], int]:
        member = self._resolve(name)
        if member.size > MAX_JSON_BYTES:  # layers are never read back through here
            raise errdefs.InvalidArgument(f"invalid archive: {name} is too large ({member.size} bytes)")
        return io.BytesIO(self._bytes(name)), member.size

    def record(self, name: str, member: StoredMember) -> None:
        self.forget(name)
        self.stored[name] = member

    def forget(self, name: str) -> None:
        """A later member of the same name replaced this one (a new blob of it is to delete too)."""
        replaced = self.stored.pop(name, None)
        if replaced is not None and replaced.new:
            self.replaced.append(replaced.digest)

    def new_digests(self) -> list[str]:
        """Every blob this load stored that was not in the store before."""
        return list(dict.fromkeys([*self.replaced, *(m.digest for m in self.stored.values() if m.new)]))

    def stored_member(self, name: str) -> StoredMember:
        member = self._resolve(name)
        stored = self.stored.get(_safe_name(member.name))
        if stored is None or member.issparse():
            raise errdefs.InvalidArgument("invalid archive: a layer is not a plain file")
        return stored

    def looks_compressed(self, name: str) -> bool:
        return bool(self.stored_member(name).compression)

    def hash_layer(self, name: str) -> tuple[str, int, str, str]:
        stored = self.stored_member(name)
        media_type = {
            "gzip": oci.MEDIA_TYPE_OCI_LAYER_GZIP, "zstd": oci.MEDIA_TYPE_OCI_LAYER_ZSTD,
        }.get(stored.compression, oci.MEDIA_TYPE_OCI_LAYER)  # fmt: skip
        return stored.digest, stored.size, stored.diff_id, media_type


class _BodyReader(io.RawIOBase):
    """A blocking file over the async upload, for tarfile in worker threads. A pump task on the
    event loop queues the body's chunks (at most `_QUEUED` ahead); reads take them off the queue,
    so a chunk costs one cheap wake-up of the loop rather than a round trip through it."""

    def __init__(self, body: AsyncIterator[bytes], loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._chunks: queue.SimpleQueue[bytes | BaseException | None] = queue.SimpleQueue()
        self._room = asyncio.Semaphore(_QUEUED)
        self._buffer = b""
        self._eof = False
        self.pump = loop.create_task(self._pump(body))

    async def _pump(self, body: AsyncIterator[bytes]) -> None:
        try:
            async for chunk in body:
                if chunk:
                    await self._room.acquire()
                    self._chunks.put(chunk)
        except BaseException as err:  # the reader raises it where tarfile reads
            self._chunks.put(err)
            raise
        finally:
            self._chunks.put(None)

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        """Up to `size` bytes (a short read when a chunk ends: tarfile reads again); b"" at the end."""
        if size < 0:
            return b"".join(iter(lambda: self.read(_CHUNK), b""))
        if not self._buffer:
            chunk = self._next_chunk()
            if len(chunk) <= size:
                return chunk  # the common case: no copy
            self._buffer = chunk
        data, self._buffer = self._buffer[:size], self._buffer[size:]
        return data

    def _next_chunk(self) -> bytes:
        if self._eof:
            return b""
        item = self._chunks.get()
        if item is None:
            self._eof = True
            return b""
        if isinstance(item, BaseException):
            self._eof = True
            if isinstance(item, errdefs.WharfError):
                raise item
            raise OSError(f"the upload broke off: {item!r}")
        self._loop.call_soon_threadsafe(self._room.release)
        return item

    def readinto(self, target: Any) -> int:
        data = self.read(len(target))
        target[: len(data)] = data
        return len(data)

    async def close_pump(self) -> None:
        """Stop the pump (a refused archive is not read to its end) and wait for it."""
        self.pump.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self.pump


class _DiffHasher:
    """The diff id of a member, learnt while it streams: decompressed if it starts compressed."""

    def __init__(self) -> None:
        self.compression = ""
        self._hasher = hashlib.sha256()
        self._decompress: Callable[[bytes], bytes] | None = None
        self._started = False

    def update(self, chunk: bytes) -> None:
        if not self._started:
            self._started = True
            if chunk.startswith(GZIP_MAGIC):
                self.compression, self._decompress = "gzip", _gunzip()
            elif chunk.startswith(ZSTD_MAGIC):
                import zstandard

                self.compression = "zstd"
                self._decompress = zstandard.ZstdDecompressor().decompressobj().decompress
        if self._decompress is not None:
            try:
                self._hasher.update(self._decompress(chunk))
            except Exception as err:  # noqa: BLE001 - zlib.error, isal's and zstandard's errors
                raise errdefs.InvalidArgument(f"invalid archive: bad {self.compression} data: {err}") from None

    def diff_id(self, digest: str) -> str:
        return "sha256:" + self._hasher.hexdigest() if self._decompress is not None else digest


def _gunzip() -> Callable[[bytes], bytes]:
    try:
        from isal import isal_zlib

        return isal_zlib.decompressobj(wbits=47).decompress  # type: ignore[no-any-return]
    except ImportError:
        import zlib

        return zlib.decompressobj(wbits=47).decompress


def _read_hashed(stream: IO[bytes], hasher: _DiffHasher) -> bytes:
    chunk = stream.read(_CHUNK)
    if chunk:
        hasher.update(chunk)
    return chunk


def new_archive(content: ContentStore) -> StreamedArchive:
    """An empty archive that `receive` fills; its members' bytes are read back from `content`."""
    loop = asyncio.get_running_loop()
    return StreamedArchive({}, {}, {}, lambda digest: _fetch(loop, content, digest))


async def receive(body: AsyncIterator[bytes], content: ContentStore, archive: StreamedArchive) -> None:
    """Store every regular member of the tar `body` as it arrives, recording it in `archive` (even
    when this fails midway: the caller deletes the `new` members of a refused archive). The caller
    runs this under a lease and deletes the `new` members it does not use."""
    started = time.time_ns()
    reader = _BodyReader(body, asyncio.get_running_loop())
    try:
        await _receive(reader, content, archive, started)
    finally:
        await reader.close_pump()


async def _receive(reader: _BodyReader, content: ContentStore, archive: StreamedArchive, started: int) -> None:
    members, strict = archive._members, archive._strict
    in_memory = 0
    finishing: list[tuple[str, asyncio.Task[StoredMember]]] = []
    """Members read whole whose write is being finished (fsync, rename) while the next one streams."""

    async def settle(at_most: int) -> None:
        while len(finishing) > at_most:
            name, task = finishing.pop(0)
            archive.record(name, await task)

    try:
        tar = await asyncio.to_thread(tarfile.open, fileobj=reader, mode="r|", bufsize=_CHUNK)
    except (tarfile.TarError, EOFError, OSError) as err:
        raise errdefs.InvalidArgument(f"invalid archive: not a tar: {err}") from None
    try:
        with tar:
            entries = iter(tar)
            while True:
                try:
                    member = await asyncio.to_thread(next, entries, None)
                except (tarfile.TarError, EOFError, OSError) as err:
                    raise errdefs.InvalidArgument(f"invalid archive: {err}") from None
                if member is None:
                    break
                name = _safe_name(member.name)
                if (member.issym() or member.islnk()) and member.linkname.startswith("/"):
                    raise errdefs.InvalidArgument(f"invalid archive: {name!r} links to an absolute path")
                if not name:
                    continue
                if any(pending == name for pending, _ in finishing):
                    await settle(0)  # the earlier member of this name is recorded before it is replaced
                members[name] = member
                strict.pop(name, None)  # a later member of the same name replaces the earlier one
                stream = tar.extractfile(member) if member.isreg() and not member.issparse() else None
                if stream is None or name in _STRICT_FILES:
                    archive.forget(name)
                    if stream is not None and member.size <= MAX_JSON_BYTES:  # larger: refused when read
                        strict[name] = await asyncio.to_thread(stream.read)
                    continue
                keep = member.size <= KEEP_IN_MEMORY and in_memory + member.size <= MEMORY_BUDGET
                in_memory += member.size if keep else 0
                finishing.append((name, await _stream_member(content, stream, member, started, keep)))
                await settle(WRITES_FINISHING - 1)
        await settle(0)
    except BaseException:
        # What was stored must be recorded, so that the caller deletes it again.
        for name, task in finishing:
            with contextlib.suppress(Exception, asyncio.CancelledError):
                archive.record(name, await task)
        raise


async def _stream_member(content: ContentStore, stream: IO[bytes], member: tarfile.TarInfo, started: int,
                         keep: bool) -> asyncio.Task[StoredMember]:  # fmt: skip
    """Read the member whole into a write to the content store; the task finishing that write."""
    hasher = _DiffHasher()
    kept: list[bytes] = []
    pipe: asyncio.Queue[bytes | None] = asyncio.Queue(maxsize=_QUEUED_PER_WRITE)

    async def chunks() -> AsyncIterator[bytes]:
        while (chunk := await pipe.get()) is not None:
            yield chunk

    async def write() -> StoredMember:
        info = await content.write(chunks())
        return StoredMember(info.digest, info.size, hasher.diff_id(info.digest), hasher.compression,
                            new=info.created_at >= started, data=b"".join(kept) if keep else None)  # fmt: skip

    writer = asyncio.ensure_future(write())

    async def send(item: bytes | None) -> None:
        put = asyncio.ensure_future(pipe.put(item))
        await asyncio.wait({put, writer}, return_when=asyncio.FIRST_COMPLETED)
        if not put.done():  # the write failed: its error is the one to raise
            put.cancel()
            await writer

    received = 0
    try:
        while chunk := await asyncio.to_thread(_read_hashed, stream, hasher):
            received += len(chunk)
            if keep:
                kept.append(chunk)
            await send(chunk)
        if received != member.size:
            raise errdefs.InvalidArgument(f"invalid archive: {member.name} is cut short")
        await send(None)
    except BaseException as err:
        writer.cancel()
        with contextlib.suppress(Exception, asyncio.CancelledError):
            await writer
        if isinstance(err, (tarfile.TarError, EOFError, OSError, errdefs.InvalidArgument)):
            message = str(err).removeprefix("invalid archive: ")
            raise errdefs.InvalidArgument(f"invalid archive: {member.name}: {message}") from None
        raise
    return writer


def _fetch(loop: asyncio.AbstractEventLoop, content: ContentStore, digest: str) -> bytes:
    """A stored member's bytes, for the planner in its worker thread."""
    return asyncio.run_coroutine_threadsafe(content.read(digest), loop).result()
