"""Run a function inside another network namespace, on a thread of its own.

setns(2) with CLONE_NEWNET changes only the calling thread. A fresh thread enters the
namespace, runs the function (typically to create sockets, which stay in that namespace for
their whole life), and ends; the daemon's other threads never leave the host namespace.
"""

from __future__ import annotations

import ctypes
import os
import threading
from collections.abc import Callable
from typing import TypeVar

CLONE_NEWNET = 0x40000000
T = TypeVar("T")


def run_in_netns(netns_path: str, function: Callable[[], T]) -> T:
    outcome: dict[str, object] = {}

    def body() -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        try:
            fd = os.open(netns_path, os.O_RDONLY | os.O_CLOEXEC)
            try:
                if libc.setns(fd, CLONE_NEWNET) != 0:
                    errno = ctypes.get_errno()
                    raise OSError(errno, f"setns {netns_path}: {os.strerror(errno)}")
            finally:
                os.close(fd)
            outcome["value"] = function()
        except BaseException as err:  # handed to the caller's thread
            outcome["error"] = err

    thread = threading.Thread(target=body, name="netns", daemon=True)
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    return outcome["value"]  # type: ignore[return-value]
