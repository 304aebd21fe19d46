"""The shim's sockets and signals: control connections, attach connections, the reaper.

Control connections carry several requests each, answered in order: while one waits (`wait`),
the connection's later requests wait behind it; other connections are served meanwhile.
"""

from __future__ import annotations

import errno
import json
import os
import signal
import socket
import sys
from collections import deque
from collections.abc import Callable

from wharf import errdefs
from wharf.shim.loop import EventLoop
from wharf.shim.process import InitProcess, Process
from wharf.shim.protocol import encode_message, message_length
from wharf.shim.service import TaskService
from wharf.shim.stdio import AttachClient


def log(message: str) -> None:
    """The shim's own log is its stderr, which the daemon points at STATE_DIR/shim.log."""
    sys.stderr.write(f"wharf-shim[{os.getpid()}]: {message}\n")
    sys.stderr.flush()


def listen(path: str) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.bind(path)
        os.chmod(path, 0o600)
        sock.listen(64)
    except OSError:
        sock.close()
        raise
    sock.setblocking(False)
    return sock


class ControlConnection:
    def __init__(self, loop: EventLoop, conn: socket.socket, service: TaskService) -> None:
        self.loop, self.conn, self.service = loop, conn, service
        conn.setblocking(False)
        self.fd = conn.fileno()
        self._in = bytearray()
        self._out = bytearray()
        self._requests: deque[dict] = deque()
        self._busy = False
        self._eof = False
        loop.on_readable(self.fd, self._readable)

    def _readable(self) -> None:
        try:
            data = self.conn.recv(65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self._eof = True
            self.loop.on_readable(self.fd, None)
            self._maybe_close()
            return
        self._in += data
        try:
            while len(self._in) >= 4:
                length = message_length(self._in[:4])
                if len(self._in) < 4 + length:
                    break
                body = bytes(self._in[4:4 + length])
                del self._in[:4 + length]
                self._requests.append(json.loads(body))
        except ValueError as err:
            log(f"dropping a control connection: {err}")
            self.close()
            return
        self._next()

    def _next(self) -> None:
        while not self._busy and self._requests and self.fd >= 0:
            request = self._requests.popleft()
            self._busy = True
            answered = False

            def reply(result: dict | BaseException) -> None:
                nonlocal answered
                if answered:
                    return
                answered = True
                self._answer(result)

            try:
                if not isinstance(request, dict) or not isinstance(request.get("params", {}), dict):
                    raise errdefs.InvalidArgument("a request is {\"method\": M, \"params\": {...}}")
                handler = self.service.handler(str(request.get("method")))
                handler(request.get("params") or {}, reply)
            except errdefs.WharfError as err:
                reply(err)
            except Exception as err:  # a bug or a host fault: answer it, keep serving
                log(f"{request!r} failed: {err!r}")
                reply(errdefs.System(f"{type(err).__name__}: {err}"))

    def _answer(self, result: dict | BaseException) -> None:
        self._busy = False
        if self.fd < 0:
            return
        if isinstance(result, BaseException):
            message = {"error": {"code": errdefs.code_of(result), "message": str(result)}}
        else:
            message = {"result": result}
        self._out += encode_message(message)
        self._flush()
        self.loop.call_later(0, self._next)

    def _flush(self) -> None:
        if self.fd < 0:
            return
        try:
            while self._out:
                del self._out[:self.conn.send(self._out)]
        except BlockingIOError:
            self.loop.on_writable(self.fd, self._flush)
            return
        except OSError:
            self.close()
            return
        self.loop.on_writable(self.fd, None)
        self._maybe_close()

    def _maybe_close(self) -> None:
        if self._eof and not self._out and not self._busy and not self._requests:
            self.close()

    def close(self) -> None:
        if self.fd < 0:
            return
        self.loop.forget(self.fd)
        self.conn.close()
        self.fd = -1


class ShimServer:
    def __init__(self, loop: EventLoop, init: InitProcess, control_path: str, attach_path: str) -> None:
        self.loop = loop
        self.init = init
        self.service = TaskService(init, self.shutdown, self.settle_attach)
        self.control = listen(control_path)
        try:
            self.attach = listen(attach_path)
        except OSError:
            self.control.close()
            os.unlink(control_path)
            raise
        self._attach_clients: set[AttachClient] = set()
        loop.on_readable(self.control.fileno(), self._accept_control)
        loop.on_readable(self.attach.fileno(), self._accept_attach)

    def _accept_control(self) -> None:
        conn = _accept(self.control)
        if conn is not None:
            ControlConnection(self.loop, conn, self.service)

    def settle_attach(self) -> None:
        """Take every attach connection already made, with its header, before the process starts:
        a client that attached before `start` must see the first byte of output."""
        while self._accept_attach():
            pass
        for client in list(self._attach_clients):
            if client.fd >= 0 and not client.ready:
                client.poll()

    def _accept_attach(self) -> bool:
        conn = _accept(self.attach)
        if conn is None:
            return False
        # Forget closed clients now and then, so a long-lived shim does not collect them.
        self._attach_clients = {c for c in self._attach_clients if c.fd >= 0}
        self._attach_clients.add(AttachClient(self.loop, conn, self.service.attach_target))
        return True

    def processes_by_pid(self) -> dict[int, Process]:
        # Reaped ones are left out: their pid may already be someone else's.
        found: dict[int, Process] = {p.pid: p for p in self.service.execs.values() if p.pid and not p.reaped}
        if self.init.pid and not self.init.reaped:
            found[self.init.pid] = self.init
        return found

    def shutdown(self) -> None:
        """Stop taking connections and remove the state dir (so it is gone when `shutdown` answers);
        the loop runs a moment longer to send that answer."""
        import shutil

        for listener in (self.control, self.attach):
            self.loop.forget(listener.fileno())
            listener.close()
        shutil.rmtree(self.init.options.state_dir, ignore_errors=True)
        self.loop.call_later(0.05, self.loop.stop)


def _accept(listener: socket.socket) -> socket.socket | None:
    try:
        conn, _ = listener.accept()
    except OSError as err:
        if err.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EMFILE, errno.ENFILE):
            raise
        return None
    return conn


class Reaper:
    """SIGCHLD through a wakeup pipe; every child is reaped, the statuses of ours are kept."""

    def __init__(self, loop: EventLoop, processes: Callable[[], dict[int, Process]]) -> None:
        self.loop = loop
        self._processes = processes
        self._wake_r, wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(wake_w, False)
        signal.set_wakeup_fd(wake_w, warn_on_full_buffer=False)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        loop.on_readable(self._wake_r, self._woken)

    def _woken(self) -> None:
        try:
            while os.read(self._wake_r, 4096):
                pass
        except BlockingIOError:
            pass
        self.reap()

    @property
    def processes(self) -> dict[int, Process]:
        return self._processes()

    def reap(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            process = self.processes.get(pid)
            if process is not None:
                process.reaped_with(status)
