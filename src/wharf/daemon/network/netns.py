"""Network namespaces pinned to a file (as `ip netns add` does), so they outlive any process and
can be handed to the OCI runtime as a namespace path.

A namespace is made by a thread of its own: unshare(2) with CLONE_NEWNET moves only the calling
thread, which brings `lo` up, pins the namespace and ends, so wharfd's other threads never leave
the host's namespace. No process is started (and wharfd never forks itself: it runs threads, and
gRPC does not survive a fork).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import fcntl
import os
import socket
import struct
import threading
import time
from pathlib import Path

from wharf import errdefs
from wharf.linux.mount import MNT_DETACH, MS_BIND, mount, umount2
from wharf.linux.namespaces import CLONE_NEWNET, unshare

SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP = 0x8913, 0x8914, 0x1
IFREQ = struct.Struct("16sH22x")
"""struct ifreq as the interface-flags ioctls read it: the name, then the flags."""


def _bring_loopback_up() -> None:
    """`ip link set lo up`, in the calling thread's network namespace."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        _, flags = IFREQ.unpack(fcntl.ioctl(probe.fileno(), SIOCGIFFLAGS, IFREQ.pack(b"lo", 0)))
        fcntl.ioctl(probe.fileno(), SIOCSIFFLAGS, IFREQ.pack(b"lo", flags | IFF_UP))


def _make_and_pin(path: Path, loopback_up: bool) -> None:
    """On a thread that ends right after: it is left in the new namespace."""
    unshare(CLONE_NEWNET)
    if loopback_up:
        _bring_loopback_up()
    mount(f"/proc/self/task/{threading.get_native_id()}/ns/net", str(path), None, MS_BIND)


async def create(path: Path, loopback_up: bool = False) -> None:
    """A new namespace pinned at `path`; with `loopback_up`, its `lo` is up (what CNI's loopback
    plugin does, without its process)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(exist_ok=False)
    loop = asyncio.get_running_loop()
    made: asyncio.Future[None] = loop.create_future()

    def settle(error: BaseException | None) -> None:
        if made.done():
            return
        if error is not None:
            made.set_exception(error)
        else:
            made.set_result(None)

    def make() -> None:
        error = None
        try:
            _make_and_pin(path, loopback_up)
        except BaseException as err:  # noqa: BLE001 - handed to the event loop
            error = err
        loop.call_soon_threadsafe(settle, error)

    threading.Thread(target=make, name="netns-create", daemon=True).start()
    try:
        await made  # cancelled, this leaves the thread to run to its end
    except OSError as err:
        path.unlink(missing_ok=True)
        raise errdefs.System(f"cannot create network namespace {path}: {err}") from err


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
