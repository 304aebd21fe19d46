"""Events service: a server stream of every event published after the subscription."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc

from wharf.api import containerd_pb2 as pb
from wharf.api import containerd_pb2_grpc as pb_grpc
from wharf.containerd import wire
from wharf.containerd.core.events import EventService
from wharf.containerd.services.errors import stream


class EventsService(pb_grpc.EventsServicer):
    def __init__(self, events: EventService) -> None:
        self._events = events

    @stream
    async def Subscribe(self, request: pb.Empty, context: grpc.aio.ServicerContext) -> AsyncIterator[pb.Event]:
        subscription = self._events.subscribe()
        try:
            # An empty first message tells the client the subscription is live.
            yield pb.Event()
            async for event in subscription:
                yield wire.event_to_pb(event)
        finally:
            await subscription.aclose()  # type: ignore[attr-defined]
