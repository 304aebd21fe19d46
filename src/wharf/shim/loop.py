"""A minimal event loop over `selectors`: fd callbacks and timers, nothing else.

The shim is a single thread; every handler must return quickly (runtime commands are the only
blocking calls, and they take milliseconds).
"""

from __future__ import annotations

import heapq
import itertools
import selectors
import time
from collections.abc import Callable

Callback = Callable[[], None]


class EventLoop:
    def __init__(self) -> None:
        self._selector = selectors.DefaultSelector()
        self._handlers: dict[int, list[Callback | None]] = {}
        self._timers: list[tuple[float, int, Callback]] = []
        self._cancelled: set[int] = set()
        self._sequence = itertools.count()
        self.running = False

    def on_readable(self, fd: int, callback: Callback | None) -> None:
        self._set(fd, 0, callback)

    def on_writable(self, fd: int, callback: Callback | None) -> None:
        self._set(fd, 1, callback)

    def forget(self, fd: int) -> None:
        if self._handlers.pop(fd, None) is not None:
            self._selector.unregister(fd)

    def call_later(self, delay: float, callback: Callback) -> int:
        handle = next(self._sequence)
        heapq.heappush(self._timers, (time.monotonic() + delay, handle, callback))
        return handle

    def cancel(self, handle: int) -> None:
        self._cancelled.add(handle)

    def run(self) -> None:
        self.running = True
        while self.running:
            for key, mask in self._selector.select(self._next_timeout()):
                handlers = self._handlers.get(key.fd)
                if handlers is None:
                    continue
                read = handlers[0]
                if mask & selectors.EVENT_READ and read is not None:
                    _guarded(read)
                # The read handler may have closed or re-registered the fd.
                handlers = self._handlers.get(key.fd)
                if handlers is not None and mask & selectors.EVENT_WRITE and handlers[1] is not None:
                    _guarded(handlers[1])
            self._run_due_timers()

    def stop(self) -> None:
        self.running = False

    def _set(self, fd: int, slot: int, callback: Callback | None) -> None:
        handlers = self._handlers.get(fd)
        if handlers is None:
            if callback is None:
                return
            handlers = [None, None]
            handlers[slot] = callback
            self._handlers[fd] = handlers
            self._selector.register(fd, self._events(handlers))
            return
        handlers[slot] = callback
        if handlers == [None, None]:
            self.forget(fd)
        else:
            self._selector.modify(fd, self._events(handlers))

    @staticmethod
    def _events(handlers: list[Callback | None]) -> int:
        read, write = handlers
        return (selectors.EVENT_READ if read else 0) | (selectors.EVENT_WRITE if write else 0)

    def _next_timeout(self) -> float | None:
        while self._timers and self._timers[0][1] in self._cancelled:
            self._cancelled.discard(heapq.heappop(self._timers)[1])
        if not self._timers:
            return None
        return max(0.0, self._timers[0][0] - time.monotonic())

    def _run_due_timers(self) -> None:
        now = time.monotonic()
        while self._timers and self._timers[0][0] <= now:
            _, handle, callback = heapq.heappop(self._timers)
            if handle in self._cancelled:
                self._cancelled.discard(handle)
            else:
                _guarded(callback)


def _guarded(callback: Callback) -> None:
    """Run a handler; a bug in one must not take the shim, and with it the container's stdio, down."""
    try:
        callback()
    except Exception:
        import sys
        import traceback

        traceback.print_exc()
        sys.stderr.flush()
