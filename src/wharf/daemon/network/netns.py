"""Network namespaces pinned to a file (as `ip netns add` does), so they outlive any process and
can be handed to the OCI runtime as a namespace path.

The namespace is made by util-linux `unshare --net=FILE`: wharfd never forks itself (it runs
threads, and gRPC does not survive a fork).
"""

from __future__ import annotations

import asyncio
import errno
from pathlib import Path

from wharf import errdefs
from wharf.linux.mount import MNT_DETACH, umount2


async def create(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(exist_ok=False)
    process = await asyncio.create_subprocess_exec(
        "unshare", f"--net={path}", "true", stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await process.communicate()
    if process.returncode != 0:
        path.unlink(missing_ok=True)
        raise errdefs.System(f"cannot create network namespace {path}: {stderr.decode().strip()}")


def remove(path: Path) -> None:
    """Unpin and delete (the namespace goes away with its last user)."""
    try:
        umount2(str(path), MNT_DETACH)
    except OSError as err:
        if err.errno not in (errno.EINVAL, errno.ENOENT):  # not a mount point, or gone already
            raise errdefs.System(f"cannot unmount {path}: {err.strerror}") from err
    path.unlink(missing_ok=True)
