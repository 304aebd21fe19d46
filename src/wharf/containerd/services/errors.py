"""Every RPC handler is wrapped so that a raised error leaves as its gRPC status (grpc_status), and
runs under the lease its caller named in the `containerd-lease` metadata (core/leases.py)."""

from __future__ import annotations

import functools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import grpc

from wharf import errdefs
from wharf.containerd.core.leases import LEASE_HEADER, using_lease
from wharf.containerd.grpc_status import status_of

log = logging.getLogger(__name__)

Req = TypeVar("Req")
Resp = TypeVar("Resp")
Handler = Callable[[Any, Req, grpc.aio.ServicerContext], Awaitable[Resp]]
StreamHandler = Callable[[Any, Req, grpc.aio.ServicerContext], AsyncIterator[Resp]]


def _lease_of(context: grpc.aio.ServicerContext) -> str:
    for key, value in context.invocation_metadata() or ():
        if key == LEASE_HEADER:
            return value if isinstance(value, str) else value.decode()
    return ""


async def _abort(context: grpc.aio.ServicerContext, err: Exception) -> None:
    if not isinstance(err, errdefs.WharfError):
        log.exception("unexpected error in RPC", exc_info=err)
    code, details, metadata = status_of(err)
    await context.abort(code, details, trailing_metadata=metadata)


def unary(fn: Handler[Req, Resp]) -> Handler[Req, Resp]:
    @functools.wraps(fn)
    async def wrapper(self: Any, request: Req, context: grpc.aio.ServicerContext) -> Resp:
        try:
            with using_lease(_lease_of(context)):
                return await fn(self, request, context)
        except Exception as err:  # noqa: BLE001 - every error leaves as a status
            await _abort(context, err)
            raise  # not reached: abort raises

    return wrapper


def stream(fn: StreamHandler[Req, Resp]) -> StreamHandler[Req, Resp]:
    @functools.wraps(fn)
    async def wrapper(self: Any, request: Req, context: grpc.aio.ServicerContext) -> AsyncIterator[Resp]:
        try:
            with using_lease(_lease_of(context)):
                async for item in fn(self, request, context):
                    yield item
        except Exception as err:  # noqa: BLE001
            await _abort(context, err)

    return wrapper
