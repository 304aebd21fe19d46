"""A small Docker Engine API client over a unix socket, with hijacked streams for attach."""

from __future__ import annotations

import http.client
import json
import os
import socket
import struct
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, urlencode

from wharf import errdefs

DEFAULT_HOST = "unix:///run/wharf/wharf.sock"
API_VERSION = "1.51"

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


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float | None) -> None:
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self._path)
        self.sock = sock


class EngineClient:
    def __init__(self, host: str | None = None, timeout: float | None = None) -> None:
        host = host or os.environ.get("WHARF_HOST") or os.environ.get("DOCKER_HOST") or DEFAULT_HOST
        if not host.startswith("unix://"):
            raise errdefs.InvalidArgument(f"unsupported host {host!r}: only unix:// sockets")
        self.socket_path = host[len("unix://"):]
        self.timeout = timeout

    def _url(self, path: str, params: dict[str, Any] | None) -> str:
        url = f"/v{API_VERSION}{path}"
        if params:
            clean = {k: _query_value(v) for k, v in params.items() if v is not None}
            url += "?" + urlencode(clean, doseq=True)
        return url

    def open(self, method: str, path: str, params: dict[str, Any] | None = None, body: Any = None,
             headers: dict[str, str] | None = None) -> http.client.HTTPResponse:
        """Send a request; return the response (raise APIError for an error status)."""
        conn = _UnixConnection(self.socket_path, self.timeout)
        headers = dict(headers or {})
        if body is not None and not isinstance(body, bytes | bytearray) and not hasattr(body, "read"):
            body = json.dumps(body).encode()
            headers.setdefault("Content-Type", "application/json")
        try:
            conn.request(method, self._url(path, params), body=body, headers=headers)
            response = conn.getresponse()
        except (FileNotFoundError, ConnectionRefusedError) as err:
            raise errdefs.Unavailable(
                f"Cannot connect to the Wharf daemon at unix://{self.socket_path}. Is wharfd running?"
            ) from err
        if response.status >= 400:
            raise APIError(response.status, _error_message(response.read()))
        return response

    def call(self, method: str, path: str, params: dict[str, Any] | None = None, body: Any = None,
             headers: dict[str, str] | None = None) -> Any:
        response = self.open(method, path, params, body, headers)
        data = response.read()
        if not data:
            return None
        if (response.getheader("Content-Type") or "").startswith("application/json"):
            return json.loads(data)
        return data

    def stream_json(self, method: str, path: str, params: dict[str, Any] | None = None, body: Any = None,
                    headers: dict[str, str] | None = None) -> Iterator[dict[str, Any]]:
        """A JSON-lines answer (pull, import, build, events), one object at a time."""
        response = self.open(method, path, params, body, headers)
        for line in response:
            line = line.strip()
            if line:
                yield json.loads(line)

    def hijack(self, path: str, params: dict[str, Any] | None = None) -> socket.socket:
        """POST with `Upgrade: tcp`; return the raw connection once the daemon switched protocols."""
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.connect(self.socket_path)
        except (FileNotFoundError, ConnectionRefusedError) as err:
            raise errdefs.Unavailable(f"Cannot connect to the Wharf daemon at unix://{self.socket_path}") from err
        request = (
            f"POST {self._url(path, params)} HTTP/1.1\r\nHost: localhost\r\n"
            "Connection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: 0\r\n\r\n"
        )
        sock.sendall(request.encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = sock.recv(1)
            if not chunk:
                raise errdefs.System("the daemon closed the connection during the upgrade")
            head += chunk
        status_line, _, rest = head.decode("latin-1").partition("\r\n")
        status = int(status_line.split()[1])
        if status >= 400:
            length = 0
            for header in rest.split("\r\n"):
                name, _, value = header.partition(":")
                if name.lower() == "content-length":
                    length = int(value)
            body = b""
            while len(body) < length:
                chunk = sock.recv(length - len(body))
                if not chunk:
                    break
                body += chunk
            sock.close()
            raise APIError(status, _error_message(body))
        return sock


def read_frames(sock: socket.socket) -> Iterator[tuple[int, bytes]]:
    """Demultiplex Docker's stream frames: (stream, payload), stream 1 stdout, 2 stderr."""
    buffer = b""
    while True:
        chunk = sock.recv(65536)
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
        return json.dumps(value)
    return value


def _error_message(body: bytes) -> str:
    try:
        return str(json.loads(body)["message"])
    except (ValueError, KeyError, TypeError):
        return body.decode(errors="replace").strip() or "unknown error"


def quote_ref(ref: str) -> str:
    return quote(ref, safe="/:@")
