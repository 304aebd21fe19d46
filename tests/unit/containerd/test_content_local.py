"""The local content store: atomic, verified writes; a mismatch stores nothing."""

import asyncio
import hashlib
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from wharf import errdefs
from wharf.containerd.plugins.content_local import LocalContentStore
from wharf.containerd.plugins.metadata_sqlite import open_db


async def _chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


def _store(tmp_path: Path) -> LocalContentStore:
    return LocalContentStore(tmp_path, open_db(tmp_path / "wharf.db"))


def test_write_read_info_list_delete(tmp_path: Path) -> None:
    async def scenario() -> None:
        store = _store(tmp_path)
        data = os.urandom(3 << 20)
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        info = await store.write(_chunks(data[:100], data[100:]), expected=digest, labels={"x": "y"})
        assert (info.digest, info.size, info.labels) == (digest, len(data), {"x": "y"})
        assert (tmp_path / "content" / "blobs" / "sha256" / digest[7:]).read_bytes() == data
        assert await store.read(digest) == data
        assert b"".join([c async for c in store.read_chunks(digest, 1 << 16)]) == data
        assert [i.digest for i in await store.list()] == [digest]
        assert os.listdir(tmp_path / "content" / "ingest") == []
        await store.delete(digest)
        with pytest.raises(errdefs.NotFound):
            await store.info(digest)
        with pytest.raises(errdefs.NotFound):
            await store.read(digest)

    asyncio.run(scenario())


def test_digest_mismatch_stores_nothing(tmp_path: Path) -> None:
    async def scenario() -> None:
        store = _store(tmp_path)
        wrong = "sha256:" + "0" * 64
        with pytest.raises(errdefs.InvalidArgument, match="unexpected commit digest"):
            await store.write(_chunks(b"hello"), expected=wrong)
        assert os.listdir(tmp_path / "content" / "blobs" / "sha256") == []
        assert os.listdir(tmp_path / "content" / "ingest") == []

    asyncio.run(scenario())


def test_failed_stream_leaves_no_partial_blob(tmp_path: Path) -> None:
    async def broken() -> AsyncIterator[bytes]:
        yield b"partial data"
        raise ConnectionError("client went away")

    async def scenario() -> None:
        store = _store(tmp_path)
        with pytest.raises(ConnectionError):
            await store.write(broken())
        assert os.listdir(tmp_path / "content" / "blobs" / "sha256") == []
        assert os.listdir(tmp_path / "content" / "ingest") == []

    asyncio.run(scenario())


def test_bad_digests_are_invalid_arguments(tmp_path: Path) -> None:
    async def scenario() -> None:
        store = _store(tmp_path)
        for bad in ("sha256:../../etc/passwd", "md5:" + "0" * 32, "nope"):
            with pytest.raises(errdefs.InvalidArgument):
                await store.info(bad)

    asyncio.run(scenario())
