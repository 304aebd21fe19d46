"""A client's WebSocket as the attach pumps use a hijacked connection (`/containers/{id}/attach/ws`).

As moby: every chunk of output is one binary message, unframed whatever the container's terminal
(there is one stream only); every message the client sends, text or binary, is stdin.
"""

from __future__ import annotations

import asyncio
import contextlib

from aiohttp import WSMsgType, web


class WebSocketConnection:
    def __init__(self, socket: web.WebSocketResponse) -> None:
        self._socket = socket
        self.closed = asyncio.Event()

    @classmethod
    async def accept(cls, request: web.Request) -> WebSocketConnection:
        socket = web.WebSocketResponse(autoping=True)
        await socket.prepare(request)
        return cls(socket)

    @property
    def response(self) -> web.WebSocketResponse:
        return self._socket

    async def read(self) -> bytes:
        """The next message from the client; b"" once it closed."""
        while not self.closed.is_set():
            message = await self._socket.receive()
            if message.type is WSMsgType.BINARY:
                return bytes(message.data)
            if message.type is WSMsgType.TEXT:
                return str(message.data).encode()
            if message.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR):
                self.closed.set()
        return b""

    async def write(self, data: bytes) -> None:
        if self._socket.closed:
            raise ConnectionResetError("client went away")
        await self._socket.send_bytes(data)

    def close(self) -> None:
        self.closed.set()
        if not self._socket.closed:
            task = asyncio.ensure_future(self._socket.close())
            task.add_done_callback(lambda done: done.exception() if not done.cancelled() else None)

    async def wait_closed(self) -> None:
        with contextlib.suppress(Exception):
            await self._socket.close()
