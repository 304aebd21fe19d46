"""What the build router needs (implemented by builder.service.BuildService)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Protocol

from wharf.daemon.builder.commit import CommitRequest
from wharf.daemon.builder.evaluator import BuildOptions

Send = Callable[[dict[str, Any]], Awaitable[None]]


class BuildBackend(Protocol):
    async def build(self, body: AsyncIterator[bytes], options: BuildOptions, send: Send) -> str:
        """Build from a context tar; the image id. Errors are errdefs categories."""

    async def prune(self, all_cache: bool) -> tuple[list[str], int]:
        """Forget cache entries; (ids removed, bytes reclaimed)."""

    async def commit(self, request: CommitRequest) -> str:
        """`docker commit`: the new image's id."""
