"""Stream formats of the Engine API: JSON message streams and stdcopy multiplexing."""

from __future__ import annotations

import json
import struct
from typing import Any

from aiohttp import web

STDIN, STDOUT, STDERR = 0, 1, 2
RAW_STREAM = "application/vnd.docker.raw-stream"
MULTIPLEXED_STREAM = "application/vnd.docker.multiplexed-stream"
FRAME_HEADER = struct.Struct(">BxxxI")
DISCONNECT_CHECK_SECONDS = 1.0


def client_gone(request: web.Request) -> bool:
    """True once the client closed the connection (long-lived answers check it now and then)."""
    transport = request.transport
    return transport is None or transport.is_closing()


def frame(stream: int, payload: bytes) -> bytes:
    """One stdcopy frame: `[stream, 0, 0, 0, size uint32 BE] + payload`."""
    return FRAME_HEADER.pack(stream, len(payload)) + payload


def stream_content_type(tty: bool, api_version: str) -> str:
    from wharf.daemon.server.versions import at_least

    if tty or not at_least(api_version, "1.42"):
        return RAW_STREAM
    return MULTIPLEXED_STREAM


class JSONMessageStream:
    """A 200 answer of one JSON object per line (pull, import, events); errors travel inside it."""

    def __init__(self, request: web.Request) -> None:
        self._request = request
        self.response = web.StreamResponse(status=200)
        self.response.content_type = "application/json"

    async def send(self, message: dict[str, Any]) -> None:
        if not self.response.prepared:
            await self.response.prepare(self._request)
        await self.response.write(json.dumps(message).encode() + b"\r\n")

    async def send_error(self, message: str) -> None:
        await self.send({"errorDetail": {"message": message}, "error": message})

    async def finish(self) -> web.StreamResponse:
        if not self.response.prepared:
            await self.response.prepare(self._request)
        await self.response.write_eof()
        return self.response
