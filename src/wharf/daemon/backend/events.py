"""The daemon's event bus: what `GET /events` streams (container, image… lifecycle)."""

from __future__ import annotations

import asyncio
import collections
from collections.abc import AsyncIterator
from typing import Any

from wharf.daemon.backend.timefmt import now_ns

HISTORY_SIZE = 1024


class EventBus:
    def __init__(self) -> None:
        self._history: collections.deque[dict[str, Any]] = collections.deque(maxlen=HISTORY_SIZE)
        self._subscribers: set[asyncio.Queue[dict[str, Any]]] = set()

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
        self._history.append(event)
        for queue in self._subscribers:
            queue.put_nowait(event)
        return event

    async def subscribe(self, since_ns: int | None = None) -> AsyncIterator[dict[str, Any]]:
        """Past events from `since_ns` (if given), then live ones until the consumer stops."""
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._subscribers.add(queue)
        try:
            if since_ns is not None:
                for event in list(self._history):
                    if event["timeNano"] >= since_ns:
                        yield event
            while True:
                yield await queue.get()
        finally:
            self._subscribers.discard(queue)


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
