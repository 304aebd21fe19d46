"""`GET /images/search` (docker search): the filters read as moby reads them, and applied to what
the index answered (the supervisor asks the index; wharfd never talks to a registry)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from wharf import errdefs
from wharf.containerd.core.distribution import SearchResult
from wharf.daemon.backend.container_view import parse_filters

DEFAULT_LIMIT = 25
MAX_LIMIT = 100
_ACCEPTED_FILTERS = ("is-automated", "is-official", "stars")
_GO_INTEGER = re.compile(r"[+-]?[0-9]+")
"""What Go's strconv.Atoi takes (Python's int() would also take spaces and `1_000`)."""


@dataclass(frozen=True)
class SearchFilters:
    official: bool | None = None
    """Only official images (True), only the others (False), or either (None)."""
    automated: bool | None = None
    """Automated builds are gone from Docker Hub: asking for them finds nothing."""
    min_stars: int | None = None


def search_filters(filters: dict[str, Any]) -> SearchFilters:
    """`filters` as the API takes it (`{"stars": {"3": true}}` or `{"stars": ["3"]}`); an unknown
    key, a non-boolean is-official/is-automated or a non-integer stars is InvalidArgument."""
    values = parse_filters(filters)
    for key in values:
        if key not in _ACCEPTED_FILTERS:
            raise errdefs.InvalidArgument(f"invalid filter '{key}'")
    min_stars: int | None = None
    for text in values.get("stars", []):
        if not _GO_INTEGER.fullmatch(text):
            raise errdefs.InvalidArgument(
                f"invalid filter 'stars={text}': strconv.Atoi: parsing \"{text}\": invalid syntax")
        min_stars = max(int(text), min_stars or 0)
    return SearchFilters(official=_bool_filter(values, "is-official"),
                         automated=_bool_filter(values, "is-automated"), min_stars=min_stars)


def _bool_filter(values: dict[str, list[str]], key: str) -> bool | None:
    if key not in values:
        return None
    given = set(values[key])
    true, false = bool(given & {"1", "true"}), bool(given & {"0", "false"})
    if true == false:  # neither (or both): Go prints the values as a list, `[maybe]`
        raise errdefs.InvalidArgument(f"invalid filter '{key}={_go_list(values[key])}'")
    return true


def _go_list(items: list[str]) -> str:
    return "[" + " ".join(items) + "]"


def search_limit(text: str) -> int:
    """The `limit` query value: DEFAULT_LIMIT when absent, else an integer in [1, MAX_LIMIT]."""
    if text == "":
        return DEFAULT_LIMIT
    if not _GO_INTEGER.fullmatch(text):
        raise errdefs.InvalidArgument(f"invalid limit specified: strconv.Atoi: parsing \"{text}\": invalid syntax")
    return int(text)


def check_limit(limit: int) -> None:
    if not 1 <= limit <= MAX_LIMIT:
        raise errdefs.InvalidArgument(f"limit {limit} is outside the range of [1, {MAX_LIMIT}]")


def selected(results: list[SearchResult], filters: SearchFilters, limit: int) -> list[dict[str, Any]]:
    """The results the filters keep, at most `limit`, as the API shows them. `is_automated` is
    always false: the index's value is no longer meaningful (moby says the same)."""
    if filters.automated:
        return []
    kept = []
    for result in results:
        if filters.official is not None and result.is_official != filters.official:
            continue
        if filters.min_stars is not None and result.star_count < filters.min_stars:
            continue
        kept.append({"star_count": result.star_count, "is_official": result.is_official, "name": result.name,
                     "is_automated": False, "description": result.description})
    return kept[:limit]
