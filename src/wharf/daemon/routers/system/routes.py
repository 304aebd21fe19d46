"""`/_ping`, `/version`, `/info`, `/events`."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from typing import Any

from aiohttp import web

from wharf import errdefs
from wharf.daemon.backend.container_view import parse_filters
from wharf.daemon.backend.events import matches_filters
from wharf.daemon.routers.common import Route, api_version, filters_value
from wharf.daemon.routers.system.backend import SystemBackend
from wharf.daemon.server.responses import json_response
from wharf.daemon.server.streams import DISCONNECT_CHECK_SECONDS, client_gone
from wharf.daemon.server.versions import MAX_API_VERSION, at_least


def _info_for_version(info: dict[str, Any], version: str) -> dict[str, Any]:
    """`/info` with the fields older API versions still carry, as Docker 28 answers them."""
    if not at_least(version, "1.50"):
        info["BridgeNfIptables"] = info["BridgeNfIp6tables"] = False  # always false since Docker 28.0
    if not at_least(version, "1.49"):
        info["RegistryConfig"] = {"AllowNondistributableArtifactsCIDRs": None,
                                  "AllowNondistributableArtifactsHostnames": None, **info["RegistryConfig"]}
        for key in ("ContainerdCommit", "RuncCommit", "InitCommit"):
            info[key] = {**info[key], "Expected": info[key]["ID"]}
    return info


def _ping_headers() -> dict[str, str]:
    return {
        "Api-Version": MAX_API_VERSION,
        "Ostype": "linux",
        "Docker-Experimental": "false",
        "Builder-Version": "1",
        "Cache-Control": "no-cache, no-store, must-revalidate",
        "Pragma": "no-cache",
        "Swarm": "inactive",
    }


def _time_ns(text: str) -> int | None:
    """`since`/`until`: unix seconds with optional fraction, or an RFC3339 time."""
    if not text:
        return None
    try:
        return int(float(text) * 1_000_000_000)
    except ValueError:
        from wharf.daemon.backend.timefmt import parse_rfc3339

        ns = parse_rfc3339(text)
        if not ns:
            raise errdefs.InvalidArgument(f"invalid timestamp: {text}") from None
        return ns


class SystemRouter:
    def __init__(self, backend: SystemBackend) -> None:
        self._backend = backend

    def routes(self) -> list[Route]:
        return [
            ("GET", "/_ping", self.ping),
            ("HEAD", "/_ping", self.ping),
            ("GET", "/version", self.version),
            ("GET", "/info", self.info),
            ("GET", "/events", self.events),
        ]

    async def ping(self, request: web.Request) -> web.Response:
        body = None if request.method == "HEAD" else "OK"
        response = web.Response(text=body, headers=_ping_headers())
        if body is not None:
            response.content_type = "text/plain"
        return response

    async def version(self, request: web.Request) -> web.Response:
        return json_response(self._backend.version())

    async def info(self, request: web.Request) -> web.Response:
        return json_response(_info_for_version(await self._backend.info(), api_version(request)))

    async def events(self, request: web.Request) -> web.StreamResponse:
        filters = parse_filters(filters_value(request))
        since = _time_ns(request.query.get("since", ""))
        until = _time_ns(request.query.get("until", ""))
        if since is not None and until is not None and until < since:
            raise errdefs.InvalidArgument(f"`since` time ({request.query['since']}) cannot be after `until` time "
                                          f"({request.query['until']})")
        response = web.StreamResponse()
        response.content_type = "application/json"
        await response.prepare(request)
        subscription = self._backend.subscribe_events(since)
        next_event: asyncio.Future[dict[str, Any]] | None = None

        async def send(event: dict[str, Any]) -> None:
            if matches_filters(event, filters):
                await response.write(json.dumps(event).encode() + b"\n")

        try:
            for event in subscription.backlog:
                if until is not None and event["timeNano"] > until:
                    break
                await send(event)
            while not client_gone(request):
                now = time.time_ns()
                if until is not None and now >= until:
                    break
                if next_event is None:
                    next_event = asyncio.ensure_future(subscription.next())
                # Wake up now and then: a client that went away is only noticed by looking.
                timeout = DISCONNECT_CHECK_SECONDS
                if until is not None:
                    timeout = min(timeout, (until - now) / 1e9)
                done, _ = await asyncio.wait({next_event}, timeout=timeout)
                if not done:
                    continue
                event, next_event = next_event.result(), None
                if until is not None and event["timeNano"] > until:
                    break
                await send(event)
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            if next_event is not None:
                next_event.cancel()
            subscription.close()
        with contextlib.suppress(ConnectionError):
            await response.write_eof()
        return response
