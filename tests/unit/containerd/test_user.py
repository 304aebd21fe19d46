"""Docker's `-u` values resolved against a rootfs's /etc/passwd and /etc/group."""

import os
from pathlib import Path

import pytest

from wharf import errdefs
from wharf.containerd.plugins.runtime_shim.user import resolve_user

PASSWD = "root:x:0:0:root:/root:/bin/sh\nwww-data:x:33:33::/var/www:/bin/false\nalice:x:1000:1000::/home/alice:/bin/sh\n"
GROUP = "root:x:0:\nwww-data:x:33:\nalice:x:1000:\nwheel:x:10:root,alice\nstaff:x:50:alice\n"


@pytest.fixture
def rootfs(tmp_path: Path) -> Path:
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "passwd").write_text(PASSWD)
    (tmp_path / "etc" / "group").write_text(GROUP)
    return tmp_path


def test_name(rootfs: Path) -> None:
    assert resolve_user(rootfs, "www-data") == {"uid": 33, "gid": 33}


def test_name_with_supplementary_groups(rootfs: Path) -> None:
    assert resolve_user(rootfs, "alice") == {"uid": 1000, "gid": 1000, "additionalGids": [10, 50]}


def test_uid_not_in_passwd(rootfs: Path) -> None:
    assert resolve_user(rootfs, "4242") == {"uid": 4242, "gid": 0}


def test_uid_in_passwd_takes_its_group(rootfs: Path) -> None:
    assert resolve_user(rootfs, "33") == {"uid": 33, "gid": 33}


def test_name_and_group_name(rootfs: Path) -> None:
    assert resolve_user(rootfs, "www-data:staff") == {"uid": 33, "gid": 50}


def test_uid_and_gid(rootfs: Path) -> None:
    assert resolve_user(rootfs, "7:8") == {"uid": 7, "gid": 8}


def test_unknown_name(rootfs: Path) -> None:
    with pytest.raises(errdefs.InvalidArgument, match="unable to find user bob"):
        resolve_user(rootfs, "bob")


def test_unknown_group(rootfs: Path) -> None:
    with pytest.raises(errdefs.InvalidArgument, match="unable to find group nope"):
        resolve_user(rootfs, "alice:nope")


def test_passwd_symlink_cannot_leave_the_rootfs(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "passwd").write_text("evil:x:0:0::/:/bin/sh\n")
    rootfs = tmp_path / "rootfs"
    (rootfs / "etc").mkdir(parents=True)
    os.symlink(str(outside / "passwd"), rootfs / "etc" / "passwd")
    with pytest.raises(errdefs.InvalidArgument):
        resolve_user(rootfs, "evil")
