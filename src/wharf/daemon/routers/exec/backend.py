"""What the exec router needs (implemented by backend.exec.ExecService)."""

from __future__ import annotations

from typing import Any, Protocol

from wharf.daemon.backend.attach import ClientConnection
from wharf.daemon.backend.exec import ExecRecord


class ExecBackend(Protocol):
    async def create(self, ref: str, body: Any) -> str: ...

    def get(self, exec_id: str) -> ExecRecord: ...

    def check_startable(self, exec_id: str) -> ExecRecord: ...

    async def start_detached(self, exec_id: str, console_size: tuple[int, int] | None = None) -> None: ...

    async def start_attached(
        self, exec_id: str, client: ClientConnection, console_size: tuple[int, int] | None = None,
        raw_stream: bool | None = None,
    ) -> None: ...

    async def resize(self, exec_id: str, width: int, height: int) -> None: ...
