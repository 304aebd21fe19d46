"""Events the supervisor publishes (task lifecycle, image records), in the order they happened."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Protocol

TOPIC_TASK_CREATE = "/tasks/create"
TOPIC_TASK_START = "/tasks/start"
TOPIC_TASK_EXIT = "/tasks/exit"
TOPIC_TASK_DELETE = "/tasks/delete"
TOPIC_TASK_PAUSED = "/tasks/paused"
TOPIC_TASK_RESUMED = "/tasks/resumed"
TOPIC_IMAGE_CREATE = "/images/create"
TOPIC_IMAGE_UPDATE = "/images/update"
TOPIC_IMAGE_DELETE = "/images/delete"


@dataclass
class Event:
    topic: str
    container_id: str
    timestamp: int
    """Nanoseconds since the epoch."""
    attributes: dict[str, str] = field(default_factory=dict)
    """For /tasks/exit: `exit_status` and `exited_at` (decimal strings), `pid`; for /images/*: `name`."""


class EventService(Protocol):
    def subscribe(self) -> AsyncIterator[Event]:
        """Events from now on, until the iterator is closed."""
