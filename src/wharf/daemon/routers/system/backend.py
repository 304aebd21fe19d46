"""What the system router needs."""

from __future__ import annotations

from typing import Any, Protocol

from wharf.daemon.backend.events import EventSubscription


class SystemBackend(Protocol):
    def version(self) -> dict[str, Any]: ...

    async def info(self) -> dict[str, Any]: ...

    def subscribe_events(self, since_ns: int | None) -> EventSubscription: ...
