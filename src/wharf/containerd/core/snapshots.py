"""Snapshots: layered filesystems (overlayfs). Keys name active snapshots, names committed ones."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Protocol


class SnapshotKind(enum.StrEnum):
    VIEW = "view"
    ACTIVE = "active"
    COMMITTED = "committed"


@dataclass
class Mount:
    """What to pass to mount(2): `mount -t type source target -o options`."""

    type: str
    source: str
    options: list[str] = field(default_factory=list)


@dataclass
class SnapshotInfo:
    name: str
    parent: str
    kind: SnapshotKind
    labels: dict[str, str] = field(default_factory=dict)
    created_at: int = 0


class Snapshotter(Protocol):
    async def stat(self, key: str) -> SnapshotInfo: ...

    async def prepare(self, key: str, parent: str = "", labels: dict[str, str] | None = None) -> list[Mount]:
        """A writable snapshot over `parent` (a committed name, or "" for an empty one)."""

    async def view(self, key: str, parent: str = "") -> list[Mount]: ...

    async def mounts(self, key: str) -> list[Mount]: ...

    async def commit(self, name: str, key: str) -> None: ...

    async def remove(self, key: str) -> None:
        """FailedPrecondition if other snapshots have it as parent."""

    async def list(self) -> list[SnapshotInfo]: ...

    async def usage(self, key: str) -> int:
        """Bytes used by this snapshot's own layer."""
