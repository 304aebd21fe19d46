"""What the volume routes need from the daemon."""

from __future__ import annotations

from typing import Any, Protocol


class VolumeBackend(Protocol):
    def list(self, raw_filters: dict[str, Any]) -> dict[str, Any]: ...

    def inspect(self, name: str) -> dict[str, Any]: ...

    def create(self, body: Any) -> dict[str, Any]: ...

    def remove(self, name: str, force: bool) -> None: ...

    def prune(self, raw_filters: dict[str, Any]) -> dict[str, Any]: ...
