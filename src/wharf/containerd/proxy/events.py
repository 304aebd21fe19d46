"""EventService over gRPC: a server stream per subscription."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import grpc

from wharf.api import containerd_pb2 as pb
from wharf.api import containerd_pb2_grpc as pb_grpc
from wharf.containerd import wire
from wharf.containerd.core.events import Event
from wharf.containerd.grpc_status import error_of
from wharf.containerd.proxy.rpc import CallGate


class EventStream:
    """The events of one subscription, from the moment subscribe() was called: the supervisor
    first sends an empty message once the subscription is live, and until then the client's other
    calls wait (CallGate). `await stream.ready()` waits for that moment explicitly."""

    def __init__(self, stub: pb_grpc.EventsStub, gate: CallGate) -> None:
        self._call = stub.Subscribe(pb.Empty())
        self._live: asyncio.Future[object] = asyncio.ensure_future(self._call.read())
        self._live.add_done_callback(_retrieve_exception)
        gate.hold_until(self._live)

    async def _read(self, read: asyncio.Future[object] | None = None) -> object:
        try:
            return await (read if read is not None else self._call.read())
        except grpc.aio.AioRpcError as err:
            raise error_of(err) from None

    async def ready(self) -> None:
        if await self._read(self._live) is grpc.aio.EOF:
            raise StopAsyncIteration

    def __aiter__(self) -> AsyncIterator[Event]:
        return self

    async def __anext__(self) -> Event:
        await self.ready()
        message = await self._read()
        if message is grpc.aio.EOF:
            raise StopAsyncIteration
        assert isinstance(message, pb.Event)
        return wire.event_from_pb(message)

    async def aclose(self) -> None:
        self._call.cancel()


def _retrieve_exception(future: asyncio.Future[object]) -> None:
    # The stream's reader gets the error; don't let asyncio report it as never retrieved.
    if not future.cancelled():
        future.exception()


class EventServiceProxy:
    def __init__(self, stub: pb_grpc.EventsStub, gate: CallGate) -> None:
        self._stub = stub
        self._gate = gate

    def subscribe(self) -> EventStream:
        return EventStream(self._stub, self._gate)
