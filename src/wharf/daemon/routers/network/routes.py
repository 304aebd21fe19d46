"""`/networks/...`: parse the request, hand on to the NetworkBackend."""

from __future__ import annotations

from aiohttp import web

from wharf import errdefs
from wharf.daemon.routers.common import Route, filters_value, json_body
from wharf.daemon.routers.json_shapes import STRING_MAP, require_object, require_types
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
        body = require_object(body, "network.CreateRequest")
        require_types(body, {"Name": str, "Driver": str, "Internal": bool, "Attachable": bool, "EnableIPv6": bool,
                             "Ingress": bool, "CheckDuplicate": bool, "IPAM": dict, "Options": STRING_MAP,
                             "Labels": STRING_MAP}, "CreateRequest")
        ipam = body.get("IPAM") or {}
        require_types(ipam, {"Driver": str, "Config": list, "Options": STRING_MAP}, "CreateRequest.IPAM")
        for pool in ipam.get("Config") or []:
            require_types(require_object(pool, "network.IPAMConfig"),
                          {"Subnet": str, "IPRange": str, "Gateway": str, "AuxiliaryAddresses": STRING_MAP},
                          "CreateRequest.IPAM.Config")
        return json_response(await self._backend.create(body), status=201)

    async def prune(self, request: web.Request) -> web.Response:
        return json_response(await self._backend.prune(filters_value(request)))

    async def connect(self, request: web.Request) -> web.Response:
        body = require_object(await json_body(request), "network.ConnectOptions")
        require_types(body, {"Container": str, "EndpointConfig": dict}, "ConnectOptions")
        await self._backend.connect(request.match_info["id"], body)
        return web.Response(status=200)

    async def disconnect(self, request: web.Request) -> web.Response:
        body = require_object(await json_body(request), "network.DisconnectOptions")
        require_types(body, {"Container": str, "Force": bool}, "DisconnectOptions")
        await self._backend.disconnect(request.match_info["id"], body)
        return web.Response(status=200)

    async def remove(self, request: web.Request) -> web.Response:
        await self._backend.remove(request.match_info["id"])
        return web.Response(status=204)
