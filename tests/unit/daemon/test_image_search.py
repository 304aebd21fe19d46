"""docker search's query values and filters, read and applied as moby does."""

import pytest

from wharf import errdefs
from wharf.containerd.core.distribution import SearchResult
from wharf.daemon.backend.image_search import (
    SearchFilters,
    check_limit,
    search_filters,
    search_limit,
    selected,
)

RESULTS = [
    SearchResult("busybox", "the official one", 3200, is_official=True),
    SearchResult("tools/busy-tools", "handy", 12, is_automated=True),
    SearchResult("someone/busybody", "", 0),
]


def test_limit_defaults_to_25_and_must_be_an_integer_in_range() -> None:
    assert search_limit("") == 25
    assert search_limit("7") == 7
    with pytest.raises(errdefs.InvalidArgument, match=r'^invalid limit specified: strconv.Atoi: parsing "x"'):
        search_limit("x")
    with pytest.raises(errdefs.InvalidArgument):
        search_limit(" 7")
    for limit in (1, 100):
        check_limit(limit)
    for limit in (0, 101, -3):
        with pytest.raises(errdefs.InvalidArgument, match=rf"^limit {limit} is outside the range of \[1, 100\]$"):
            check_limit(limit)


def test_filters_in_both_encodings() -> None:
    assert search_filters({}) == SearchFilters()
    assert search_filters({"is-official": {"true": True}, "stars": ["3", "10"]}) == SearchFilters(
        official=True, min_stars=10)
    assert search_filters({"is-automated": ["0"]}) == SearchFilters(automated=False)


@pytest.mark.parametrize(("filters", "message"), [
    ({"popular": ["1"]}, "invalid filter 'popular'"),
    ({"is-official": {"maybe": True}}, "invalid filter 'is-official=[maybe]'"),
    ({"is-automated": ["true", "false"]}, "invalid filter 'is-automated=[true false]'"),
    ({"stars": ["many"]}, "invalid filter 'stars=many': strconv.Atoi: parsing \"many\": invalid syntax"),
])  # fmt: skip
def test_filter_refusals(filters: dict, message: str) -> None:
    with pytest.raises(errdefs.InvalidArgument) as refused:
        search_filters(filters)
    assert str(refused.value) == message


def test_selection_filters_truncates_and_never_shows_automated() -> None:
    everything = selected(RESULTS, SearchFilters(), 25)
    assert [result["name"] for result in everything] == ["busybox", "tools/busy-tools", "someone/busybody"]
    assert not any(result["is_automated"] for result in everything)
    assert list(everything[0]) == ["star_count", "is_official", "name", "is_automated", "description"]
    assert [r["name"] for r in selected(RESULTS, SearchFilters(official=False), 25)] == [
        "tools/busy-tools", "someone/busybody"]
    assert [r["name"] for r in selected(RESULTS, SearchFilters(min_stars=12), 25)] == ["busybox", "tools/busy-tools"]
    assert [r["name"] for r in selected(RESULTS, SearchFilters(), 2)] == ["busybox", "tools/busy-tools"]
    assert selected(RESULTS, SearchFilters(automated=True), 25) == []
