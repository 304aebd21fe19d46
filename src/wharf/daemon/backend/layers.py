"""Layer streams: a tar that may arrive gzip, bzip2, xz or zstd compressed, made plain on the fly."""

from __future__ import annotations

import bz2
import lzma
import zlib
from collections.abc import AsyncIterator
from typing import Protocol

from wharf import errdefs


class _Decompressor(Protocol):
    def decompress(self, data: bytes) -> bytes: ...


class _Plain:
    def decompress(self, data: bytes) -> bytes:
        return data


def _decompressor_for(head: bytes) -> _Decompressor:
    if head.startswith(b"\x1f\x8b"):
        try:
            from isal import isal_zlib  # ISA-L: several times zlib's speed (bench/gzip_codecs.py)
        except ImportError:
            return zlib.decompressobj(wbits=47)  # gzip framing
        return isal_zlib.decompressobj(wbits=47)  # type: ignore[no-any-return]
    if head.startswith(b"BZh"):
        return bz2.BZ2Decompressor()
    if head.startswith(b"\xfd7zXZ\x00"):
        return lzma.LZMADecompressor()
    if head.startswith(b"\x28\xb5\x2f\xfd"):
        try:
            import zstandard
        except ImportError:
            raise errdefs.NotImplementedYet("zstd-compressed archives need the zstandard module") from None
        return zstandard.ZstdDecompressor().decompressobj()  # type: ignore[no-any-return]
    return _Plain()


async def decompressed(chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    head = b""
    decompressor: _Decompressor | None = None
    async for chunk in chunks:
        if decompressor is None:
            head += chunk
            if len(head) < 6:
                continue
            decompressor, chunk, head = _decompressor_for(head), head, b""
        data = decompressor.decompress(chunk)
        if data:
            yield data
    if decompressor is None and head:
        yield _decompressor_for(head).decompress(head)
