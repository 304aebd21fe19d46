"""COPY/ADD on plain directories (no mounts): destination rules, ownership and mode options,
archives, checksums that change with content, mode and names."""

from __future__ import annotations

import io
import os
import stat
import tarfile
from pathlib import Path

import pytest

from wharf import errdefs
from wharf.daemon.builder.copy import CopyOptions, checksum, copy_into, walk_sources


@pytest.fixture
def src(tmp_path: Path) -> Path:
    root = tmp_path / "src"
    (root / "dir" / "sub").mkdir(parents=True)
    (root / "file.txt").write_text("file")
    (root / "dir" / "a").write_text("a")
    (root / "dir" / "sub" / "b").write_text("b")
    os.symlink("a", root / "dir" / "link")
    os.chmod(root / "file.txt", 0o640)
    return root


@pytest.fixture
def rootfs(tmp_path: Path) -> Path:
    root = tmp_path / "rootfs"
    (root / "existing").mkdir(parents=True)
    os.symlink("/existing", root / "abs-link")
    return root


def _me() -> CopyOptions:
    return CopyOptions(uid=os.getuid(), gid=os.getgid())


def test_file_to_a_new_path_and_into_directories(src: Path, rootfs: Path) -> None:
    copy_into(str(rootfs), str(src), ["file.txt"], "/renamed", _me(), strict=True)
    copy_into(str(rootfs), str(src), ["file.txt"], "/new/dir/", _me(), strict=True)
    copy_into(str(rootfs), str(src), ["file.txt"], "/existing", _me(), strict=True)
    assert (rootfs / "renamed").read_text() == "file"
    assert (rootfs / "new" / "dir" / "file.txt").read_text() == "file"
    assert (rootfs / "existing" / "file.txt").read_text() == "file"
    assert stat.S_IMODE((rootfs / "renamed").stat().st_mode) == 0o640


def test_directory_copies_its_contents_and_links_stay_links(src: Path, rootfs: Path) -> None:
    copy_into(str(rootfs), str(src), ["dir"], "/app", _me(), strict=True)
    assert (rootfs / "app" / "a").read_text() == "a"
    assert (rootfs / "app" / "sub" / "b").read_text() == "b"
    assert os.readlink(rootfs / "app" / "link") == "a"


def test_destination_links_resolve_inside_the_rootfs(src: Path, rootfs: Path) -> None:
    copy_into(str(rootfs), str(src), ["file.txt"], "/abs-link/", _me(), strict=True)
    assert (rootfs / "existing" / "file.txt").exists()


def test_chmod_option_and_several_sources_need_a_directory(src: Path, rootfs: Path) -> None:
    options = CopyOptions(uid=os.getuid(), gid=os.getgid(), mode=0o700)
    copy_into(str(rootfs), str(src), ["file.txt", "dir/a"], "/multi/", options, strict=True)
    assert stat.S_IMODE((rootfs / "multi" / "a").stat().st_mode) == 0o700
    with pytest.raises(errdefs.InvalidArgument, match="must be a directory"):
        copy_into(str(rootfs), str(src), ["file.txt", "dir/a"], "/multi", options, strict=True)


def test_missing_and_ignored_sources_are_not_found(src: Path, rootfs: Path) -> None:
    with pytest.raises(errdefs.NotFound, match="file not found in build context"):
        copy_into(str(rootfs), str(src), ["nope"], "/x", _me(), strict=True)
    with pytest.raises(errdefs.NotFound):
        copy_into(str(rootfs), str(src), ["file.txt"], "/x", _me(), strict=True, skip=lambda p: p == "file.txt")
    copy_into(str(rootfs), str(src), ["dir"], "/filtered", _me(), strict=True, skip=lambda p: p == "dir/a")
    assert not (rootfs / "filtered" / "a").exists() and (rootfs / "filtered" / "sub" / "b").exists()


def test_add_extracts_archives(src: Path, rootfs: Path) -> None:
    body = io.BytesIO()
    with tarfile.open(fileobj=body, mode="w:gz") as archive:
        for name, data in (("pkg/readme", b"read me"), ("../../escape", b"no")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    (src / "bundle.tar.gz").write_bytes(body.getvalue())
    options = CopyOptions(uid=os.getuid(), gid=os.getgid(), extract_archives=True)
    copy_into(str(rootfs), str(src), ["bundle.tar.gz"], "/opt/", options, strict=True)
    assert (rootfs / "opt" / "pkg" / "readme").read_bytes() == b"read me"
    assert not (rootfs.parent / "escape").exists()


def test_checksum_follows_content_mode_and_names(src: Path) -> None:
    def digest() -> str:
        return checksum(walk_sources(str(src), ["dir", "file.txt"], strict=True))

    first = digest()
    assert digest() == first
    (src / "dir" / "a").write_text("A")
    second = digest()
    assert second != first
    os.chmod(src / "dir" / "a", 0o600)
    third = digest()
    assert third != second
    os.rename(src / "dir" / "sub" / "b", src / "dir" / "sub" / "c")
    assert digest() != third
