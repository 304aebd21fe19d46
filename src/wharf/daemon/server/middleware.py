"""Middleware: API version prefix and range, common headers, errors as `{"message": ...}`, and the
heap trim once requests stop."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from wharf import errdefs
from wharf.daemon.server.httpstatus import status_of
from wharf.daemon.server.responses import json_response
from wharf.daemon.server.versions import MAX_API_VERSION, SERVER_HEADER, check_version
from wharf.linux.heap import QuietTrimmer

log = logging.getLogger("wharfd.http")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Middleware = Callable[[web.Request, Handler], Awaitable[web.StreamResponse]]

API_VERSION_KEY = web.RequestKey("api_version", str)


def error_response(status: int, message: str) -> web.Response:
    if status == 304:
        return web.Response(status=304)
    return json_response({"message": message}, status=status)


async def add_common_headers(request: web.Request, response: web.StreamResponse) -> None:
    """on_response_prepare hook: every answer, streamed or not, carries these."""
    response.headers["Api-Version"] = MAX_API_VERSION
    response.headers["Server"] = SERVER_HEADER
    response.headers["Ostype"] = "linux"


@web.middleware
async def engine_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        requested = request.match_info.get("api_version")
        request[API_VERSION_KEY] = check_version(requested[1:]) if requested else MAX_API_VERSION
        response = await handler(request)
    except web.HTTPNotFound:
        response = error_response(404, "page not found")
    except web.HTTPMethodNotAllowed:
        response = error_response(404, "page not found")
    except web.HTTPException as err:
        if err.status < 400:
            raise
        response = error_response(err.status, err.reason)
    except errdefs.WharfError as err:
        status = status_of(err)
        if status >= 500:
            log.error("%s %s: %s", request.method, request.path, err)
        response = error_response(status, str(err))
    except Exception as err:  # a real fault: still answer in Docker's shape
        if _client_gone(request):
            # Not a fault: the client hung up before its answer was written (the docker CLI's
            # `run -d` leaves a wait request behind). The error answer goes nowhere, quietly.
            log.debug("%s %s: the client went away: %s", request.method, request.path, err)
        else:
            log.exception("%s %s failed", request.method, request.path)
        response = error_response(500, str(err) or type(err).__name__)
    return response


def _client_gone(request: web.Request) -> bool:
    transport = request.transport
    return transport is None or transport.is_closing()


def trim_heap_when_quiet(trimmer: QuietTrimmer) -> Middleware:
    """Every request's start and end is activity: the heap is trimmed after the last one of a burst."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        trimmer.activity()
        try:
            return await handler(request)
        finally:
            trimmer.activity()

    return middleware
