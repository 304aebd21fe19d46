"""How a `docker search` term names its index, as Docker splits it."""

import pytest

from wharf import errdefs
from wharf.containerd.distribution.search import SearchTarget, search_target


@pytest.mark.parametrize(("term", "target"), [
    ("busybox", SearchTarget("docker.io", "busybox")),
    ("library/busybox", SearchTarget("docker.io", "busybox")),
    ("someone/tools", SearchTarget("docker.io", "someone/tools")),
    ("someone/deep/tools", SearchTarget("docker.io", "someone/deep/tools")),
    ("registry.example/tools", SearchTarget("registry.example", "tools")),
    ("127.0.0.1:5000/library/busybox", SearchTarget("127.0.0.1:5000", "library/busybox")),
    ("localhost/busy", SearchTarget("localhost", "busy")),
    ("host:5000", SearchTarget("docker.io", "host:5000")),
])  # fmt: skip
def test_the_first_part_names_an_index_only_when_it_looks_like_a_host(term: str, target: SearchTarget) -> None:
    assert search_target(term) == target


def test_a_term_with_a_scheme_is_refused() -> None:
    with pytest.raises(errdefs.InvalidArgument, match=r"^invalid repository name: repository name "
                       r"\(https://registry.example/x\) should not have a scheme$"):
        search_target("https://registry.example/x")
