"""Idmapped mounts (mount_setattr MOUNT_ATTR_IDMAP): a view of a directory tree whose file owners
are shifted through a user namespace's mappings, without chowning a file.

Used for userns-remap: a container's root is a host uid from a subordinate range, and its rootfs
must look owned by it. A user namespace with the mappings is made by a short-lived helper process
(`unshare` needs a process to hold the namespace while its maps are written)."""

from __future__ import annotations

import ctypes
import os
import platform
import subprocess
import time
from collections.abc import Sequence

from wharf.linux.libc import check, libc

IdMap = tuple[int, int, int]
"""(id inside, id outside, count), as a line of /proc/<pid>/uid_map"""

# x86_64 and aarch64 share the numbers of the calls added after 2019 (the "new" table).
_SYS_OPEN_TREE, _SYS_MOVE_MOUNT, _SYS_MOUNT_SETATTR = 428, 429, 442
_OPEN_TREE_CLONE = 1
_OPEN_TREE_CLOEXEC = os.O_CLOEXEC
_AT_EMPTY_PATH = 0x1000
_MOVE_MOUNT_F_EMPTY_PATH = 0x4
_MOUNT_ATTR_IDMAP = 0x00100000
_AT_FDCWD = -100


class _MountAttr(ctypes.Structure):
    _fields_ = [("attr_set", ctypes.c_uint64), ("attr_clr", ctypes.c_uint64),
                ("propagation", ctypes.c_uint64), ("userns_fd", ctypes.c_uint64)]


def supported() -> bool:
    return platform.machine() in ("x86_64", "aarch64")


def _format(mappings: Sequence[IdMap]) -> str:
    return "".join(f"{inner} {outer} {count}\n" for inner, outer, count in mappings)


def user_namespace(uid_map: Sequence[IdMap], gid_map: Sequence[IdMap]) -> int:
    """An fd of a new user namespace with these mappings (the caller closes it)."""
    own = os.readlink("/proc/self/ns/user")
    holder = subprocess.Popen(["unshare", "--user", "--", "sleep", "60"], stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 5
        while os.readlink(f"/proc/{holder.pid}/ns/user") == own:
            if holder.poll() is not None or time.monotonic() > deadline:
                raise OSError(f"unshare --user did not make a user namespace (exit {holder.returncode})")
            time.sleep(0.001)
        with open(f"/proc/{holder.pid}/uid_map", "w") as out:
            out.write(_format(uid_map))
        with open(f"/proc/{holder.pid}/setgroups", "w") as out:
            out.write("deny")
        with open(f"/proc/{holder.pid}/gid_map", "w") as out:
            out.write(_format(gid_map))
        return os.open(f"/proc/{holder.pid}/ns/user", os.O_RDONLY | os.O_CLOEXEC)
    finally:
        holder.kill()
        holder.wait()


def bind_idmapped(source: str, target: str, userns_fd: int) -> None:
    """Mount at `target` a view of the tree at `source` with its owners shifted through the
    mappings of the user namespace `userns_fd` (on-disk id k shows as the id k maps to)."""
    tree = check(libc.syscall(_SYS_OPEN_TREE, _AT_FDCWD, source.encode(),
                              _OPEN_TREE_CLONE | _OPEN_TREE_CLOEXEC), "open_tree", source)
    try:
        attr = _MountAttr(attr_set=_MOUNT_ATTR_IDMAP, userns_fd=userns_fd)
        check(libc.syscall(_SYS_MOUNT_SETATTR, tree, b"", _AT_EMPTY_PATH, ctypes.byref(attr),
                           ctypes.sizeof(attr)), "mount_setattr(MOUNT_ATTR_IDMAP)", source)
        check(libc.syscall(_SYS_MOVE_MOUNT, tree, b"", _AT_FDCWD, target.encode(), _MOVE_MOUNT_F_EMPTY_PATH),
              "move_mount", target)
    finally:
        os.close(tree)
