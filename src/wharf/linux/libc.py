"""The process's libc, loaded once, and the errno check every wrapper uses."""

from __future__ import annotations

import ctypes
import os

libc = ctypes.CDLL(None, use_errno=True)


def check(result: int, what: str = "", path: str | None = None) -> int:
    """Turn a libc -1 return into OSError(errno), as os.* functions do."""
    if result == -1:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}" if what else os.strerror(err), path)
    return result
