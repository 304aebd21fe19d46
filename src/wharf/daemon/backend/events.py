"""The daemon's event bus: what `GET /events` streams (container, image… lifecycle)."""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Callable
from typing import Any

from wharf.daemon.backend.timefmt import now_ns

HISTORY_SIZE = 1024


class EventBus:
    def __init__(self) -> None:
        self._history: collections.deque[dict[str, Any]] = collections.deque(maxlen=HISTORY_SIZE)
        self._subscribers: set[asyncio.Queue[dict[str, Any]]] = set()
        self._observers: list[Callable[[dict[str, Any]], None]] = []

    @property
    def listeners(self) -> int:
        return len(self._subscribers)

    def publish(self, kind: str, action: str, actor_id: str, attributes: dict[str, str]) -> dict[str, Any]:
        ns = now_ns()
        event: dict[str, Any] = {
            "Type": kind,
            "Action": action,
            "Actor": {"ID": actor_id, "Attributes": dict(attributes)},
            "scope": "local",
            "time": ns // 1_000_000_000,
            "timeNano": ns,
        }
        if kind == "container":
            # The legacy fields old clients still read.
            event.update({"status": action, "id": actor_id, "from": attributes.get("image", "")})
        elif kind == "image":
            event.update({"status": action, "id": actor_id})
        self._history.append(event)
        for queue in self._subscribers:
            queue.put_nowait(event)
        for observe in self._observers:
            observe(event)
        return event

    def add_observer(self, observe: Callable[[dict[str, Any]], None]) -> None:
        """Call `observe` with every event, synchronously (daemon services reacting to container
        events; not an API listener)."""
        self._observers.append(observe)

    def subscribe(self, since_ns: int | None = None) -> EventSubscription:
        """Live events from now on, plus (with `since_ns`) the remembered ones since then."""
        return EventSubscription(self, since_ns)


class EventSubscription:
    """`backlog`: past events (oldest first); `next()`: the next live one. Close when done."""

    def __init__(self, bus: EventBus, since_ns: int | None) -> None:
        self._bus = bus
        self._queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        # Registered before the backlog is taken: nothing falls between the two.
        bus._subscribers.add(self._queue)
        self.backlog = [] if since_ns is None else [e for e in bus._history if e["timeNano"] >= since_ns]

    async def next(self) -> dict[str, Any]:
        return await self._queue.get()

    def close(self) -> None:
        self._bus._subscribers.discard(self._queue)


def matches_filters(event: dict[str, Any], filters: dict[str, list[str]]) -> bool:
    """Docker's event filters: type, event/action, container, image, label."""
    attributes = event["Actor"]["Attributes"]
    for key, wanted in filters.items():
        if not wanted:
            continue
        if key == "type" and event["Type"] not in wanted:
            return False
        if key == "event" and event["Action"] not in wanted and event["Action"].split(":")[0] not in wanted:
            return False
        if key == "container" and (
            event["Type"] != "container"
            or not any(w in (event["Actor"]["ID"], attributes.get("name")) or event["Actor"]["ID"].startswith(w)
                       for w in wanted)
        ):
            return False
        if key == "image" and attributes.get("image") not in wanted and event["Actor"]["ID"] not in wanted:
            return False
        if key == "label":
            for label in wanted:
                name, sep, value = label.partition("=")
                if name not in attributes or (sep and attributes[name] != value):
                    return False
    return True
