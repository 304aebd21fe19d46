"""Blocking layer (de)compression for file-like streams: gzip (isal when installed), zstd, plain."""

from __future__ import annotations

import gzip
from typing import IO, Any

GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


class _Prefixed:
    """A stream whose first bytes were already read (to sniff the format), put back in front."""

    def __init__(self, head: bytes, inner: Any) -> None:
        self._head = head
        self._inner = inner

    def read(self, size: int = -1) -> bytes:
        if self._head:
            if size < 0:
                data, self._head = self._head + self._inner.read(), b""
                return data
            data, self._head = self._head[:size], self._head[size:]
            if len(data) < size:
                data += self._inner.read(size - len(data))
            return data
        return self._inner.read(size)  # type: ignore[no-any-return]

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def readable(self) -> bool:
        return True


def gzip_reader(stream: Any) -> IO[bytes]:
    try:
        from isal import igzip  # the fast path: ISA-L's inflate is several times zlib's
    except ImportError:
        return gzip.GzipFile(fileobj=stream, mode="rb")
    return igzip.IGzipFile(fileobj=stream, mode="rb")  # type: ignore[no-any-return]


def open_decompressed(stream: Any) -> tuple[IO[bytes], str]:
    """The plain tar inside `stream`, and the compression found: "gzip", "zstd" or ""."""
    head = stream.read(4)
    prefixed = _Prefixed(head, stream)
    if head.startswith(GZIP_MAGIC):
        return gzip_reader(prefixed), "gzip"
    if head == ZSTD_MAGIC:
        import zstandard

        return zstandard.ZstdDecompressor().stream_reader(prefixed, read_across_frames=True), "zstd"  # type: ignore[return-value]
    return prefixed, ""  # type: ignore[return-value]
