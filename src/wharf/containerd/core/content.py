"""The content store: blobs addressed by digest, written atomically and verified."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Protocol


@dataclass
class ContentInfo:
    digest: str
    size: int
    created_at: int = 0
    labels: dict[str, str] = field(default_factory=dict)


class ContentStore(Protocol):
    async def info(self, digest: str) -> ContentInfo:
        """NotFound if absent."""

    async def read(self, digest: str) -> bytes:
        """The whole blob (for manifests and configs)."""

    def read_chunks(self, digest: str, chunk_size: int = 1 << 20) -> AsyncIterator[bytes]:
        """The blob as a stream (for layers)."""

    async def write(
        self, chunks: AsyncIterator[bytes], expected: str | None = None, labels: dict[str, str] | None = None
    ) -> ContentInfo:
        """Store a blob. With `expected`, a digest mismatch is InvalidArgument and nothing is stored."""

    async def delete(self, digest: str) -> None: ...

    async def list(self) -> list[ContentInfo]: ...
