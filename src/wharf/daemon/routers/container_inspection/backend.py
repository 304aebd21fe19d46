"""What the container inspection router needs (implemented by backend.inspection.InspectionService)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import IO, Any, Protocol


class InspectionBackend(Protocol):
    async def top(self, ref: str, ps_args: str) -> dict[str, Any]: ...

    def stats(self, ref: str, stream: bool, one_shot: bool) -> AsyncIterator[dict[str, Any]]: ...

    async def stat_path(self, ref: str, path: str) -> dict[str, Any]: ...

    async def get_archive(self, ref: str, path: str) -> tuple[dict[str, Any], IO[bytes]]: ...

    async def put_archive(
        self, ref: str, path: str, body: IO[bytes], no_overwrite_dir_non_dir: bool, copy_uid_gid: bool
    ) -> None: ...

    async def export(self, ref: str) -> IO[bytes]: ...

    async def changes(self, ref: str) -> list[dict[str, Any]]: ...
