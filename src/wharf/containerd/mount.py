"""mount(2)/umount2(2) for snapshot Mounts, through libc (the supervisor runs as root)."""

from __future__ import annotations

import errno
from pathlib import Path

from wharf.containerd.core.snapshots import Mount
from wharf.linux.mount import MNT_DETACH, MS_BIND, MS_RDONLY, MS_REC, MS_REMOUNT, umount2
from wharf.linux.mount import mount as mount_syscall


def _mount(source: str, target: str, fstype: str | None, flags: int, data: str | None) -> None:
    try:
        mount_syscall(source, target, fstype, flags, data)
    except OSError as err:
        raise OSError(err.errno, f"mount {fstype or ''} {source} on {target}: {err.strerror}") from None


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
        try:
            umount2(str(target))
            continue
        except OSError as err:
            if err.errno in (errno.EINVAL, errno.ENOENT):
                return
            if err.errno != errno.EBUSY:
                raise OSError(err.errno, f"umount {target}: {err.strerror}") from None
        try:
            umount2(str(target), MNT_DETACH)
        except OSError as err:
            raise OSError(err.errno, f"umount {target}: {err.strerror}") from None
