"""Network namespaces pinned to a file (as `ip netns add` does), so they outlive any process and
can be handed to the OCI runtime as a namespace path.

The namespace is made by util-linux `unshare --net=FILE`: wharfd never forks itself (it runs
threads, and gRPC does not survive a fork).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import time
from pathlib import Path

from wharf import errdefs
from wharf.linux.mount import MNT_DETACH, MS_BIND, mount, umount2


async def create(path: Path, loopback_up: bool = False) -> None:
    """A new namespace pinned at `path`; with `loopback_up`, its `lo` is brought up by the same
    process (`ip link set lo up` run inside it: what CNI's loopback plugin does, one exec less)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(exist_ok=False)
    command = ("ip", "link", "set", "lo", "up") if loopback_up else ("true",)
    process = await asyncio.create_subprocess_exec(
        "unshare", f"--net={path}", *command, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
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


async def create_in_user_namespace(path: Path, userns_path: Path, uid_map: list[tuple[int, int, int]],
                                   gid_map: list[tuple[int, int, int]]) -> None:
    """A network namespace owned by a new user namespace with these mappings, both pinned.

    For userns-remap: a container that joins both is root over its network namespace, so it can
    mount sysfs and `exec` can join it (a runtime joins the user namespace first)."""
    for pin in (path, userns_path):
        pin.parent.mkdir(parents=True, exist_ok=True)
        pin.touch(exist_ok=False)
    own = os.readlink("/proc/self/ns/user")
    holder = await asyncio.create_subprocess_exec(
        "unshare", "--user", "--net", "--", "sleep", "60",
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while os.readlink(f"/proc/{holder.pid}/ns/user") == own:
            if holder.returncode is not None or time.monotonic() > deadline:
                raise errdefs.System("cannot create a user namespace: unshare --user failed")
            await asyncio.sleep(0.002)
        for name, mappings in (("uid_map", uid_map), ("gid_map", gid_map)):
            with open(f"/proc/{holder.pid}/{name}", "w") as out:
                out.write("".join(f"{inner} {outer} {count}\n" for inner, outer, count in mappings))
        mount(f"/proc/{holder.pid}/ns/user", str(userns_path), None, MS_BIND)
        mount(f"/proc/{holder.pid}/ns/net", str(path), None, MS_BIND)
    except BaseException as err:
        remove(path)
        remove(userns_path)
        if isinstance(err, OSError):
            raise errdefs.System(f"cannot create the user and network namespaces {path}: {err}") from err
        raise
    finally:
        with contextlib.suppress(ProcessLookupError):
            holder.kill()
        await holder.wait()
