"""A small Docker Engine API client over a unix socket, with hijacked streams for attach and exec.

HTTP/1.1 is spoken directly on the socket: `http.client` pulls in `email` and `ssl` and costs more
start-up time than the whole request, and the CLI's latency is its start-up. For the same reason
answers are decoded with the C scanner of `_json` and sockets are `_socket`'s: the `json` and
`socket` modules import `re` and `enum`, which cost more than `wharf ps` does otherwise.
"""

from __future__ import annotations

import _socket
import os
import struct

from wharf import errdefs

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing and collections.abc cost start-up time; annotations are strings
    import socket
    from collections.abc import Iterable, Iterator
    from typing import Any


class _ScannerContext:
    """What `_json.make_scanner` reads off json.JSONDecoder: the default decoding."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = float
    memo: dict[str, str] = {}


_scan = None
_WHITESPACE = " \t\n\r"


def loads(data: bytes | str) -> Any:
    """json.loads for the daemon's answers, without importing `json` (and `re`)."""
    global _scan
    text = data.decode() if isinstance(data, bytes | bytearray) else data
    if _scan is None:
        import _json

        _scan = _json.make_scanner(_ScannerContext())
    start = len(text) - len(text.lstrip(_WHITESPACE))
    try:
        value, end = _scan(text, start)
    except StopIteration:
        import json

        return json.loads(text)  # raises json's error with its message
    if text[end:].strip(_WHITESPACE):
        import json

        return json.loads(text)
    return value


def dumps(value: Any) -> str:
    import json

    return json.dumps(value)

DEFAULT_HOST = "unix:///run/wharf/wharf.sock"
API_VERSION = "1.51"
_CHUNK = 65536

_BY_STATUS: dict[int, type[errdefs.WharfError]] = {
    400: errdefs.InvalidArgument,
    401: errdefs.Unauthorized,
    403: errdefs.Forbidden,
    404: errdefs.NotFound,
    409: errdefs.Conflict,
    304: errdefs.NotModified,
    501: errdefs.NotImplementedYet,
    503: errdefs.Unavailable,
}


class APIError(errdefs.WharfError):
    """An error answer of the daemon; `category` is the errdefs class its status maps to."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.category = _BY_STATUS.get(status, errdefs.System)


class DaemonUnreachable(errdefs.Unavailable):
    """No daemon answers at the address (not running, or a wrong -H)."""


class Response:
    """An HTTP response read from a socket: Content-Length, chunked or until-close bodies."""

    def __init__(self, sock: socket.socket, head_request: bool = False) -> None:
        self.sock = sock
        self._buffer = b""
        head = self._read_head()
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        self.status = int(status_line.split()[1])
        self.headers: dict[str, str] = {}
        for line in header_lines:
            name, _, value = line.partition(":")
            self.headers[name.strip().lower()] = value.strip()
        self._chunked = "chunked" in self.headers.get("transfer-encoding", "").lower()
        length = self.headers.get("content-length")
        self._remaining: int | None = int(length) if length is not None and not self._chunked else None
        self._chunk_left = 0
        self._done = head_request or self.status in (101, 204, 304) or self._remaining == 0

    def _recv(self) -> bytes:
        if self._buffer:
            data, self._buffer = self._buffer, b""
            return data
        return self.sock.recv(_CHUNK)

    def _read_head(self) -> bytes:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = self.sock.recv(_CHUNK)
            if not chunk:
                raise errdefs.System("the daemon closed the connection before answering")
            data += chunk
        head, _, self._buffer = data.partition(b"\r\n\r\n")
        return head

    def getheader(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name.lower(), default)

    def _read_exact_line(self) -> bytes:
        while b"\r\n" not in self._buffer:
            chunk = self.sock.recv(_CHUNK)
            if not chunk:
                raise errdefs.System("truncated chunked answer")
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\r\n")
        return line

    def read1(self, size: int = _CHUNK) -> bytes:
        """Up to `size` bytes of the body as soon as some arrive; b"" at its end."""
        if self._done:
            return b""
        if self._chunked:
            if self._chunk_left == 0:
                self._chunk_left = int(self._read_exact_line().split(b";")[0] or b"0", 16)
                if self._chunk_left == 0:
                    self._done = True
                    return b""
            data = self._recv()
            if not data:
                self._done = True
                return b""
            take = min(len(data), self._chunk_left, size)
            data, self._buffer = data[:take], data[take:] + self._buffer
            self._chunk_left -= take
            if self._chunk_left == 0:
                self._read_exact_line()
            return data
        data = self._recv()
        if not data:
            self._done = True
            return b""
        limit = size if self._remaining is None else min(size, self._remaining)
        data, self._buffer = data[:limit], data[limit:] + self._buffer
        if self._remaining is not None:
            self._remaining -= len(data)
            self._done = self._remaining == 0
        return data

    def recv(self, size: int) -> bytes:
        return self.read1(size)

    def read(self) -> bytes:
        parts = []
        while data := self.read1():
            parts.append(data)
        return b"".join(parts)

    def __iter__(self) -> Iterator[bytes]:
        pending = b""
        while data := self.read1():
            pending += data
            while b"\n" in pending:
                line, _, pending = pending.partition(b"\n")
                yield line + b"\n"
        if pending:
            yield pending

    def close(self) -> None:
        self.sock.close()


class EngineClient:
    def __init__(self, host: str | None = None, timeout: float | None = None) -> None:
        self.host = host or os.environ.get("WHARF_HOST") or os.environ.get("DOCKER_HOST") or DEFAULT_HOST
        if not self.host.startswith(("unix://", "tcp://")):
            raise errdefs.InvalidArgument(f"unsupported host {self.host!r}: use unix:// or tcp://")
        self.socket_path = self.host[len("unix://"):] if self.host.startswith("unix://") else ""
        self.timeout = timeout

    def _connect(self) -> socket.socket:
        try:
            if self.socket_path:
                sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
                sock.settimeout(self.timeout)
                sock.connect(self.socket_path)
                return sock
            address, _, port = self.host[len("tcp://"):].rstrip("/").rpartition(":")
            import socket

            return socket.create_connection((address, int(port or 2375)), timeout=self.timeout)
        except (FileNotFoundError, ConnectionRefusedError, PermissionError, _socket.gaierror) as err:
            if self.socket_path:
                sock.close()
            raise DaemonUnreachable(f"Cannot connect to the Wharf daemon at {self.host}. Is wharfd running?") from err

    def _url(self, path: str, params: dict[str, Any] | None) -> str:
        url = f"/v{API_VERSION}{path}"
        if params:
            clean = {k: _query_value(v) for k, v in params.items() if v is not None}
            if clean:
                url += "?" + urlencode(clean)
        return url

    def _send(self, method: str, path: str, params: dict[str, Any] | None, body: Any,
              headers: dict[str, str] | None, upgrade: bool = False) -> socket.socket:
        headers = {"Host": "localhost", "User-Agent": "wharf-cli", **(headers or {})}
        if body is not None and not isinstance(body, bytes | bytearray) and not hasattr(body, "read") \
                and not hasattr(body, "__next__"):
            body = dumps(body).encode()
            headers.setdefault("Content-Type", "application/json")
        streaming = body is not None and not isinstance(body, bytes | bytearray)
        if streaming:
            headers["Transfer-Encoding"] = "chunked"
            headers.pop("Content-Length", None)
        else:
            headers["Content-Length"] = str(len(body or b""))
        if upgrade:
            headers.update({"Connection": "Upgrade", "Upgrade": "tcp"})
        else:
            headers["Connection"] = "close"
        head = f"{method} {self._url(path, params)} HTTP/1.1\r\n" + "".join(
            f"{name}: {value}\r\n" for name, value in headers.items()) + "\r\n"
        sock = self._connect()
        try:
            if streaming:
                sock.sendall(head.encode("latin-1"))
                for piece in _pieces(body):
                    if piece:
                        sock.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))
                sock.sendall(b"0\r\n\r\n")
            else:
                sock.sendall(head.encode("latin-1") + bytes(body or b""))
        except BrokenPipeError:
            pass  # the daemon answered early (an error); read its answer
        return sock

    def open(self, method: str, path: str, params: dict[str, Any] | None = None, body: Any = None,
             headers: dict[str, str] | None = None) -> Response:
        """Send a request; return the response (raise APIError for an error status)."""
        response = Response(self._send(method, path, params, body, headers), head_request=method == "HEAD")
        if response.status >= 400:
            message = _error_message(response.read())
            response.close()
            raise APIError(response.status, message)
        return response

    def call(self, method: str, path: str, params: dict[str, Any] | None = None, body: Any = None,
             headers: dict[str, str] | None = None) -> Any:
        response = self.open(method, path, params, body, headers)
        try:
            data = response.read()
        finally:
            response.close()
        if not data:
            return None
        if (response.getheader("Content-Type") or "").startswith("application/json"):
            return loads(data)
        return data

    def stream_json(self, method: str, path: str, params: dict[str, Any] | None = None, body: Any = None,
                    headers: dict[str, str] | None = None) -> Iterator[dict[str, Any]]:
        """A JSON-lines answer (pull, import, build, events, stats), one object at a time."""
        response = self.open(method, path, params, body, headers)
        try:
            for line in response:
                line = line.strip()
                if line:
                    yield loads(line)
        finally:
            response.close()

    def hijack(self, path: str, params: dict[str, Any] | None = None, body: Any = None) -> socket.socket:
        """POST with `Upgrade: tcp`; return the raw connection once the daemon switched protocols."""
        response = Response(self._send("POST", path, params, body, None, upgrade=True))
        if response.status >= 400:
            message = _error_message(response.read())
            response.close()
            raise APIError(response.status, message)
        if response._buffer:
            return _PrefixedSocket(response.sock, response._buffer)  # type: ignore[return-value]
        return response.sock


class _PrefixedSocket:
    """A socket whose first bytes already arrived with the upgrade answer."""

    def __init__(self, sock: socket.socket, prefix: bytes) -> None:
        self._sock, self._prefix = sock, prefix

    def recv(self, size: int) -> bytes:
        if self._prefix:
            data, self._prefix = self._prefix[:size], self._prefix[size:]
            return data
        return self._sock.recv(size)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


def _pieces(body: Any) -> Iterable[bytes]:
    if hasattr(body, "read"):
        while piece := body.read(_CHUNK):
            yield piece
    else:
        yield from body


def read_frames(sock: Any) -> Iterator[tuple[int, bytes]]:
    """Demultiplex Docker's stream frames: (stream, payload), stream 1 stdout, 2 stderr."""
    buffer = b""
    while True:
        chunk = sock.recv(_CHUNK)
        if not chunk:
            return
        buffer += chunk
        while len(buffer) >= 8:
            stream, size = buffer[0], struct.unpack(">I", buffer[4:8])[0]
            if len(buffer) < 8 + size:
                break
            yield stream, buffer[8:8 + size]
            buffer = buffer[8 + size:]


def _query_value(value: Any) -> Any:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, dict):
        return dumps(value)
    return value


def _error_message(body: bytes) -> str:
    try:
        return str(loads(body)["message"])
    except (ValueError, KeyError, TypeError):
        return body.decode(errors="replace").strip() or "unknown error"


_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-~")


def quote(text: str, safe: str = "") -> str:
    """Percent-encoding as urllib.parse.quote (which costs start-up time to import)."""
    allowed = _UNRESERVED | frozenset(safe.encode())
    return "".join(chr(b) if b in allowed else f"%{b:02X}" for b in text.encode())


def urlencode(params: dict[str, Any]) -> str:
    """A query string; list values repeat the key, as urllib's doseq."""
    pairs = []
    for key, value in params.items():
        for item in value if isinstance(value, list | tuple) else [value]:
            pairs.append(f"{quote(str(key))}={quote(str(item))}")
    return "&".join(pairs)


def quote_ref(ref: str) -> str:
    return quote(ref, safe="/:@")
