"""The container's stdio inside the shim: output readers, the stdin writer and attach clients.

Output is read as soon as it is ready (the container never blocks on a full pipe) and handed to
`Output.publish`, which writes the json-file log and queues a frame for every attached client.
A client that falls too far behind is dropped rather than slowing the container down.
"""

from __future__ import annotations

import errno
import json
import os
import socket
from collections.abc import Callable
from typing import Protocol

from wharf.shim.jsonlog import JSONFileLog
from wharf.shim.loop import EventLoop
from wharf.shim.protocol import STDERR, STDOUT, encode_frame

READ_SIZE = 65536
MAX_CLIENT_BACKLOG = 8 << 20
"""Bytes of frames queued for one attach client before it is dropped as too slow."""
MAX_STDIN_BACKLOG = 1 << 20
"""Bytes queued for the container's stdin before attach clients stop being read."""
MAX_HEADER = 4096

STREAM_NAMES = {STDOUT: "stdout", STDERR: "stderr"}


class Output:
    """Fans container output out to the log and to the attached clients."""

    def __init__(self, log: JSONFileLog | None) -> None:
        self.log = log
        self.clients: set[AttachClient] = set()

    def publish(self, stream: int, data: bytes) -> None:
        if self.log is not None:
            self.log.write(STREAM_NAMES[stream], data)
        frame = encode_frame(stream, data)
        for client in list(self.clients):
            if (stream == STDOUT and client.stdout) or (stream == STDERR and client.stderr):
                client.send(frame)

    def end_of_stream(self, stream: int) -> None:
        if self.log is not None:
            self.log.end_of_stream(STREAM_NAMES[stream])


class OutputReader:
    """Reads one output fd (a pipe, or the pty master) until EOF."""

    def __init__(self, loop: EventLoop, fd: int, stream: int, output: Output, on_eof: Callable[[], None]) -> None:
        self.loop, self.fd, self.stream, self.output, self.on_eof = loop, fd, stream, output, on_eof
        os.set_blocking(fd, False)
        loop.on_readable(fd, self._readable)

    @property
    def open(self) -> bool:
        return self.fd >= 0

    def feed(self, data: bytes) -> None:
        """Output that arrived before the loop ran (read while the runtime was creating)."""
        if data:
            self.output.publish(self.stream, data)

    def drain_and_close(self) -> None:
        """Take what is already buffered, then stop reading and close."""
        while self.open and self._read_once():
            pass
        self._finish()

    def _readable(self) -> None:
        self._read_once()

    def take_available(self) -> None:
        """Publish what is buffered now, without waiting for the loop to notice it."""
        while self.open and self._read_once():
            pass

    def _read_once(self) -> bool:
        try:
            data = os.read(self.fd, READ_SIZE)
        except BlockingIOError:
            return False
        except OSError as err:
            # A pty master reads EIO once no slave end is left: that is its EOF.
            if err.errno != errno.EIO:
                raise
            data = b""
        if not data:
            self._finish()
            return False
        self.output.publish(self.stream, data)
        return True

    def _finish(self) -> None:
        if not self.open:
            return
        self.loop.forget(self.fd)
        os.close(self.fd)
        self.fd = -1
        self.output.end_of_stream(self.stream)
        self.on_eof()


class StdinWriter:
    """Buffered, non-blocking writes to the container's stdin (pipe or pty master)."""

    def __init__(self, loop: EventLoop, fd: int, close_with_eot: bool = False) -> None:
        self.loop, self.fd = loop, fd
        self.close_with_eot = close_with_eot
        self.on_drained: Callable[[], None] | None = None
        self._buffer = bytearray()
        self._closing = False
        os.set_blocking(fd, False)

    @property
    def full(self) -> bool:
        return len(self._buffer) >= MAX_STDIN_BACKLOG

    @property
    def closed(self) -> bool:
        return self.fd < 0 or self._closing

    def write(self, data: bytes) -> None:
        if self.closed:
            return
        self._buffer += data
        self._flush()

    def close(self) -> None:
        """Close after what is queued has been written. On a pty, send EOF (^D) instead."""
        if self.closed:
            return
        if self.close_with_eot:
            self._buffer += b"\x04"
            self._flush()
            self.close_with_eot = False
            return
        self._closing = True
        self._flush()

    def abort(self) -> None:
        """Drop what is queued and close now (the process is gone)."""
        self._buffer.clear()
        self._closing = True
        self._flush()

    def _flush(self) -> None:
        if self.fd < 0:
            return
        try:
            while self._buffer:
                written = os.write(self.fd, self._buffer)
                del self._buffer[:written]
        except BlockingIOError:
            self.loop.on_writable(self.fd, self._flush)
            return
        except OSError:
            # The reader is gone (EPIPE, or EIO on a pty): nothing will read it any more.
            self._buffer.clear()
            self._closing = True
        self.loop.on_writable(self.fd, None)
        if self.on_drained is not None:
            self.on_drained()
        if self._closing:
            self._close_fd()

    def _close_fd(self) -> None:
        self.loop.forget(self.fd)
        os.close(self.fd)
        self.fd = -1


class AttachTarget(Protocol):
    """A process as attach clients see it (the init, or an exec)."""

    output: Output
    stdin: StdinWriter | None
    attach_clients: set[AttachClient]

    @property
    def finished(self) -> bool:
        """Exited with its output drained: nothing more will come."""


class AttachClient:
    """One connection on attach.sock: a JSON options line, then stdin in and frames out.

    The options line is `{"stdin", "stdout", "stderr", "stdin_once"}` and, for an exec's stdio,
    `"exec_id"`; `choose` finds the process it names (None: the container's init)."""

    def __init__(self, loop: EventLoop, conn: socket.socket,
                 choose: Callable[[str | None], AttachTarget | None]) -> None:
        self.loop, self.conn = loop, conn
        self._choose = choose
        self.target: AttachTarget | None = None
        self.stdout = self.stderr = self.wants_stdin = self.stdin_once = False
        self._header = bytearray()
        self._ready = False
        self._out = bytearray()
        self._closing = False
        self._reading = True
        conn.setblocking(False)
        self.fd = conn.fileno()
        loop.on_readable(self.fd, self._readable)

    @property
    def ready(self) -> bool:
        """The options line has been read."""
        return self._ready

    def poll(self) -> None:
        """Read what the client has sent so far (the header, typically) without waiting for the loop."""
        if self._reading:
            self._readable()

    def send(self, frame: bytes) -> None:
        if self.fd < 0 or self._closing:
            return
        if len(self._out) + len(frame) > MAX_CLIENT_BACKLOG:
            self.close()
            return
        self._out += frame
        self._flush()

    def finish(self) -> None:
        """The container is gone: close once everything queued has been sent."""
        self._closing = True
        self._unsubscribe()
        if self.fd < 0 or not self._ready:
            return  # the header is still coming; _take_header finishes
        self.loop.on_readable(self.fd, None)
        self._flush()

    def resume_reading(self) -> None:
        if not self._reading and self.fd >= 0 and not self._closing:
            self._reading = True
            self.loop.on_readable(self.fd, self._readable)

    def close(self) -> None:
        if self.fd < 0:
            return
        self._unsubscribe()
        if self.target is not None:
            self.target.attach_clients.discard(self)
        self.loop.forget(self.fd)
        # Unread input would make the client's last read fail with ECONNRESET instead of EOF.
        try:
            while self.conn.recv(READ_SIZE):
                pass
        except OSError:
            pass
        self.conn.close()
        self.fd = -1

    def _unsubscribe(self) -> None:
        if self.target is not None:
            self.target.output.clients.discard(self)

    def _stdin_writer(self) -> StdinWriter | None:
        return self.target.stdin if self.target is not None and self.wants_stdin else None

    def _readable(self) -> None:
        writer = self._stdin_writer()
        if writer is not None and writer.full:
            # Back-pressure: leave the bytes in the socket until the container reads its stdin.
            self._reading = False
            self.loop.on_readable(self.fd, None)
            return
        try:
            data = self.conn.recv(READ_SIZE)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not self._ready:
            self._take_header(data)
            return
        self._take_stdin(data)

    def _take_header(self, data: bytes) -> None:
        if not data:
            self.close()
            return
        self._header += data
        line, newline, rest = bytes(self._header).partition(b"\n")
        if not newline:
            if len(self._header) > MAX_HEADER:
                self.close()
            return
        try:
            options = json.loads(line)
            self.stdout = bool(options.get("stdout"))
            self.stderr = bool(options.get("stderr"))
            self.wants_stdin = bool(options.get("stdin"))
            self.stdin_once = bool(options.get("stdin_once"))
            exec_id = options.get("exec_id")
        except (ValueError, AttributeError):
            self.close()
            return
        self.target = self._choose(str(exec_id) if exec_id else None)
        if self.target is None:
            self.close()
            return
        self._ready = True
        self._header.clear()
        self.target.attach_clients.add(self)
        if self.target.finished:
            self.finish()
            return
        if self.stdout or self.stderr:
            self.target.output.clients.add(self)
        if rest:
            self._take_stdin(rest)

    def _take_stdin(self, data: bytes) -> None:
        writer = self._stdin_writer()
        if data:
            if writer is not None:
                writer.write(data)
            return
        # The client has finished sending.
        self.loop.on_readable(self.fd, None)
        self._reading = False
        if self.stdin_once and writer is not None:
            writer.close()
        if not (self.stdout or self.stderr):
            self.close()

    def _flush(self) -> None:
        if self.fd < 0:
            return
        try:
            while self._out:
                sent = self.conn.send(self._out)
                del self._out[:sent]
        except BlockingIOError:
            self.loop.on_writable(self.fd, self._flush)
            return
        except OSError:
            self.close()
            return
        self.loop.on_writable(self.fd, None)
        if self._closing:
            self.close()
