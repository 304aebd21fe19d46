import pytest

from wharf.daemon.builder.dockerignore import IgnoreMatcher, read_patterns


def test_reading_cleans_and_skips_comments() -> None:
    text = "\ufeff# comment\n\n  ./build/  \n/abs\n! keep.txt\n**/*.pyc\n"
    assert read_patterns(text) == ["build", "abs", "!keep.txt", "**/*.pyc"]


@pytest.mark.parametrize(
    ("patterns", "path", "excluded"),
    [
        (["*.log"], "a.log", True),
        (["*.log"], "dir/a.log", False),
        (["**/*.log"], "dir/sub/a.log", True),
        (["**/*.log"], "a.log", True),
        (["build"], "build/out/bin", True),
        (["build"], "builder", False),
        (["dir/**"], "dir/x/y", True),
        (["dir/**"], "dir", False),
        (["a/**/z"], "a/z", True),
        (["a/**/z"], "a/b/c/z", True),
        (["*", "!keep"], "keep", False),
        (["*", "!keep"], "other", True),
        (["docs", "!docs/README.md"], "docs/README.md", False),
        (["docs", "!docs/README.md"], "docs/other.md", True),
        (["!x", "x"], "x", True),
        (["file?.txt"], "file1.txt", True),
        (["file?.txt"], "file10.txt", False),
        (["[ab].txt"], "a.txt", True),
        (["[!ab].txt"], "a.txt", False),
        (["[!ab].txt"], "c.txt", True),
        (["\\*star"], "*star", True),
        (["\\*star"], "xstar", False),
    ],
)
def test_matching(patterns: list[str], path: str, excluded: bool) -> None:
    assert IgnoreMatcher(patterns).excluded(path) is excluded


def test_lone_exclamation_is_illegal() -> None:
    with pytest.raises(ValueError):
        IgnoreMatcher(["!"])
