"""Connection hijack for attach and exec: answer 101 and then carry raw bytes both ways.

aiohttp owns the connection until we swap the transport's protocol for ours. Bytes the client
sent right behind the request (already buffered by aiohttp) are taken over too. A client's
half-close (CloseWrite, the end of stdin) must not close our side: our protocol keeps the
transport open on EOF so output can still flow to the client.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from wharf.daemon.server.versions import MAX_API_VERSION, SERVER_HEADER


class _HijackedResponse(web.StreamResponse):
    """What the handler returns to aiohttp once it wrote the answer itself: writes nothing."""

    async def prepare(self, request: Any) -> None:  # type: ignore[override]
        return None

    async def write_eof(self, data: bytes = b"") -> None:
        return None


class HijackedConnection(asyncio.Protocol):
    """Raw bytes from and to the client after the HTTP answer."""

    def __init__(self, transport: asyncio.Transport, previous: asyncio.BaseProtocol) -> None:
        self.transport = transport
        self._previous = previous
        self._incoming: asyncio.Queue[bytes | None] = asyncio.Queue()
        self._write_ready = asyncio.Event()
        self._write_ready.set()
        self.closed = asyncio.Event()

    # asyncio.Protocol
    def data_received(self, data: bytes) -> None:
        self._incoming.put_nowait(data)

    def eof_received(self) -> bool:
        self._incoming.put_nowait(None)
        return True  # keep our write side open: output still flows after the client's CloseWrite

    def connection_lost(self, exc: Exception | None) -> None:
        self._incoming.put_nowait(None)
        self._write_ready.set()
        self.closed.set()
        # Let aiohttp's handler forget the connection as if it had seen it close.
        self._previous.connection_lost(exc)

    def pause_writing(self) -> None:
        self._write_ready.clear()

    def resume_writing(self) -> None:
        self._write_ready.set()

    # for the pumps
    async def read(self) -> bytes:
        """Next chunk from the client; b"" at its EOF."""
        if self.closed.is_set() and self._incoming.empty():
            return b""
        data = await self._incoming.get()
        if data is None:
            self._incoming.put_nowait(None)  # stay at EOF for later readers
            return b""
        return data

    async def write(self, data: bytes) -> None:
        if self.transport.is_closing():
            raise ConnectionResetError("client went away")
        self.transport.write(data)
        await self._write_ready.wait()

    def close(self) -> None:
        if not self.transport.is_closing():
            self.transport.close()


async def hijack(request: web.Request, content_type: str) -> tuple[HijackedConnection, web.StreamResponse]:
    """Answer the upgrade (101, or 200 for clients that did not ask for one) and take the connection.

    Returns the connection and the response object the handler must return when done."""
    upgrade = request.headers.get("Upgrade", "").lower() == "tcp" or "upgrade" in request.headers.get(
        "Connection", ""
    ).lower()
    if upgrade:
        head = "HTTP/1.1 101 UPGRADED\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n"
    else:
        head = "HTTP/1.1 200 OK\r\n"
    head += (
        f"Content-Type: {content_type}\r\nApi-Version: {MAX_API_VERSION}\r\n"
        f"Server: {SERVER_HEADER}\r\nOstype: linux\r\n\r\n"
    )
    transport = request.transport
    protocol = request.protocol
    assert transport is not None
    connection = HijackedConnection(transport, protocol)  # type: ignore[arg-type]
    transport.set_protocol(connection)
    buffered = getattr(protocol, "_message_tail", b"")
    if buffered:
        # Bytes that arrived behind the request before we took over (aiohttp kept them).
        protocol._message_tail = b""  # type: ignore[attr-defined]
        connection.data_received(buffered)
    transport.resume_reading()
    transport.write(head.encode())
    response = _HijackedResponse(status=101 if upgrade else 200)
    response.force_close()
    return connection, response
