"""The build context: safe extraction of the request's tar, in-root path resolution, Dockerfile
and .dockerignore loading, COPY source matching."""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

import pytest

from wharf import errdefs
from wharf.daemon.builder.context import (
    OutsideContext,
    clean_relative,
    extract_context,
    load_context,
    resolve_in_root,
    source_paths,
)


def _tar(path: Path, *entries: tuple[str, bytes | None, bytes]) -> Path:
    """entries: (name, data or None, type)"""
    with tarfile.open(path, "w") as archive:
        for name, data, kind in entries:
            info = tarfile.TarInfo(name)
            info.type = kind
            info.uid, info.gid = os.getuid(), os.getgid()
            if kind == tarfile.SYMTYPE or kind == tarfile.LNKTYPE:
                info.linkname = (data or b"").decode()
                archive.addfile(info)
            elif data is not None:
                info.size = len(data)
                archive.addfile(info, io.BytesIO(data))
            else:
                info.mode = 0o755
                archive.addfile(info)
    return path


def test_clean_relative_refuses_absolute_and_climbing_names() -> None:
    assert clean_relative("./a//b/") == "a/b"
    assert clean_relative(".") == ""
    with pytest.raises(errdefs.InvalidArgument):
        clean_relative("/etc/passwd")
    with pytest.raises(errdefs.InvalidArgument):
        clean_relative("a/../../x")


def test_resolve_in_root_keeps_links_inside(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    os.symlink("/real", tmp_path / "abs")
    os.symlink("../../../real", tmp_path / "climb")
    assert resolve_in_root(str(tmp_path), "abs/x") == str(tmp_path / "real" / "x")
    assert resolve_in_root(str(tmp_path), "climb/x") == str(tmp_path / "real" / "x")
    assert resolve_in_root(str(tmp_path), "../../etc") == str(tmp_path / "etc")
    with pytest.raises(OutsideContext):
        resolve_in_root(str(tmp_path), "abs/x", strict=True)
    with pytest.raises(OutsideContext):
        resolve_in_root(str(tmp_path), "climb", strict=True)
    os.symlink("loop", tmp_path / "loop")
    with pytest.raises(errdefs.InvalidArgument):
        resolve_in_root(str(tmp_path), "loop")


def test_extract_context_writes_only_inside(tmp_path: Path) -> None:
    dest = tmp_path / "ctx"
    dest.mkdir()
    archive = _tar(
        tmp_path / "c.tar",
        ("Dockerfile", b"FROM scratch\n", tarfile.REGTYPE),
        ("dir", None, tarfile.DIRTYPE),
        ("dir/file", b"data", tarfile.REGTYPE),
        ("escape", b"/", tarfile.SYMTYPE),  # a link to "/" ...
        ("escape/planted", b"x", tarfile.REGTYPE),  # ... and a file through it stays in the context
        ("hard", b"dir/file", tarfile.LNKTYPE),
    )
    extract_context(str(archive), str(dest))
    assert (dest / "dir" / "file").read_bytes() == b"data"
    assert (dest / "planted").read_bytes() == b"x"
    assert os.path.samefile(dest / "hard", dest / "dir" / "file")
    assert not Path("/planted").exists()


def test_extract_context_refuses_climbing_names(tmp_path: Path) -> None:
    dest = tmp_path / "ctx"
    dest.mkdir()
    archive = _tar(tmp_path / "c.tar", ("../outside", b"x", tarfile.REGTYPE))
    with pytest.raises(errdefs.InvalidArgument, match="climbs out"):
        extract_context(str(archive), str(dest))
    assert not (tmp_path / "outside").exists()


def test_extract_context_refuses_hardlinks_to_nothing(tmp_path: Path) -> None:
    dest = tmp_path / "ctx"
    dest.mkdir()
    archive = _tar(tmp_path / "c.tar", ("hard", b"../../etc/passwd", tarfile.LNKTYPE))
    with pytest.raises(errdefs.InvalidArgument):
        extract_context(str(archive), str(dest))


def test_not_a_tar_is_a_clear_error(tmp_path: Path) -> None:
    junk = tmp_path / "junk"
    junk.write_bytes(b"this is not a tar archive at all" * 40)
    with pytest.raises(errdefs.InvalidArgument, match="not a valid tar"):
        extract_context(str(junk), str(tmp_path))


def test_load_context_reads_dockerfile_and_ignore_without_unpacking(tmp_path: Path) -> None:
    archive = _tar(
        tmp_path / "c.tar",
        ("sub", None, tarfile.DIRTYPE),
        ("sub/Build.df", b"FROM busybox\n", tarfile.REGTYPE),
        (".dockerignore", b"*.log\n!keep.log\n", tarfile.REGTYPE),
        ("link.df", b"sub/Build.df", tarfile.SYMTYPE),
    )
    root = tmp_path / "root"
    root.mkdir()
    context = load_context(str(archive), str(root), "sub/Build.df")
    assert context.dockerfile_text == b"FROM busybox\n"
    assert context.excluded("a.log") and not context.excluded("keep.log")
    assert list(root.iterdir()) == []  # nothing unpacked yet
    assert load_context(str(archive), str(root), "link.df").dockerfile_text == b"FROM busybox\n"
    context.ensure_extracted()
    assert (root / "sub" / "Build.df").read_bytes() == b"FROM busybox\n"
    with pytest.raises(errdefs.InvalidArgument, match="Cannot locate specified Dockerfile"):
        load_context(str(archive), str(root), "")
    with pytest.raises(errdefs.InvalidArgument, match="within the build context"):
        load_context(str(archive), str(root), "../Dockerfile")


def test_source_paths_globs_and_refuses_climbing(tmp_path: Path) -> None:
    for name in ("a.txt", "b.txt", "c.md"):
        (tmp_path / name).write_text(name)
    assert source_paths(str(tmp_path), "*.txt") == ["a.txt", "b.txt"]
    assert source_paths(str(tmp_path), "./c.md") == ["c.md"]
    assert source_paths(str(tmp_path), "*.none") == []
    with pytest.raises(errdefs.InvalidArgument, match="outside the build context"):
        source_paths(str(tmp_path), "../x")
