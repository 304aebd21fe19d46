"""`/networks/...`: parse the request, hand on to the NetworkBackend."""

from __future__ import annotations

from aiohttp import web

from wharf import errdefs
from wharf.daemon.routers.common import Route, filters_value, json_body
from wharf.daemon.routers.network.backend import NetworkBackend
from wharf.daemon.server.responses import json_response


class NetworkRouter:
    def __init__(self, backend: NetworkBackend) -> None:
        self._backend = backend

    def routes(self) -> list[Route]:
        return [
            ("GET", "/networks", self.list),
            ("GET", "/networks/{id}", self.inspect),
            ("POST", "/networks/create", self.create),
            ("POST", "/networks/prune", self.prune),
            ("POST", "/networks/{id}/connect", self.connect),
            ("POST", "/networks/{id}/disconnect", self.disconnect),
            ("DELETE", "/networks/{id}", self.remove),
        ]

    async def list(self, request: web.Request) -> web.Response:
        return json_response(self._backend.list(filters_value(request)))

    async def inspect(self, request: web.Request) -> web.Response:
        return json_response(self._backend.inspect(request.match_info["id"]))

    async def create(self, request: web.Request) -> web.Response:
        body = await json_body(request)
        if body is None:
            raise errdefs.InvalidArgument("invalid JSON: a network configuration is required")
        return json_response(await self._backend.create(body), status=201)

    async def prune(self, request: web.Request) -> web.Response:
        return json_response(await self._backend.prune(filters_value(request)))

    async def connect(self, request: web.Request) -> web.Response:
        await self._backend.connect(request.match_info["id"], await json_body(request))
        return web.Response(status=200)

    async def disconnect(self, request: web.Request) -> web.Response:
        await self._backend.disconnect(request.match_info["id"], await json_body(request))
        return web.Response(status=200)

    async def remove(self, request: web.Request) -> web.Response:
        await self._backend.remove(request.match_info["id"])
        return web.Response(status=204)
