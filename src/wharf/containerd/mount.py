"""mount(2)/umount2(2) for snapshot Mounts, through libc (the supervisor runs as root)."""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
from pathlib import Path

from wharf.containerd.core.snapshots import Mount

MS_RDONLY = 0x1
MS_REMOUNT = 0x20
MS_BIND = 0x1000
MS_REC = 0x4000
MNT_DETACH = 0x2

_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
_libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
_libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]


def _mount(source: str, target: str, fstype: str | None, flags: int, data: str | None) -> None:
    rc = _libc.mount(
        source.encode(),
        target.encode(),
        fstype.encode() if fstype else None,
        flags,
        data.encode() if data else None,
    )
    if rc != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"mount {fstype or ''} {source} on {target}: {os.strerror(err)}")


def mount(m: Mount, target: Path) -> None:
    if m.type == "bind":
        flags = MS_BIND | (MS_REC if "rbind" in m.options else 0)
        _mount(m.source, str(target), None, flags, None)
        if "ro" in m.options:
            _mount("", str(target), None, flags | MS_REMOUNT | MS_RDONLY, None)
        return
    flags = MS_RDONLY if "ro" in m.options else 0
    data = ",".join(opt for opt in m.options if opt not in ("ro", "rw"))
    _mount(m.source, str(target), m.type, flags, data)


def mount_all(mounts: list[Mount], target: Path) -> None:
    for m in mounts:
        mount(m, target)


def unmount(target: Path) -> None:
    """Unmount everything stacked on `target`; not mounted is fine."""
    while True:
        if _libc.umount2(str(target).encode(), 0) == 0:
            continue
        err = ctypes.get_errno()
        if err in (errno.EINVAL, errno.ENOENT):
            return
        if err == errno.EBUSY:
            if _libc.umount2(str(target).encode(), MNT_DETACH) == 0:
                continue
            err = ctypes.get_errno()
        raise OSError(err, f"umount {target}: {os.strerror(err)}")
