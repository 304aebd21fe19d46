"""The filters every prune of the Engine API takes: `until` and `label` / `label!`."""

from __future__ import annotations

import time
from typing import Any

from wharf import errdefs
from wharf.daemon.backend.container_view import parse_filters
from wharf.daemon.backend.timefmt import parse_rfc3339

PRUNE_FILTERS = frozenset({"until", "label", "label!"})


def until_ns(value: str) -> int:
    """Docker's timestamps: Unix seconds (with a fraction), RFC 3339, or a duration ago (`10m`)."""
    try:
        return int(float(value) * 1_000_000_000)
    except ValueError:
        pass
    ns = parse_rfc3339(value)
    if ns:
        return ns
    units = {"s": 1, "m": 60, "h": 3600}
    if value and value[-1] in units and value[:-1].isdigit():
        return time.time_ns() - int(value[:-1]) * units[value[-1]] * 1_000_000_000
    raise errdefs.InvalidArgument(f"invalid filter 'until={value}'")


def _labels_match(labels: dict[str, str], entry: str) -> bool:
    key, sep, value = entry.partition("=")
    return key in labels and (not sep or labels[key] == value)


class PruneFilters:
    def __init__(self, raw_filters: dict[str, Any]) -> None:
        filters = parse_filters(raw_filters)
        for key in filters:
            if key not in PRUNE_FILTERS:
                raise errdefs.InvalidArgument(f"invalid filter '{key}'")
        self._until = min((until_ns(v) for v in filters.get("until", [])), default=0)
        self._labels = list(filters.get("label", []))
        self._not_labels = list(filters.get("label!", []))

    def matches(self, labels: dict[str, str] | None, created_ns: int) -> bool:
        """Whether an object with these labels, created then, may be pruned."""
        labels = labels or {}
        if not all(_labels_match(labels, entry) for entry in self._labels):
            return False
        if any(_labels_match(labels, entry) for entry in self._not_labels):
            return False
        return not (self._until and created_ns >= self._until)
