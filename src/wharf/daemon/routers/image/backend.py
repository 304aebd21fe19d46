"""What the image router needs (implemented by backend.images.ImageService + the container service)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any, Protocol

from wharf.containerd.core.distribution import PushOutcome, RegistryAuth
from wharf.daemon.backend.distribution import Send
from wharf.daemon.backend.images import LocalImage
from wharf.oci.reference import Reference


class ImageBackend(Protocol):
    async def list(self) -> list[LocalImage]: ...

    async def resolve(self, ref: str) -> LocalImage: ...

    async def import_tar(self, body: AsyncIterator[bytes], repo: str, tag: str, changes: list[str],
                         message: str, platform_text: str) -> LocalImage: ...

    async def tag(self, source: str, repo: str, tag: str) -> None: ...

    async def delete(self, ref: str, force: bool) -> list[dict[str, str]]: ...

    async def prune(self, all_unused: bool) -> list[dict[str, str]]: ...

    async def prune_reclaiming(self, all_unused: bool, keep: Callable[[LocalImage], bool] | None = None
                               ) -> tuple[list[dict[str, str]], int]: ...

    async def layer_sizes(self, image: LocalImage) -> list[int]: ...

    async def disk_size(self, image: LocalImage) -> int: ...


class DistributionBackend(Protocol):
    async def pull(self, ref: Reference, platform: str, auth: RegistryAuth, send: Send) -> LocalImage: ...

    async def push(self, ref: Reference, auth: RegistryAuth, send: Send) -> PushOutcome: ...

    async def login(self, body: dict[str, Any]) -> dict[str, str]: ...


class ArchiveBackend(Protocol):
    """`docker save` / `docker load` (backend.image_archive.ImageArchives)."""

    async def selection(self, names: list[str]) -> list[tuple[LocalImage, list[str]]]: ...

    def save(self, selection: list[tuple[LocalImage, list[str]]]) -> AsyncIterator[bytes]: ...

    async def load(self, body: AsyncIterator[bytes], send: Send) -> None: ...
