"""Images: a name bound to a target descriptor (manifest or index) in the content store."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from wharf.oci.image import Descriptor


@dataclass
class Image:
    name: str
    """Full normalised reference, e.g. `docker.io/library/busybox:latest`."""
    target: Descriptor
    labels: dict[str, str] = field(default_factory=dict)
    created_at: int = 0
    updated_at: int = 0


class ImageStore(Protocol):
    async def get(self, name: str) -> Image: ...

    async def list(self) -> list[Image]: ...

    async def create(self, image: Image) -> Image:
        """AlreadyExists if the name is taken."""

    async def update(self, image: Image) -> Image:
        """Create or replace (tags move)."""

    async def delete(self, name: str) -> None: ...


class ImageUnpacker(Protocol):
    async def unpack(self, manifest_digest: str) -> str:
        """Apply the manifest's layers as committed snapshots; returns the top snapshot's name
        (the chain id of the rootfs, `sha256:…`). Idempotent."""
