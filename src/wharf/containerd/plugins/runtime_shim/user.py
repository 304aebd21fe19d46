"""Resolving Docker's `-u` value (annotation `io.wharf.user`) against the rootfs's /etc/passwd and
/etc/group into the OCI `process.user`, as Docker does when it creates the container's bundle.

The files are read with openat2(RESOLVE_IN_ROOT): an image's /etc/passwd symlink can't point at the
host's."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from wharf import errdefs
from wharf.linux.openat2 import open_in_root

USER_ANNOTATION = "io.wharf.user"
GROUPS_ANNOTATION = "io.wharf.groups"
"""Comma-separated group names of `docker run --group-add`, resolved against the rootfs."""


@dataclass
class PasswdEntry:
    name: str
    uid: int
    gid: int


@dataclass
class GroupEntry:
    name: str
    gid: int
    members: list[str]


def _read_in_root(rootfs: Path, rel: str) -> list[list[str]]:
    root_fd = os.open(rootfs, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        fd = open_in_root(root_fd, rel, os.O_RDONLY)
    except OSError:
        return []
    finally:
        os.close(root_fd)
    with os.fdopen(fd, "rb") as f:
        text = f.read(4 << 20).decode(errors="replace")
    return [line.split(":") for line in text.splitlines() if line and not line.startswith("#")]


def _passwd(rootfs: Path) -> list[PasswdEntry]:
    out = []
    for fields in _read_in_root(rootfs, "etc/passwd"):
        if len(fields) >= 4 and fields[2].isdigit() and fields[3].isdigit():
            out.append(PasswdEntry(fields[0], int(fields[2]), int(fields[3])))
    return out


def _groups(rootfs: Path) -> list[GroupEntry]:
    out = []
    for fields in _read_in_root(rootfs, "etc/group"):
        if len(fields) >= 3 and fields[2].isdigit():
            members = [m for m in fields[3].split(",") if m] if len(fields) >= 4 else []
            out.append(GroupEntry(fields[0], int(fields[2]), members))
    return out


def resolve_user(rootfs: Path, value: str) -> dict[str, object]:
    """`name`, `uid`, `name:group`, `uid:gid` -> {"uid", "gid", "additionalGids"}."""
    user_part, _, group_part = value.partition(":")
    passwd = _passwd(rootfs)
    if user_part.isdigit():
        uid = int(user_part)
        entry = next((e for e in passwd if e.uid == uid), None)
    else:
        entry = next((e for e in passwd if e.name == user_part), None)
        if entry is None:
            raise errdefs.InvalidArgument(
                f"unable to find user {user_part}: no matching entries in passwd file"
            )
        uid = entry.uid
    gid = entry.gid if entry else 0
    groups = _groups(rootfs)
    if group_part:
        if group_part.isdigit():
            gid = int(group_part)
        else:
            group = next((g for g in groups if g.name == group_part), None)
            if group is None:
                raise errdefs.InvalidArgument(
                    f"unable to find group {group_part}: no matching entries in group file"
                )
            gid = group.gid
    additional = sorted({g.gid for g in groups if entry and entry.name in g.members and g.gid != gid})
    user: dict[str, object] = {"uid": uid, "gid": gid}
    if additional:
        user["additionalGids"] = additional
    return user


def resolve_group_names(rootfs: Path, names: list[str]) -> list[int]:
    """`--group-add` names -> gids from the rootfs's /etc/group (Docker's wording when missing)."""
    groups = _groups(rootfs)
    gids = []
    for name in names:
        group = next((g for g in groups if g.name == name), None)
        if group is None:
            raise errdefs.InvalidArgument(f"Unable to find group {name}: no matching entries in group file")
        gids.append(group.gid)
    return gids
