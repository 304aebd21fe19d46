"""`/containers/{name}/exec` and `/exec/{id}/...`: parse the request, hand on to the ExecBackend."""

from __future__ import annotations

import logging

from aiohttp import web

from wharf import errdefs
from wharf.daemon.backend.exec import console_size_of
from wharf.daemon.routers.common import Route, api_version, int_value, json_body
from wharf.daemon.routers.exec.backend import ExecBackend
from wharf.daemon.routers.json_shapes import STRING_LIST, require_types
from wharf.daemon.server.hijack import hijack
from wharf.daemon.server.responses import json_response
from wharf.daemon.server.streams import stream_content_type

log = logging.getLogger("wharfd.exec")

_EXEC_OPTIONS = {"Cmd": STRING_LIST, "User": str, "Privileged": bool, "Tty": bool, "AttachStdin": bool,
                 "AttachStdout": bool, "AttachStderr": bool, "DetachKeys": str, "Env": STRING_LIST,
                 "WorkingDir": str}
"""The fields of moby's ExecOptions whose type the exec relies on (Cmd is a []string there, not a
StrSlice: a bare string is refused, as Docker refuses it)."""


class ExecRouter:
    def __init__(self, backend: ExecBackend) -> None:
        self._backend = backend

    def routes(self) -> list[Route]:
        return [
            ("POST", "/containers/{name}/exec", self.create),
            ("POST", "/exec/{id}/start", self.start),
            ("POST", "/exec/{id}/resize", self.resize),
            ("GET", "/exec/{id}/json", self.inspect),
        ]

    async def create(self, request: web.Request) -> web.Response:
        body = await json_body(request)
        if isinstance(body, dict):
            require_types(body, _EXEC_OPTIONS, "ExecOptions")
        exec_id = await self._backend.create(request.match_info["name"], body)
        return json_response({"Id": exec_id}, status=201)

    async def inspect(self, request: web.Request) -> web.Response:
        return json_response(self._backend.get(request.match_info["id"]).inspect())

    async def resize(self, request: web.Request) -> web.Response:
        height = int_value(request, "h", 0) or 0
        width = int_value(request, "w", 0) or 0
        await self._backend.resize(request.match_info["id"], width, height)
        return web.Response(status=200)

    async def start(self, request: web.Request) -> web.StreamResponse:
        exec_id = request.match_info["id"]
        body = await json_body(request) or {}
        if not isinstance(body, dict):
            raise errdefs.InvalidArgument("invalid exec start body")
        console_size = console_size_of(body)
        self._backend.check_startable(exec_id)
        if body.get("Detach"):
            await self._backend.start_detached(exec_id, console_size)
            return web.Response(status=200)
        # moby frames the output by the start request's Tty, whatever the exec was created with.
        raw_stream = bool(body.get("Tty"))
        connection, response = await hijack(request, stream_content_type(raw_stream, api_version(request)))
        try:
            await self._backend.start_attached(exec_id, connection, console_size, raw_stream)
        except (ConnectionError, OSError, errdefs.WharfError) as err:
            # The connection is ours now: no HTTP error can be sent, only the end of the stream.
            log.info("exec %s ended: %s", exec_id, err)
        finally:
            connection.close()
        return response
