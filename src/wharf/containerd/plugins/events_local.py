"""The in-process event broadcaster: every subscriber gets every event published after it subscribed."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

from wharf.containerd.core.events import Event

_QUEUE_LIMIT = 10_000


class EventBroadcaster:
    def __init__(self) -> None:
        self._queues: set[asyncio.Queue[Event]] = set()

    def publish(self, topic: str, container_id: str, attributes: dict[str, str] | None = None) -> None:
        event = Event(topic, container_id, time.time_ns(), dict(attributes or {}))
        for queue in list(self._queues):
            if queue.qsize() < _QUEUE_LIMIT:  # a subscriber that stopped reading loses events, not memory
                queue.put_nowait(event)

    def subscribe(self) -> AsyncIterator[Event]:
        # Registered now, not at the first __anext__: events published right after subscribe() count.
        queue: asyncio.Queue[Event] = asyncio.Queue()
        self._queues.add(queue)
        return self._drain(queue)

    async def _drain(self, queue: asyncio.Queue[Event]) -> AsyncIterator[Event]:
        try:
            while True:
                yield await queue.get()
        finally:
            self._queues.discard(queue)
