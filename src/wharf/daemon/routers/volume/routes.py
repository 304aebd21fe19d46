"""`/volumes/...`: parse the request, hand on to the VolumeBackend."""

from __future__ import annotations

from aiohttp import web

from wharf.daemon.routers.common import Route, bool_value, filters_value, json_body
from wharf.daemon.routers.json_shapes import STRING_MAP, require_object, require_types
from wharf.daemon.routers.volume.backend import VolumeBackend
from wharf.daemon.server.responses import json_response


class VolumeRouter:
    def __init__(self, backend: VolumeBackend) -> None:
        self._backend = backend

    def routes(self) -> list[Route]:
        return [
            ("GET", "/volumes", self.list),
            ("POST", "/volumes/create", self.create),
            ("POST", "/volumes/prune", self.prune),
            ("GET", "/volumes/{name}", self.inspect),
            ("DELETE", "/volumes/{name}", self.remove),
        ]

    async def list(self, request: web.Request) -> web.Response:
        return json_response(self._backend.list(filters_value(request)))

    async def create(self, request: web.Request) -> web.Response:
        body = await json_body(request)
        if body is not None:
            require_types(require_object(body, "volume.CreateOptions"),
                          {"Name": str, "Driver": str, "DriverOpts": STRING_MAP, "Labels": STRING_MAP}, "CreateOptions")
        return json_response(self._backend.create(body), status=201)

    async def prune(self, request: web.Request) -> web.Response:
        return json_response(self._backend.prune(filters_value(request)))

    async def inspect(self, request: web.Request) -> web.Response:
        return json_response(self._backend.inspect(request.match_info["name"]))

    async def remove(self, request: web.Request) -> web.Response:
        self._backend.remove(request.match_info["name"], bool_value(request, "force"))
        return web.Response(status=204)
