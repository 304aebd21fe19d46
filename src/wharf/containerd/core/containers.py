"""Containers: stored metadata only. A container has no process; a task is its running process."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass
class Container:
    id: str
    image: str
    """The image reference the container was made from (informational)."""
    runtime: str
    """The OCI runtime binary: a name on PATH (`wharf-runc`, `runc`, `crun`) or an absolute path."""
    spec: dict[str, Any]
    """The OCI runtime spec (config.json) except `root.path`, which the bundle sets."""
    snapshot_key: str
    """The snapshot (prepared by the client) that becomes the rootfs."""
    labels: dict[str, str] = field(default_factory=dict)
    created_at: int = 0
    """Nanoseconds since the epoch; set by the store."""
    updated_at: int = 0


class ContainerStore(Protocol):
    async def create(self, container: Container) -> Container:
        """Store a new container; AlreadyExists if the id is taken."""

    async def get(self, container_id: str) -> Container:
        """NotFound if absent."""

    async def list(self, labels: Mapping[str, str] | None = None) -> list[Container]:
        """Oldest first; with `labels`, only the containers carrying every one of them."""

    async def update(self, container: Container) -> Container: ...

    async def delete(self, container_id: str) -> None:
        """NotFound if absent; FailedPrecondition if it still has a task."""
