"""`docker history`: the config's history entries, newest first, each non-empty one matched to its
layer (in order) for the size, as Docker's image service does."""

from __future__ import annotations

from typing import Any, Protocol

from wharf import errdefs
from wharf.daemon.backend.images import LocalImage
from wharf.daemon.backend.timefmt import parse_rfc3339


class LayerSizes(Protocol):
    async def layer_sizes(self, image: LocalImage) -> list[int]: ...


async def image_history(images: LayerSizes, image: LocalImage) -> list[dict[str, Any]]:
    entries = image.config.get("history") or []
    sizes = await images.layer_sizes(image)
    items: list[dict[str, Any]] = []
    layer_index = 0
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        size = 0
        if not entry.get("empty_layer"):
            if layer_index >= len(sizes):
                raise errdefs.System(f"image {image.id}: more non-empty history entries than layers")
            size = sizes[layer_index]
            layer_index += 1
        items.append({
            "Id": "<missing>",
            "Created": parse_rfc3339(str(entry.get("created") or "")) // 1_000_000_000,
            "CreatedBy": entry.get("created_by", ""),
            "Tags": None,
            "Size": size,
            "Comment": entry.get("comment", ""),
        })  # fmt: skip
    items.reverse()
    if items:
        items[0]["Id"] = image.id
        items[0]["Tags"] = image.repo_tags
    return items
