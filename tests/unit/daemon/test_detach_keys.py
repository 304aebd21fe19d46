import pytest

from wharf import errdefs
from wharf.daemon.backend.attach import DEFAULT_DETACH_KEYS, _EscapeWatcher, parse_detach_keys


@pytest.mark.parametrize(
    ("text", "keys"),
    [("", DEFAULT_DETACH_KEYS), ("ctrl-p,ctrl-q", b"\x10\x11"), ("ctrl-a,x", b"\x01x"), ("ctrl-@", b"\x00"),
     ("ctrl-[", b"\x1b")],
)
def test_parse(text: str, keys: bytes) -> None:
    assert parse_detach_keys(text) == keys


@pytest.mark.parametrize("text", ["ctrl-", "ctrl-pp", "shift-a", "ab", ","])
def test_invalid(text: str) -> None:
    with pytest.raises(errdefs.InvalidArgument, match="Invalid escape keys"):
        parse_detach_keys(text)


def test_sequence_split_across_reads_is_found_and_never_forwarded() -> None:
    watcher = _EscapeWatcher(b"\x10\x11")
    assert watcher.feed(b"ls\x10") == (b"ls", False)
    assert watcher.feed(b"\x11rest") == (b"", True)


def test_a_partial_match_that_breaks_is_passed_on() -> None:
    watcher = _EscapeWatcher(b"\x10\x11")
    assert watcher.feed(b"a\x10") == (b"a", False)
    assert watcher.feed(b"b") == (b"\x10b", False)


def test_no_keys_passes_everything() -> None:
    assert _EscapeWatcher(b"").feed(b"\x10\x11") == (b"\x10\x11", False)
