"""Waiting for a process that need not be our child, on a pidfd (no polling)."""

from __future__ import annotations

import os
import select
import signal


def kill_and_wait(pid: int, sig: int = signal.SIGKILL, timeout: float = 10.0) -> None:
    """Signal a process that need not be our child and wait (on a pidfd, no polling) until it exits."""
    try:
        pidfd = os.pidfd_open(pid)
    except ProcessLookupError:
        return
    try:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        select.select([pidfd], [], [], timeout)
    finally:
        os.close(pidfd)
    # A child of ours (run, or a failed create) must be reaped too.
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass
