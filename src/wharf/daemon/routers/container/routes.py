"""`/containers/...`: parse the request, hand on to the ContainerBackend."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from wharf import errdefs
from wharf.daemon.backend import container_view, links
from wharf.daemon.backend.logs import LogEntry, LogOptions, read_existing, read_log
from wharf.daemon.backend.record import ContainerRecord
from wharf.daemon.backend.timefmt import parse_rfc3339
from wharf.daemon.routers.common import Route, api_version, bool_value, filters_value, int_value, json_body
from wharf.daemon.routers.container.backend import ContainerBackend
from wharf.daemon.server.hijack import hijack
from wharf.daemon.server.responses import json_response
from wharf.daemon.server.streams import STDERR, STDOUT, client_gone, frame, stream_content_type
from wharf.daemon.server.versions import at_least
from wharf.daemon.server.websocket import WebSocketConnection

log = logging.getLogger("wharfd.attach")


def _time_ns(text: str) -> int:
    if not text:
        return 0
    try:
        return int(float(text) * 1_000_000_000)
    except ValueError:
        ns = parse_rfc3339(text)
        if not ns:
            raise errdefs.InvalidArgument(f"invalid timestamp: {text}") from None
        return ns


def _encode_log(entry: LogEntry, tty: bool, timestamps: bool) -> bytes:
    data = entry.data
    if timestamps:
        data = entry.time.encode() + b" " + data
    if tty:
        return data
    return frame(STDERR if entry.stream == "stderr" else STDOUT, data)


def _with_short_id_aliases(settings: dict[str, Any], record: ContainerRecord) -> dict[str, Any]:
    """Before API 1.45 the Aliases of a user-defined network's endpoint also held the short id
    and the hostname (DNSNames holds them since)."""
    networks = {}
    for name, endpoint in (settings.get("Networks") or {}).items():
        if name not in ("bridge", "host", "none") and not name.startswith("container:"):
            extra = [record.id[:12], record.config.get("Hostname") or ""]
            aliases = list(endpoint.get("Aliases") or [])
            endpoint = {**endpoint, "Aliases": aliases + [a for a in dict.fromkeys(extra) if a and a not in aliases]}
        networks[name] = endpoint
    return {**settings, "Networks": networks}


InspectExtension = Callable[[ContainerRecord, dict[str, Any]], None]
"""Adds what another service knows to a container's inspect answer (its exec ids)."""


class ContainerRouter:
    def __init__(self, backend: ContainerBackend, inspect_extensions: list[InspectExtension] | None = None,
                 sizes: Callable[[ContainerRecord], Awaitable[tuple[int, int]]] | None = None) -> None:
        self._backend = backend
        self._inspect_extensions = inspect_extensions or []
        self._sizes = sizes
        """(SizeRw, SizeRootFs) of a container, for `GET /containers/json?size=1`."""

    def routes(self) -> list[Route]:
        return [
            ("POST", "/containers/create", self.create),
            ("GET", "/containers/json", self.list),
            ("GET", "/containers/{name}/json", self.inspect),
            ("POST", "/containers/{name}/start", self.start),
            ("POST", "/containers/{name}/stop", self.stop),
            ("POST", "/containers/{name}/kill", self.kill),
            ("POST", "/containers/{name}/restart", self.restart),
            ("POST", "/containers/{name}/wait", self.wait),
            ("POST", "/containers/{name}/attach", self.attach),
            ("GET", "/containers/{name}/attach/ws", self.attach_websocket),
            ("POST", "/containers/{name}/resize", self.resize),
            ("GET", "/containers/{name}/logs", self.logs),
            ("POST", "/containers/{name}/pause", self.pause),
            ("POST", "/containers/{name}/unpause", self.unpause),
            ("POST", "/containers/{name}/rename", self.rename),
            ("POST", "/containers/{name}/update", self.update),
            ("POST", "/containers/prune", self.prune),
            ("DELETE", "/containers/{name}", self.remove),
            ("DELETE", "/containers/{name}/{alias}", self.remove_by_link_name),
        ]

    async def create(self, request: web.Request) -> web.Response:
        body = await json_body(request)
        if body is None:
            raise errdefs.InvalidArgument("config cannot be empty in order to create a container")
        created = await self._backend.create(request.query.get("name", ""), body)
        return json_response(created, status=201)

    async def list(self, request: web.Request) -> web.Response:
        filters = container_view.parse_filters(filters_value(request))
        limit = int_value(request, "limit", 0) or 0
        out = container_view.list_containers(self._backend.all(), bool_value(request, "all"), limit, filters)
        if bool_value(request, "size") and self._sizes is not None:
            for summary in out:
                size_rw, size_root_fs = await self._sizes(self._backend.get(summary["Id"]))
                if size_rw:
                    summary["SizeRw"] = size_rw  # omitted when 0, as moby's omitempty does
                summary["SizeRootFs"] = size_root_fs
        return json_response(out)

    async def inspect(self, request: web.Request) -> web.Response:
        record = self._backend.get(request.match_info["name"])
        out = container_view.inspect(record)
        for extend in self._inspect_extensions:
            extend(record, out)
        if bool_value(request, "size") and self._sizes is not None:
            out["SizeRw"], out["SizeRootFs"] = await self._sizes(record)  # both shown, even when 0
        if not at_least(api_version(request), "1.45"):
            out["NetworkSettings"] = _with_short_id_aliases(out["NetworkSettings"], record)
        return json_response(out)

    async def start(self, request: web.Request) -> web.Response:
        await self._backend.start(request.match_info["name"])
        return web.Response(status=204)

    async def stop(self, request: web.Request) -> web.Response:
        await self._backend.stop(request.match_info["name"], int_value(request, "t"), request.query.get("signal"))
        return web.Response(status=204)

    async def kill(self, request: web.Request) -> web.Response:
        await self._backend.kill(request.match_info["name"], request.query.get("signal"))
        return web.Response(status=204)

    async def restart(self, request: web.Request) -> web.Response:
        await self._backend.restart(
            request.match_info["name"], int_value(request, "t"), request.query.get("signal")
        )
        return web.Response(status=204)

    async def remove(self, request: web.Request) -> web.Response:
        if bool_value(request, "link"):  # a name without `container/` is no link (moby's words)
            self._backend.get(request.match_info["name"])
            raise errdefs.Conflict("Conflict, cannot remove the default link name of the container")
        await self._backend.remove(request.match_info["name"], bool_value(request, "force"), bool_value(request, "v"))
        return web.Response(status=204)

    async def remove_by_link_name(self, request: web.Request) -> web.Response:
        """`DELETE /containers/<container>/<alias>`: a legacy link's name; with `link=1` only the
        link goes (`docker rm --link`), otherwise the container it names (as Docker)."""
        parent = self._backend.get(request.match_info["name"])
        alias = request.match_info["alias"]
        if bool_value(request, "link"):
            links.remove_link(parent, alias)
            return web.Response(status=204)
        _, target = links.find_link(parent, alias)
        await self._backend.remove(target, bool_value(request, "force"), bool_value(request, "v"))
        return web.Response(status=204)

    async def pause(self, request: web.Request) -> web.Response:
        await self._backend.pause(request.match_info["name"])
        return web.Response(status=204)

    async def unpause(self, request: web.Request) -> web.Response:
        await self._backend.unpause(request.match_info["name"])
        return web.Response(status=204)

    async def rename(self, request: web.Request) -> web.Response:
        await self._backend.rename(request.match_info["name"], request.query.get("name", ""))
        return web.Response(status=204)

    async def update(self, request: web.Request) -> web.Response:
        body = await json_body(request)
        return json_response(await self._backend.update(request.match_info["name"], body or {}))

    async def prune(self, request: web.Request) -> web.Response:
        removed, reclaimed = await self._backend.prune(filters_value(request))
        return json_response({"ContainersDeleted": removed or None, "SpaceReclaimed": reclaimed})

    async def resize(self, request: web.Request) -> web.Response:
        height = int_value(request, "h", 0) or 0
        width = int_value(request, "w", 0) or 0
        await self._backend.resize(request.match_info["name"], width, height)
        return web.Response(status=200)

    async def wait(self, request: web.Request) -> web.StreamResponse:
        exit_code = self._backend.wait(request.match_info["name"], request.query.get("condition", ""))
        # Headers go out at once: the CLI sends start only after it got them (no missed exit).
        response = web.StreamResponse(status=200)
        response.content_type = "application/json"
        await response.prepare(request)
        code = await exit_code
        await response.write(json.dumps({"StatusCode": code, "Error": None}).encode() + b"\n")
        await response.write_eof()
        return response

    async def logs(self, request: web.Request) -> web.StreamResponse:
        record = self._backend.get(request.match_info["name"])
        stdout, stderr = bool_value(request, "stdout"), bool_value(request, "stderr")
        if not (stdout or stderr):
            raise errdefs.InvalidArgument("Bad parameters: you must choose at least one stream")
        if not record.log_path:
            raise errdefs.NotImplementedYet("configured logging driver does not support reading")
        tail_text = request.query.get("tail", "all")
        # moby reads any tail that is not a whole number as "all".
        tail = int(tail_text) if re.fullmatch(r"[+-]?[0-9]+", tail_text) else None
        options = LogOptions(
            stdout=stdout, stderr=stderr, follow=bool_value(request, "follow"), tail=tail,
            since_ns=_time_ns(request.query.get("since", "")), until_ns=_time_ns(request.query.get("until", "")),
        )  # fmt: skip
        timestamps = bool_value(request, "timestamps")
        response = web.StreamResponse(status=200)
        response.content_type = stream_content_type(record.tty, api_version(request))
        await response.prepare(request)
        try:
            running = lambda: record.state.running and not client_gone(request)  # noqa: E731
            async for entry in read_log(record.log_path, options, running):
                await response.write(_encode_log(entry, record.tty, timestamps))
        except ConnectionError:
            return response
        await response.write_eof()
        return response

    def _replay(self, record: ContainerRecord, stdout: bool, stderr: bool) -> bytes:
        if not record.log_path:
            return b""
        entries, _ = read_existing(record.log_path, LogOptions(stdout=stdout, stderr=stderr))
        return b"".join(_encode_log(entry, record.tty, False) for entry in entries)

    async def attach_websocket(self, request: web.Request) -> web.StreamResponse:
        record = self._backend.get(request.match_info["name"])
        stdin, stdout, stderr = (bool_value(request, key) for key in ("stdin", "stdout", "stderr"))
        replay = self._replay_raw(record, stdout, stderr) if bool_value(request, "logs") else b""
        connection = await WebSocketConnection.accept(request)
        try:
            if bool_value(request, "stream"):
                await self._backend.attach(record, connection, stdin, stdout, stderr, replay,
                                           request.query.get("detachKeys", ""), raw_output=True)
            elif replay:
                await connection.write(replay)
        except (ConnectionError, errdefs.WharfError) as err:
            log.info("websocket attach to %s ended: %s", record.id, err)
        finally:
            await connection.wait_closed()
        return connection.response

    def _replay_raw(self, record: ContainerRecord, stdout: bool, stderr: bool) -> bytes:
        if not record.log_path:
            return b""
        entries, _ = read_existing(record.log_path, LogOptions(stdout=stdout, stderr=stderr))
        return b"".join(entry.data for entry in entries)

    async def attach(self, request: web.Request) -> web.StreamResponse:
        record = self._backend.get(request.match_info["name"])
        stdin, stdout, stderr = (bool_value(request, key) for key in ("stdin", "stdout", "stderr"))
        replay = self._replay(record, stdout, stderr) if bool_value(request, "logs") else b""
        content_type = stream_content_type(record.tty, api_version(request))
        connection, response = await hijack(request, content_type)
        if not bool_value(request, "stream"):
            try:
                await connection.write(replay)
            finally:
                connection.close()
            return response
        try:
            await self._backend.attach(record, connection, stdin, stdout, stderr, replay,
                                       request.query.get("detachKeys", ""))
        except (ConnectionError, errdefs.WharfError) as err:
            # The connection is ours now: no HTTP error can be sent, only the end of the stream.
            log.info("attach to %s ended: %s", record.id, err)
        finally:
            connection.close()
        return response
