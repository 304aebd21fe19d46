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

from wharf import errdefs

_FRAME_HEADER = struct.Struct(">BxxxI")
DEFAULT_DETACH_KEYS = b"\x10\x11"  # ctrl-p ctrl-q


def parse_detach_keys(text: str) -> bytes:
    """Docker's `detachKeys`: comma-separated `ctrl-<key>` or single characters ("" for the default)."""
    if not text:
        return DEFAULT_DETACH_KEYS
    keys = bytearray()
    for part in text.split(","):
        if len(part) == 1:
            keys.append(ord(part))
        elif part.startswith("ctrl-") and len(part) == 6 and ("a" <= part[5] <= "z" or part[5] in "@[\\]^_"):
            keys.append(ord(part[5].upper()) - 64 if part[5].isalpha() else ord(part[5]) - 64)
        else:
            raise errdefs.InvalidArgument(f"Invalid escape keys ({text}) provided")
    return bytes(keys)


class _EscapeWatcher:
    """Finds the detach sequence in what the client types, holding back a partial match."""

    def __init__(self, keys: bytes) -> None:
        self.keys = keys
        self.held = b""

    def feed(self, data: bytes) -> tuple[bytes, bool]:
        """(bytes to pass on now, whether the sequence was typed)."""
        if not self.keys:
            return data, False
        data = self.held + data
        self.held = b""
        found = data.find(self.keys)
        if found >= 0:
            return data[:found], True
        for length in range(min(len(self.keys) - 1, len(data)), 0, -1):
            if self.keys.startswith(data[-length:]):
                self.held = data[-length:]
                return data[:-length], False
        return data, False


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
    detach_keys: bytes = DEFAULT_DETACH_KEYS
    """Typed on stdin, they end the attachment and leave the container running (b"": never)."""
    raw_output: bool | None = None
    """Send the output unframed; None: as `tty`. An exec's framing follows the start request's
    Tty, not the process's terminal (moby: a terminal exec started with Tty false is multiplexed)."""

    @property
    def unframed(self) -> bool:
        return self.tty if self.raw_output is None else self.raw_output


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
            await client.write(payload if self._options.unframed else header + payload)

    async def _client_to_stdin(self, client: ClientConnection) -> bool:
        """Copy the client's stdin; True when the client typed the detach keys."""
        # Detach keys work with a terminal only, as in moby.
        escape = _EscapeWatcher(self._options.detach_keys if self._options.stdin and self._options.tty else b"")
        while True:
            data = await client.read()
            if not data:
                break
            data, detached = escape.feed(data)
            if self._options.stdin and data:
                self._writer.write(data)
                await self._writer.drain()
            if detached:
                return True
        if escape.held and self._options.stdin:
            self._writer.write(escape.held)
        if self._options.stdin and self._writer.can_write_eof():
            # The client's half-close: the shim closes the container's stdin if stdin_once.
            self._writer.write_eof()
        return False

    async def pump(self, client: ClientConnection) -> bool:
        """Carry bytes both ways until the shim ends the output or the client goes away; True when
        the client typed the detach keys."""
        output = asyncio.create_task(self._output_to_client(client))
        stdin = asyncio.create_task(self._client_to_stdin(client))
        gone = asyncio.create_task(client.closed.wait())
        try:
            await asyncio.wait({output, gone, stdin}, return_when=asyncio.FIRST_COMPLETED)
            ended_by_stdin = stdin.done() and not stdin.cancelled() and stdin.exception() is None
            if ended_by_stdin and not stdin.result() and not self._options.tty:
                # As moby: without a terminal the end of stdin only closes the container's stdin (when
                # stdin_once) and the output goes on; with one, it ends the attachment (the process runs on).
                await asyncio.wait({output, gone}, return_when=asyncio.FIRST_COMPLETED)
            return ended_by_stdin and bool(stdin.result())
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
