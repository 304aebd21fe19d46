"""Attaching a client's hijacked connection to a task's stdio through the shim's attach socket.

Shim attach protocol (docs/architecture.md): one JSON header line, then the shim sends output as
`[stream, 0, 0, 0, uint32 BE size] + payload` frames — Docker's multiplexed framing, so frames go to
a non-TTY client unchanged; with a TTY the payloads go raw. Bytes we send go to the container's stdin;
our EOF closes it when `stdin_once`. The shim closes the connection once the process has exited
and its output is drained.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import struct
from dataclasses import dataclass
from typing import Protocol

_FRAME_HEADER = struct.Struct(">BxxxI")


class ClientConnection(Protocol):
    closed: asyncio.Event

    async def read(self) -> bytes: ...

    async def write(self, data: bytes) -> None: ...

    def close(self) -> None: ...


@dataclass
class AttachOptions:
    stdin: bool
    stdout: bool
    stderr: bool
    stdin_once: bool
    tty: bool
    exec_id: str = ""
    """Attach to this exec's stdio instead of the container's (the shim's attach header)."""


class ShimAttachment:
    """One connection to a shim's attach socket, opened before the task starts so no output is lost."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, options: AttachOptions) -> None:
        self._reader = reader
        self._writer = writer
        self._options = options

    @classmethod
    async def open(cls, socket_path: str, options: AttachOptions) -> ShimAttachment:
        reader, writer = await asyncio.open_unix_connection(socket_path)
        header: dict[str, object] = {
            "stdin": options.stdin,
            "stdout": options.stdout,
            "stderr": options.stderr,
            "stdin_once": options.stdin_once,
        }
        if options.exec_id:
            header["exec_id"] = options.exec_id
        writer.write(json.dumps(header).encode() + b"\n")
        await writer.drain()
        return cls(reader, writer, options)

    async def _output_to_client(self, client: ClientConnection) -> None:
        while True:
            try:
                header = await self._reader.readexactly(_FRAME_HEADER.size)
                stream, size = _FRAME_HEADER.unpack(header)
                payload = await self._reader.readexactly(size)
            except (asyncio.IncompleteReadError, ConnectionError):
                return
            if stream == 1 and not self._options.stdout or stream == 2 and not self._options.stderr:
                continue
            await client.write(payload if self._options.tty else header + payload)

    async def _client_to_stdin(self, client: ClientConnection) -> None:
        while True:
            data = await client.read()
            if not data:
                break
            if self._options.stdin:
                self._writer.write(data)
                await self._writer.drain()
        if self._options.stdin and self._writer.can_write_eof():
            # The client's half-close: the shim closes the container's stdin if stdin_once.
            self._writer.write_eof()

    async def pump(self, client: ClientConnection) -> None:
        """Carry bytes both ways until the shim ends the output or the client goes away."""
        output = asyncio.create_task(self._output_to_client(client))
        stdin = asyncio.create_task(self._client_to_stdin(client))
        gone = asyncio.create_task(client.closed.wait())
        try:
            await asyncio.wait({output, gone}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (output, stdin, gone):
                task.cancel()
            for task in (output, stdin, gone):
                with contextlib.suppress(asyncio.CancelledError, ConnectionError, OSError):
                    await task
            self.close()

    def close(self) -> None:
        with contextlib.suppress(OSError, RuntimeError):
            self._writer.close()
