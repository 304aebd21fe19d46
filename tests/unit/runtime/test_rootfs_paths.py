"""secure_join keeps every resolved path inside the rootfs, whatever the symlinks say."""

from __future__ import annotations

import os
from pathlib import Path

from wharf.runtime.rootfs import secure_join


def test_plain_paths(tmp_path: Path) -> None:
    root = str(tmp_path)
    assert secure_join(root, "/a/b") == f"{root}/a/b"
    assert secure_join(root, "/") == root
    assert secure_join(root, "/../../etc") == f"{root}/etc"


def test_absolute_symlink_is_resolved_inside_the_root(tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    os.symlink("/etc", tmp_path / "link")
    assert secure_join(str(tmp_path), "/link/passwd") == f"{tmp_path}/etc/passwd"


def test_relative_symlink_cannot_climb_out(tmp_path: Path) -> None:
    os.symlink("../../../../../tmp", tmp_path / "up")
    assert secure_join(str(tmp_path), "/up/x") == f"{tmp_path}/tmp/x"


def test_symlink_loop_is_an_error(tmp_path: Path) -> None:
    os.symlink("b", tmp_path / "a")
    os.symlink("a", tmp_path / "b")
    try:
        secure_join(str(tmp_path), "/a")
    except OSError as err:
        assert err.errno == 40
    else:
        raise AssertionError("a loop must fail")
