"""Random hostile archives for `docker cp` (PUT /containers/{id}/archive) and for the build context:
extraction writes only below its destination and fails only cleanly (an errdefs category)."""

from __future__ import annotations

import io
import os
import shutil
import tarfile
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wharf import errdefs
from wharf.daemon.backend.archive import extract_archive
from wharf.daemon.builder.context import extract_context

NAME_PARTS = st.sampled_from(["a", "b", "..", ".", "", "etc", "outside", "c d", "x" * 300])
TARGETS = st.sampled_from(["/", "..", "../..", "../outside", "/etc", "a", "a/b", "/outside/canary",
                           "../../outside", "../outside/canary", "b"])
ENTRY = st.tuples(
    st.sampled_from(["file", "dir", "symlink", "hardlink", "fifo"]),
    st.lists(NAME_PARTS, min_size=1, max_size=5).map("/".join),
    TARGETS,
    st.booleans(),  # absolute name
)
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="extraction sets owners (chown): needs root")


def _archive(entries: list[tuple[str, str, str, bool]]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for kind, name, target, absolute in entries:
            info = tarfile.TarInfo(("/" if absolute else "") + name)
            if kind == "file":
                info.size = 7
                tar.addfile(info, io.BytesIO(b"payload"))
                continue
            info.type = {"dir": tarfile.DIRTYPE, "symlink": tarfile.SYMTYPE, "hardlink": tarfile.LNKTYPE,
                         "fifo": tarfile.FIFOTYPE}[kind]
            info.linkname = target
            tar.addfile(info)
    return out.getvalue()


def _snapshot(root: Path) -> dict[str, tuple[int, int, int]]:
    state = {}
    for directory, dirs, files in os.walk(root):
        for name in dirs + files:
            info = os.lstat(os.path.join(directory, name))
            state[os.path.join(directory, name)] = (info.st_mode, info.st_size, info.st_nlink)
    return state


def _check_contained(extract: Callable[[Path, bytes], None], entries: list[tuple[str, str, str, bool]]) -> None:
    sandbox = Path(tempfile.mkdtemp(prefix="wharf-fuzz-"))
    try:
        outside = sandbox / "outside"
        outside.mkdir()
        (outside / "canary").write_text("untouched")
        dest = sandbox / "root" / "dest"
        dest.mkdir(parents=True)
        before = _snapshot(outside)
        try:
            extract(dest, _archive(entries))
        except errdefs.WharfError:
            pass
        assert _snapshot(outside) == before
        assert (outside / "canary").read_text() == "untouched"
        assert sorted(p.name for p in sandbox.iterdir()) == ["outside", "root"]
        assert [p.name for p in (sandbox / "root").iterdir()] == ["dest"]
    finally:
        shutil.rmtree(sandbox, ignore_errors=True)


def _cp(dest: Path, data: bytes) -> None:
    """`docker cp` into a container whose rootfs is `dest`'s parent, at the path /dest."""
    root_fd = os.open(dest.parent, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        extract_archive(root_fd, "/dest", io.BytesIO(data), "fuzz")
    finally:
        os.close(root_fd)


def _context(dest: Path, data: bytes) -> None:
    archive = dest.parent.parent / "context.tar"
    archive.write_bytes(data)
    try:
        extract_context(str(archive), str(dest))
    finally:
        archive.unlink()


@needs_root
@given(st.lists(ENTRY, min_size=1, max_size=12))
def test_cp_archive_stays_in_the_container(entries: list[tuple[str, str, str, bool]]) -> None:
    _check_contained(_cp, entries)


@given(st.lists(ENTRY, min_size=1, max_size=12))
def test_build_context_stays_in_its_dir(entries: list[tuple[str, str, str, bool]]) -> None:
    _check_contained(_context, entries)
