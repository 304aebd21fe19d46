"""Run a function as another owner of files: a thread of its own whose filesystem uid/gid are set.

Credentials are per thread in Linux, so only that thread acts as the other owner, and it ends
with the call. setfsuid to a non-zero id drops the file capabilities (CAP_CHOWN,
CAP_DAC_OVERRIDE, …) from the effective set; they are raised again from the permitted set so the
thread keeps root's powers while files it creates get the new owner. Used where a host process
writes into a tree whose owners are shifted (idmapped mounts under userns-remap): there, host
uid 0 has no mapping and creating a file would fail with EOVERFLOW.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

from wharf.linux import capabilities
from wharf.linux.libc import libc

T = TypeVar("T")


def run_with_fs_ids(uid: int, gid: int, function: Callable[[], T]) -> T:
    result: list[T] = []
    failure: list[BaseException] = []

    def run() -> None:
        try:
            libc.setfsuid(uid)
            libc.setfsgid(gid)
            permitted = _permitted_capabilities()
            capabilities.capset(permitted, permitted, set())
            result.append(function())
        except BaseException as err:  # handed to the caller's thread
            failure.append(err)

    thread = threading.Thread(target=run, name=f"fs-ids-{uid}")
    thread.start()
    thread.join()
    if failure:
        raise failure[0]
    return result[0]


def _permitted_capabilities() -> set[int]:
    with open("/proc/thread-self/status") as status:
        for line in status:
            if line.startswith("CapPrm:"):
                mask = int(line.split()[1], 16)
                return {cap for cap in range(64) if mask >> cap & 1}
    return set()
