"""`--cache-from` (the API's `cachefrom`), as Docker's classic builder applies it: once sources are
given, a step's cached image is used only if it is one of them or one of their ancestors; names
that resolve to no local image are skipped (logged), so a build whose sources are all unknown
takes nothing from the cache.

Ancestry is read from the images themselves: an image is an ancestor of another when its history
and its layers (diff ids) are a prefix of the other's. Every build step adds a history entry with
its own creation time, so two unrelated builds never share a prefix by accident.

A source pulled from a registry comes without the images of its steps. As moby's image cache
does, such a step is restored from the source itself: when the step's parent is an ancestor of
a source and the source's next history entry was made by the same instruction (`created_by`),
the step's image is the parent plus that history entry and (unless empty) that layer; the build
then keeps to that one source."""

from __future__ import annotations

import logging
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any, Protocol

from wharf import errdefs

log = logging.getLogger("wharfd.build")


class ImageLookup(Protocol):
    async def resolve(self, ref: str) -> Any:
        """A local image with `.config` (the whole image config) and `.layers` (descriptors with
        `to_json()`); NotFound if none."""


def _history(config: dict[str, Any]) -> list[Any]:
    return list(config.get("history") or [])


def _diff_ids(config: dict[str, Any]) -> list[str]:
    return list((config.get("rootfs") or {}).get("diff_ids") or [])


def is_ancestor_or_same(candidate: dict[str, Any], image: dict[str, Any]) -> bool:
    """Whether the image config `candidate` is `image`'s or one of its parents' (by history and
    layers); an image without history is nobody's ancestor (nothing to tell it by)."""
    history, image_history = _history(candidate), _history(image)
    diff_ids, image_diff_ids = _diff_ids(candidate), _diff_ids(image)
    if not history or len(history) > len(image_history) or len(diff_ids) > len(image_diff_ids):
        return False
    return image_history[: len(history)] == history and image_diff_ids[: len(diff_ids)] == diff_ids


def _is_prefix(parent: dict[str, Any], image: dict[str, Any]) -> bool:
    """As is_ancestor_or_same, but a parent without history (FROM scratch) is everyone's."""
    if not _history(parent) and not _diff_ids(parent):
        return True
    return is_ancestor_or_same(parent, image)


@dataclass
class SourceImage:
    config: dict[str, Any]
    """The whole image config."""
    layers: list[dict[str, Any]]
    """Its manifest's layer descriptors (JSON), in diff id order."""


@dataclass
class RestoredStep:
    history: dict[str, Any]
    layer: dict[str, Any] | None
    """The layer descriptor (JSON), or None for an empty-layer entry."""
    diff_id: str = ""


@dataclass
class CacheSources:
    images: list[SourceImage]
    """The sources that exist locally."""

    def allows(self, candidate: dict[str, Any]) -> bool:
        return any(is_ancestor_or_same(candidate, image.config) for image in self.images)

    def restore(self, parent: dict[str, Any], created_by: Collection[str]) -> RestoredStep | None:
        """The step after `parent` taken from a source whose next history entry has one of the
        `created_by` texts; None when no source has it."""
        depth, layer_index = len(_history(parent)), len(_diff_ids(parent))
        for image in self.images:
            history, diff_ids = _history(image.config), _diff_ids(image.config)
            if len(history) <= depth or not _is_prefix(parent, image.config):
                continue
            entry = history[depth]
            if not isinstance(entry, dict) or entry.get("created_by") not in created_by:
                continue
            step = RestoredStep(dict(entry), None)
            if not entry.get("empty_layer"):
                if layer_index >= min(len(diff_ids), len(image.layers)):
                    continue
                step.layer, step.diff_id = dict(image.layers[layer_index]), diff_ids[layer_index]
            self.images = [image]  # as moby: don't jump to another source mid-build
            return step
        return None


async def resolve_cache_sources(images: ImageLookup, names: list[str]) -> CacheSources:
    found = []
    for name in names:
        try:
            image = await images.resolve(name)
        except errdefs.WharfError as err:
            log.warning("Could not look up %s for cache resolution, skipping: %s", name, err)
            continue
        found.append(SourceImage(dict(image.config), [layer.to_json() for layer in image.layers]))
    return CacheSources(found)
