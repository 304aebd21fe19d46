"""Calling an RPC and turning its failure back into the errdefs error it stands for.

Calls pass a `CallGate` first: a call made after `events.subscribe()` is sent only once that
subscription is live on the supervisor, so the events caused by the call (or by anything after it)
can't be missed. This is what lets a client subscribe, then list tasks to catch up, without a gap.

Every call carries the caller's lease (core/leases.py `current_lease`) as `containerd-lease` metadata."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import grpc

from wharf.containerd.core.leases import LEASE_HEADER, current_lease
from wharf.containerd.grpc_status import error_of

Resp = TypeVar("Resp")


class CallGate:
    def __init__(self) -> None:
        self._pending: set[asyncio.Future[Any]] = set()

    def hold_until(self, live: asyncio.Future[Any]) -> None:
        self._pending.add(live)
        live.add_done_callback(self._pending.discard)

    async def passed(self) -> None:
        if self._pending:
            await asyncio.wait(list(self._pending))


def lease_metadata() -> tuple[tuple[str, str], ...] | None:
    """The metadata naming the current lease, or None outside one."""
    lease_id = current_lease.get()
    return ((LEASE_HEADER, lease_id),) if lease_id else None


async def call(gate: CallGate, method: Callable[..., Awaitable[Resp]], request: Any, **kwargs: Any) -> Resp:
    await gate.passed()
    kwargs.setdefault("metadata", lease_metadata())
    try:
        return await method(request, **kwargs)
    except grpc.aio.AioRpcError as err:
        raise error_of(err) from None
