"""Giving the C heap's free memory back to the kernel once a daemon goes quiet.

glibc keeps memory freed by Python (large objects, request bodies, the garbage of start-up) in its
heap for reuse, and raises its own trim threshold after every large free, so an idle daemon keeps
megabytes it no longer uses (wharfd: ~3 MiB after a `docker import`). `malloc_trim` returns them;
it takes ~0.01–0.1 ms, but pages it returns are faulted in again when reused, so it runs only after
a quiet spell, never between the requests of a burst.
"""

from __future__ import annotations

import asyncio

from wharf.linux.libc import libc

QUIET_SECONDS = 0.5
"""No activity for this long ends a burst: the gaps between one CLI command's requests are ms."""


def trim() -> None:
    """Return the free memory of every malloc arena to the kernel (no-op without glibc's malloc_trim)."""
    malloc_trim = getattr(libc, "malloc_trim", None)
    if malloc_trim is not None:
        malloc_trim(0)


class QuietTrimmer:
    """`activity()` on every request; the heap is trimmed once `QUIET_SECONDS` pass without one."""

    def __init__(self, quiet: float = QUIET_SECONDS) -> None:
        self.quiet = quiet
        self._last = 0.0
        self._timer: asyncio.TimerHandle | None = None

    def activity(self) -> None:
        """Cheap enough for every request: a clock read, and a timer only when none is armed."""
        loop = asyncio.get_running_loop()
        self._last = loop.time()
        if self._timer is None:
            self._timer = loop.call_at(self._last + self.quiet, self._expire)

    def _expire(self) -> None:
        loop = asyncio.get_running_loop()
        due = self._last + self.quiet
        if loop.time() < due:  # activity since the timer was armed: wait for the quiet spell
            self._timer = loop.call_at(due, self._expire)
            return
        self._timer = None
        trim()

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
