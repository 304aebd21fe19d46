"""`/containers/{name}/top|stats|archive|export|changes`: parse the request, hand on to the InspectionBackend."""

from __future__ import annotations

import json
import tempfile
from typing import IO

from aiohttp import web

from wharf import errdefs
from wharf.daemon.backend.archive import encode_path_stat
from wharf.daemon.routers.common import Route, bool_value
from wharf.daemon.routers.container_inspection.backend import InspectionBackend
from wharf.daemon.server.responses import json_response
from wharf.daemon.server.streams import client_gone

PATH_STAT_HEADER = "X-Docker-Container-Path-Stat"
CHUNK = 1 << 16
SPOOL_IN_MEMORY = 32 << 20


def _path(request: web.Request) -> str:
    path = request.query.get("path", "")
    if not path:
        raise errdefs.InvalidArgument("path cannot be empty")
    return path


async def _send_file(request: web.Request, source: IO[bytes], response: web.StreamResponse) -> web.StreamResponse:
    try:
        await response.prepare(request)
        while chunk := source.read(CHUNK):
            await response.write(chunk)
        await response.write_eof()
    finally:
        source.close()
    return response


class InspectionRouter:
    def __init__(self, backend: InspectionBackend) -> None:
        self._backend = backend

    def routes(self) -> list[Route]:
        return [
            ("GET", "/containers/{name}/top", self.top),
            ("GET", "/containers/{name}/stats", self.stats),
            ("HEAD", "/containers/{name}/archive", self.head_archive),
            ("GET", "/containers/{name}/archive", self.get_archive),
            ("PUT", "/containers/{name}/archive", self.put_archive),
            ("GET", "/containers/{name}/export", self.export),
            ("GET", "/containers/{name}/changes", self.changes),
        ]

    async def top(self, request: web.Request) -> web.Response:
        return json_response(await self._backend.top(request.match_info["name"], request.query.get("ps_args", "")))

    async def stats(self, request: web.Request) -> web.StreamResponse:
        stream = bool_value(request, "stream", True)
        one_shot = bool_value(request, "one-shot")
        if one_shot and stream:
            raise errdefs.InvalidArgument("cannot have stream=true and one-shot=true")
        readings = self._backend.stats(request.match_info["name"], stream, one_shot)
        response = web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
        try:
            async for reading in readings:
                if not response.prepared:
                    await response.prepare(request)
                await response.write(json.dumps(reading).encode() + b"\n")
                if client_gone(request):
                    break
        except ConnectionError:
            return response
        finally:
            await readings.aclose()  # type: ignore[attr-defined]
        if not response.prepared:
            await response.prepare(request)
        await response.write_eof()
        return response

    async def head_archive(self, request: web.Request) -> web.Response:
        stat_info = await self._backend.stat_path(request.match_info["name"], _path(request))
        return web.Response(status=200, headers={PATH_STAT_HEADER: encode_path_stat(stat_info),
                                                 "Content-Type": "application/x-tar"})

    async def get_archive(self, request: web.Request) -> web.StreamResponse:
        stat_info, tar = await self._backend.get_archive(request.match_info["name"], _path(request))
        response = web.StreamResponse(status=200, headers={PATH_STAT_HEADER: encode_path_stat(stat_info),
                                                           "Content-Type": "application/x-tar"})
        return await _send_file(request, tar, response)

    async def put_archive(self, request: web.Request) -> web.Response:
        body: IO[bytes] = tempfile.SpooledTemporaryFile(SPOOL_IN_MEMORY)  # noqa: SIM115 - closed below
        try:
            while chunk := await request.content.read(CHUNK):
                body.write(chunk)
            body.seek(0)
            await self._backend.put_archive(
                request.match_info["name"], _path(request), body,
                bool_value(request, "noOverwriteDirNonDir"), bool_value(request, "copyUIDGID"),
            )  # fmt: skip
        finally:
            body.close()
        return web.Response(status=200)

    async def export(self, request: web.Request) -> web.StreamResponse:
        tar = await self._backend.export(request.match_info["name"])
        response = web.StreamResponse(status=200, headers={"Content-Type": "application/octet-stream"})
        return await _send_file(request, tar, response)

    async def changes(self, request: web.Request) -> web.Response:
        found = await self._backend.changes(request.match_info["name"])
        return json_response(found or None)
