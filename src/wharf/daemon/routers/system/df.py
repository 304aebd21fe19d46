"""`GET /system/df`: hand on to the disk usage backend."""

from __future__ import annotations

from typing import Any, Protocol

from aiohttp import web

from wharf.daemon.routers.common import Route
from wharf.daemon.server.responses import json_response


class DiskUsageBackend(Protocol):
    async def report(self, types: list[str]) -> dict[str, Any]: ...


class DiskUsageRouter:
    def __init__(self, backend: DiskUsageBackend) -> None:
        self._backend = backend

    def routes(self) -> list[Route]:
        return [("GET", "/system/df", self.disk_usage)]

    async def disk_usage(self, request: web.Request) -> web.Response:
        return json_response(await self._backend.report(request.query.getall("type", [])))
