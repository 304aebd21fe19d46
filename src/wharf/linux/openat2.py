"""openat2(2) with RESOLVE_IN_ROOT: path lookups that cannot leave a directory.

Symlinks and `..` met while resolving are interpreted as if the directory were `/` (a chroot for one
lookup), so an image layer's symlink can't lead a write out of the rootfs, nor a container's
symlink a `docker cp` out of the container. Magic links (/proc/self/root…) are refused."""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
import platform

_SYS_OPENAT2 = {"x86_64": 437, "aarch64": 437, "riscv64": 437, "ppc64le": 437, "s390x": 437}[platform.machine()]
RESOLVE_NO_XDEV = 0x01
RESOLVE_NO_MAGICLINKS = 0x02
RESOLVE_IN_ROOT = 0x10


class _OpenHow(ctypes.Structure):
    _fields_ = [("flags", ctypes.c_uint64), ("mode", ctypes.c_uint64), ("resolve", ctypes.c_uint64)]


_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
_libc.syscall.restype = ctypes.c_long


def open_in_root(root_fd: int, path: str, flags: int, mode: int = 0, cross_mounts: bool = False) -> int:
    """Open `path` (relative to `root_fd`, "" or "/" for the root itself) resolved inside the root.
    Mount points below the root are crossed only with `cross_mounts` (a container's view)."""
    resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | (0 if cross_mounts else RESOLVE_NO_XDEV)
    how = _OpenHow(flags | os.O_CLOEXEC, mode, resolve)
    encoded = (path.lstrip("/") or ".").encode("utf-8", "surrogateescape")
    while True:
        fd = _libc.syscall(
            ctypes.c_long(_SYS_OPENAT2),
            ctypes.c_int(root_fd),
            ctypes.c_char_p(encoded),
            ctypes.byref(how),
            ctypes.c_size_t(ctypes.sizeof(how)),
        )
        if fd >= 0:
            return int(fd)
        err = ctypes.get_errno()
        if err in (errno.EAGAIN, errno.EINTR):  # EAGAIN: a concurrent rename; the kernel asks to retry
            continue
        raise OSError(err, os.strerror(err), path)
