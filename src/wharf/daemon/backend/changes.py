"""`docker diff`: what a container changed in its rootfs, read from its overlay snapshot's upper dir.

In the upper dir: a whiteout (a 0:0 character device) is a deletion, a directory marked opaque
replaced the lower one; any other entry is an addition, or a modification when a lower layer has the
same path. A directory is reported changed only when something below it is (as Docker shows it),
and the files the daemon bind-mounts into every container are left out.
"""

from __future__ import annotations

import os
import stat
from typing import Any

from wharf import errdefs
from wharf.containerd.core.snapshots import Mount

MODIFIED, ADDED, DELETED = 0, 1, 2
DAEMON_FILES = {"/etc/hosts", "/etc/hostname", "/etc/resolv.conf", "/.dockerenv"}


def overlay_dirs(mounts: list[Mount]) -> tuple[str, list[str]]:
    """(upperdir, lowerdirs nearest first) of a snapshot's read-write overlay mount."""
    for m in mounts:
        if m.type != "overlay":
            continue
        options = dict(o.split("=", 1) for o in m.options if "=" in o)
        if "upperdir" in options:
            return options["upperdir"], [d for d in options.get("lowerdir", "").split(":") if d]
    raise errdefs.NotImplementedYet("changes are known only for overlay snapshots with an upper dir")


def _in_lower(lowers: list[str], rel: str) -> bool:
    return any(os.path.lexists(os.path.join(lower, rel)) for lower in lowers)


def _is_whiteout(st: os.stat_result) -> bool:
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == 0


def changes(upper: str, lowers: list[str]) -> list[dict[str, Any]]:
    found: dict[str, int] = {}
    directories: set[str] = set()

    def walk(directory: str, rel: str) -> None:
        try:
            names = sorted(os.listdir(directory))
        except OSError:
            return
        for name in names:
            path_rel = f"{rel}/{name}"
            full = os.path.join(directory, name)
            st = os.lstat(full)
            if _is_whiteout(st):
                found[path_rel] = DELETED
                continue
            existed = _in_lower(lowers, path_rel.lstrip("/"))
            if stat.S_ISDIR(st.st_mode) and existed:
                directories.add(path_rel)  # reported if something below changed
                walk(full, path_rel)
                continue
            found[path_rel] = MODIFIED if existed else ADDED
            if stat.S_ISDIR(st.st_mode):
                walk(full, path_rel)

    walk(upper, "")
    for path in list(found):
        if path in DAEMON_FILES:
            del found[path]
    for directory in directories:
        if any(p.startswith(directory + "/") for p in found):
            found[directory] = MODIFIED
    return [{"Path": path, "Kind": kind} for path, kind in sorted(found.items())]
