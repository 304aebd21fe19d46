"""A snapshot mounted in wharfd for the time of one COPY/ADD (as Docker's builder mounts a
container's rootfs): `mounted(snapshots, key, workdir)`. No process runs in it; it is unmounted
(lazily if busy) before the snapshot is diffed."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import shutil
from collections.abc import AsyncIterator

from wharf.containerd.core.snapshots import Mount, Snapshotter
from wharf.linux import mount as linux_mount

MNT_DETACH = 2


def _mount(m: Mount, target: str) -> None:
    if m.type == "bind":
        flags = linux_mount.MS_BIND | (linux_mount.MS_REC if "rbind" in m.options else 0)
        linux_mount.mount(m.source, target, None, flags)
        if "ro" in m.options:
            linux_mount.mount(None, target, None, flags | linux_mount.MS_REMOUNT | linux_mount.MS_RDONLY)
        return
    flags = linux_mount.MS_RDONLY if "ro" in m.options else 0
    data = ",".join(opt for opt in m.options if opt not in ("ro", "rw"))
    linux_mount.mount(m.source, target, m.type, flags, data)


def _unmount(target: str) -> None:
    try:
        linux_mount.umount2(target)
    except OSError:
        with contextlib.suppress(OSError):
            linux_mount.umount2(target, MNT_DETACH)


@contextlib.asynccontextmanager
async def mounted(snapshots: Snapshotter, key: str, base_dir: str) -> AsyncIterator[str]:
    """The snapshot `key` (active: read-write; committed: read-only) mounted under `base_dir`."""
    mounts = await snapshots.mounts(key)
    target = os.path.join(base_dir, secrets.token_hex(6))
    os.makedirs(target, mode=0o700)
    mounted_any = False
    try:
        for m in mounts:
            await asyncio.to_thread(_mount, m, target)
            mounted_any = True
        yield target
    finally:
        if mounted_any:
            await asyncio.to_thread(_unmount, target)
        with contextlib.suppress(OSError):
            os.rmdir(target)
        if not os.path.ismount(target):  # never remove files of a mount that stayed
            shutil.rmtree(target, ignore_errors=True)
