"""Following the supervisor's events: exits reach the container service as they happen, and changed
image records drop wharfd's copy of them (image_records.py)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable

from wharf import errdefs
from wharf.containerd.core.events import TOPIC_TASK_EXIT, Event
from wharf.daemon.backend.containers import ContainerService
from wharf.daemon.backend.supervisor import Supervisor
from wharf.daemon.backend.timefmt import now_ns

log = logging.getLogger("wharfd.monitor")

RESUBSCRIBE_DELAY = 0.5
IMAGE_TOPICS_PREFIX = "/images/"
SUBSCRIBE_SETTLE_SECONDS = 0.05


def _dispatch(containers: ContainerService, on_images_changed: Callable[[], None], event: Event) -> None:
    if event.topic == TOPIC_TASK_EXIT:
        containers.task_exited(
            event.container_id,
            int(event.attributes.get("exit_status", "255")),
            int(event.attributes.get("exited_at", "0")) or now_ns(),
        )
    elif event.topic.startswith(IMAGE_TOPICS_PREFIX):
        on_images_changed()


async def _follow_once(supervisor: Supervisor, containers: ContainerService, subscribed: asyncio.Event | None,
                       on_images_changed: Callable[[], None]) -> None:
    stream: AsyncIterator[Event] = supervisor.events.subscribe()
    next_event = asyncio.ensure_future(anext(stream))
    try:
        # Give the subscription a moment to reach the supervisor, then pick up what happened while
        # nobody listened (exits during a restart of wharfd, image records changed); events from
        # here on are not missed.
        done, _ = await asyncio.wait({next_event}, timeout=SUBSCRIBE_SETTLE_SECONDS)
        on_images_changed()
        await containers.reconcile()
        if subscribed is not None:
            subscribed.set()
        while True:
            event = await next_event
            _dispatch(containers, on_images_changed, event)
            next_event = asyncio.ensure_future(anext(stream))
    finally:
        next_event.cancel()
        with contextlib.suppress(BaseException):
            await next_event
        with contextlib.suppress(Exception):
            await stream.aclose()  # type: ignore[attr-defined]


async def follow_task_events(supervisor: Supervisor, containers: ContainerService,
                             subscribed: asyncio.Event | None = None,
                             on_images_changed: Callable[[], None] = lambda: None) -> None:
    """Forever: subscribe, reconcile, dispatch exits and image record changes; subscribe again if
    the stream breaks."""
    while True:
        try:
            await _follow_once(supervisor, containers, subscribed, on_images_changed)
        except asyncio.CancelledError:
            raise
        except (StopAsyncIteration, errdefs.WharfError, OSError) as err:
            log.warning("supervisor event stream ended (%s); subscribing again", err)
        except Exception:
            log.exception("supervisor event stream failed; subscribing again")
        await asyncio.sleep(RESUBSCRIBE_DELAY)
