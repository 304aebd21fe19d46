"""`--cache-from`: which cached images a build may use (ancestors of a source, by history and
layers) and how a step is restored from a source that has no local cache entries."""

from __future__ import annotations

import asyncio
from typing import Any

from wharf import errdefs
from wharf.daemon.builder.cache_sources import (
    CacheSources,
    SourceImage,
    is_ancestor_or_same,
    resolve_cache_sources,
)


def _image(steps: list[tuple[str, str | None]]) -> dict[str, Any]:
    """A config whose history has one entry per (created_by, diff id or None for an empty layer)."""
    history = [{"created": f"2026-01-01T00:00:0{i}Z", "created_by": text, **({} if diff else {"empty_layer": True})}
               for i, (text, diff) in enumerate(steps)]  # fmt: skip
    return {"history": history, "rootfs": {"type": "layers", "diff_ids": [d for _, d in steps if d]}}


BASE = [("ADD file:abc in /", "sha256:base")]
BUILT = [*BASE, ("/bin/sh -c #(nop)  ENV FOO=bar", None), ("/bin/sh -c touch baz", "sha256:baz")]


def test_ancestors_are_history_and_layer_prefixes() -> None:
    built = _image(BUILT)
    assert is_ancestor_or_same(_image(BASE), built)
    assert is_ancestor_or_same(_image(BUILT[:2]), built)
    assert is_ancestor_or_same(built, built)
    other_step = _image([*BASE, ("/bin/sh -c #(nop)  ENV FOO=other", None)])
    assert not is_ancestor_or_same(other_step, built)
    assert not is_ancestor_or_same(_image([*BUILT, ("/bin/sh -c more", "sha256:more")]), built)
    assert not is_ancestor_or_same({"history": []}, built)  # nothing to tell it by


def test_only_images_of_a_source_are_allowed() -> None:
    sources = CacheSources([SourceImage(_image(BUILT), [])])
    assert sources.allows(_image(BUILT[:2]))
    assert not sources.allows(_image([*BASE, ("/bin/sh -c #(nop)  ENV X=1", None)]))
    assert not CacheSources([]).allows(_image(BUILT[:2]))


def test_a_step_is_restored_from_the_source_history() -> None:
    layers = [{"digest": "sha256:l0"}, {"digest": "sha256:l1"}]
    sources = CacheSources([SourceImage(_image(BUILT), layers)])
    parent = _image(BASE)
    assert sources.restore(parent, ["/bin/sh -c #(nop)  ENV FOO=other"]) is None
    env = sources.restore(parent, ["/bin/sh -c #(nop)  ENV FOO=bar"])
    assert env is not None and env.layer is None and env.history["created_by"] == "/bin/sh -c #(nop)  ENV FOO=bar"
    run = sources.restore(_image(BUILT[:2]), ["/bin/sh -c touch baz"])
    assert run is not None and run.layer == {"digest": "sha256:l1"} and run.diff_id == "sha256:baz"
    assert sources.restore(_image(BUILT), ["/bin/sh -c touch baz"]) is None  # the source has no next step


class _Images:
    def __init__(self, known: dict[str, Any]) -> None:
        self._known = known

    async def resolve(self, ref: str) -> Any:
        if ref not in self._known:
            raise errdefs.NotFound(f"No such image: {ref}")
        return self._known[ref]


class _Local:
    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config
        self.layers: list[Any] = []


def test_unknown_sources_are_skipped() -> None:
    images = _Images({"build1": _Local(_image(BUILT))})
    sources = asyncio.run(resolve_cache_sources(images, ["nosuchtag", "build1"]))
    assert len(sources.images) == 1
    none_found = asyncio.run(resolve_cache_sources(_Images({}), ["nosuchtag"]))
    assert none_found.images == [] and not none_found.allows(_image(BUILT))
