"""The context index answers as the unpacked context would: names through symlinks, hardlinks,
replaced entries, strict refusal of links out, globbing and checksums that follow the content."""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

import pytest

from wharf import errdefs
from wharf.daemon.builder.context import OutsideContext, extract_context, resolve_in_root
from wharf.daemon.builder.context_index import ContextIndex, index_checksum, read_member


def _archive(path: Path, entries: list[tuple[str, str, bytes]], compress: bool = False) -> Path:
    with tarfile.open(path, "w:gz" if compress else "w") as archive:
        for name, kind, data in entries:
            info = tarfile.TarInfo(name)
            info.uid, info.gid = os.getuid(), os.getgid()
            if kind == "file":
                info.size = len(data)
                archive.addfile(info, io.BytesIO(data))
            elif kind == "dir":
                info.type, info.mode = tarfile.DIRTYPE, 0o750
                archive.addfile(info)
            elif kind == "sym":
                info.type, info.linkname = tarfile.SYMTYPE, data.decode()
                archive.addfile(info)
            elif kind == "hard":
                info.type, info.linkname = tarfile.LNKTYPE, data.decode()
                archive.addfile(info)
    return path


ENTRIES = [
    ("app", "dir", b""),
    ("app/main.py", "file", b"print('hi')\n"),
    ("app/data.txt", "file", b"data"),
    ("rel", "sym", b"app"),
    ("abs", "sym", b"/app"),
    ("abs/through.txt", "file", b"through a link"),
    ("hard", "hard", b"app/data.txt"),
    ("replaced", "dir", b""),
    ("replaced/old", "file", b"old"),
    ("replaced", "file", b"now a file"),
]


@pytest.mark.parametrize("compress", [False, True])
def test_index_matches_the_unpacked_context(tmp_path: Path, compress: bool) -> None:
    archive = _archive(tmp_path / "c.tar", ENTRIES, compress)
    index = ContextIndex.from_archive(str(archive))
    root = tmp_path / "root"
    root.mkdir()
    extract_context(str(archive), str(root))
    for path in ("app/main.py", "rel/data.txt", "app/through.txt", "hard", "replaced", "abs/main.py"):
        entry = index.get(path)
        on_disk = resolve_in_root(str(root), path)
        assert entry is not None and entry.is_file, path
        assert read_member(str(archive), entry) == Path(on_disk).read_bytes(), path
    assert index.listdir("app") == sorted(os.listdir(root / "app"))
    assert index.get("replaced/old") is None


def test_strict_lookups_refuse_links_out(tmp_path: Path) -> None:
    index = ContextIndex.from_archive(str(_archive(tmp_path / "c.tar", ENTRIES)))
    with pytest.raises(OutsideContext):
        index.resolve("abs/main.py", strict=True)
    with pytest.raises(OutsideContext):
        index.resolve("../x", strict=True)
    assert index.resolve("rel/main.py", strict=True) == "app/main.py"


def test_glob_walk_and_checksum(tmp_path: Path) -> None:
    index = ContextIndex.from_archive(str(_archive(tmp_path / "c.tar", ENTRIES)))
    assert index.glob("app/*.py") == ["app/main.py"]
    assert index.glob("*/data.txt") == ["abs/data.txt", "app/data.txt", "rel/data.txt"]
    with pytest.raises(errdefs.InvalidArgument):
        index.glob("../up")
    walked = [(s.top, s.inside) for s in index.walk(["app"], True, lambda p: False)]
    assert walked == [("app", ""), ("app", "data.txt"), ("app", "main.py"), ("app", "through.txt")]
    with pytest.raises(errdefs.NotFound):
        list(index.walk(["missing"], True, lambda p: False))
    first = index_checksum(index.walk(["app"], True, lambda p: False))
    changed = [(n, k, b"changed" if n == "app/data.txt" else d) for n, k, d in ENTRIES]
    other = ContextIndex.from_archive(str(_archive(tmp_path / "d.tar", changed)))
    assert index_checksum(other.walk(["app"], True, lambda p: False)) != first
    skipping = index_checksum(index.walk(["app"], True, lambda p: p == "app/data.txt"))
    assert skipping != first
