"""`docker system df` (`GET /system/df`): what images, containers and volumes take on disk.

Sizes are measured, not estimated: an image layer is its unpacked snapshot, a container's SizeRw its
writable snapshot, a volume its data dir. A layer is counted once in LayersSize however many images
share it; an image's SharedSize is the part of it other images also use."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections import Counter
from collections.abc import Callable
from typing import Any

from wharf import errdefs
from wharf.daemon.backend.container_view import summary as container_summary
from wharf.daemon.backend.containers import ContainerService
from wharf.daemon.backend.images import ImageService, chain_ids
from wharf.daemon.backend.supervisor import Supervisor

DF_TYPES = frozenset({"container", "image", "volume", "build-cache"})


def directory_size(path: str) -> int:
    """Bytes in the regular files under `path`, each inode once (hardlinks), symlinks not followed."""
    seen: set[tuple[int, int]] = set()
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            with contextlib.suppress(OSError):
                st = os.lstat(os.path.join(root, name))
                if (st.st_dev, st.st_ino) not in seen:
                    seen.add((st.st_dev, st.st_ino))
                    total += st.st_size
    return total


class DiskUsage:
    def __init__(self, supervisor: Supervisor, images: ImageService, containers: ContainerService,
                 volumes: Callable[[], Any] | None = None) -> None:
        self._supervisor = supervisor
        self._images = images
        self._containers = containers
        self._volumes = volumes
        """Returns the volume store (VolumeStore), when wharfd has one."""

    async def report(self, types: list[str]) -> dict[str, Any]:
        unknown = set(types) - DF_TYPES
        if unknown:
            raise errdefs.InvalidArgument(f"unknown object type: {sorted(unknown)[0]}")
        wanted = set(types) or DF_TYPES
        out: dict[str, Any] = {}
        records = self._containers.all()
        if "image" in wanted:
            out.update(await self._images_usage(Counter(r.image_id for r in records)))
        if "container" in wanted:
            out["Containers"] = [await self._container_usage(record) for record in records]
        if "volume" in wanted:
            out["Volumes"] = await self._volumes_usage()
        if "build-cache" in wanted:
            out["BuildCache"] = []
        return out

    async def _images_usage(self, users: Counter[str]) -> dict[str, Any]:
        images = await self._images.list()
        chains_by_image = {image.id: chain_ids(image.diff_ids) for image in images}
        sharing = Counter(chain for chains in chains_by_image.values() for chain in set(chains))
        layer_size: dict[str, int] = {}
        summaries = []
        for image in images:
            sizes = await self._images.layer_sizes(image)
            chains = chains_by_image[image.id]
            for chain, size in zip(chains, sizes, strict=False):
                layer_size[chain] = size
            shared = sum(size for chain, size in zip(chains, sizes, strict=False) if sharing[chain] > 1)
            total = sum(sizes)
            summaries.append({
                "Id": image.id, "ParentId": "", "RepoTags": image.repo_tags, "RepoDigests": image.repo_digests,
                "Created": image.created // 1_000_000_000, "Size": total, "SharedSize": shared,
                "VirtualSize": total, "Labels": image.labels, "Containers": users.get(image.id, 0),
            })  # fmt: skip
        return {"LayersSize": sum(layer_size.values()), "Images": summaries}

    async def _container_usage(self, record: Any) -> dict[str, Any]:
        item = container_summary(record)
        item["SizeRw"], item["SizeRootFs"] = await self.container_sizes(record)
        return item

    async def container_sizes(self, record: Any) -> tuple[int, int]:
        """(SizeRw, SizeRootFs): the container's writable layer, and that plus its image's layers."""
        try:
            size_rw = await self._supervisor.snapshots.usage(record.id)
        except errdefs.NotFound:
            size_rw = 0
        image_size = 0
        with contextlib.suppress(errdefs.NotFound, errdefs.InvalidArgument):
            image_size = await self._images.disk_size(await self._images.resolve(record.image_id))
        return size_rw, size_rw + image_size

    async def _volumes_usage(self) -> list[dict[str, Any]]:
        store = self._volumes() if self._volumes is not None else None
        if store is None:
            return []
        out = []
        for volume in store.list():
            item = volume.inspect()
            size = await asyncio.to_thread(directory_size, volume.mountpoint)
            item["UsageData"] = {"Size": size, "RefCount": len(store.references.get(volume.name, ()))}
            out.append(item)
        return out
