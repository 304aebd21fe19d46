"""An engine that answers at once: the first answer to each read request is fetched from the real
engine behind it, every later one is replayed from memory. Timing the docker CLI against it gives
the client's own share of a command (start-up, decoding, the table), which no engine can go below:
with it the scale figures tell the engine's time from the client's.

    with ReplayingEngine(upstream_socket) as replay:
        subprocess.run(["docker", "-H", replay.host, "ps", "-a"])

The server is a process of its own (`python -m bench.replay UPSTREAM SOCKET`): a thread of the
bench would wait for the interpreter lock whenever another of the bench's threads holds it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from types import TracebackType

import aiohttp
from aiohttp import web

_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "content-encoding", "date"}
_START_TIMEOUT = 10.0


class ReplayingEngine:
    def __init__(self, upstream_socket: str) -> None:
        self._upstream = upstream_socket
        self._directory = ""
        self._server: subprocess.Popen[bytes] | None = None
        self.socket = ""
        self.host = ""

    def __enter__(self) -> ReplayingEngine:
        self._directory = tempfile.mkdtemp(prefix="wharf-replay-")
        self.socket = os.path.join(self._directory, "replay.sock")
        self.host = f"unix://{self.socket}"
        self._server = subprocess.Popen([sys.executable, "-m", "bench.replay", self._upstream, self.socket])
        deadline = time.monotonic() + _START_TIMEOUT
        while not os.path.exists(self.socket):
            if self._server.poll() is not None or time.monotonic() > deadline:
                self.__exit__(None, None, None)
                raise RuntimeError("the replaying engine did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        if self._server is not None:
            self._server.terminate()
            self._server.wait(10)
            self._server = None
        shutil.rmtree(self._directory, ignore_errors=True)


def serve(upstream_socket: str, socket_path: str) -> None:
    answers: dict[tuple[str, str], tuple[int, list[tuple[str, str]], bytes]] = {}
    upstream: aiohttp.ClientSession | None = None

    async def answer(request: web.Request) -> web.Response:
        nonlocal upstream
        if request.method not in ("GET", "HEAD"):
            return web.json_response({"message": "the replaying engine only reads"}, status=405)
        key = (request.method, request.path_qs)
        if key not in answers:
            if upstream is None:
                upstream = aiohttp.ClientSession(connector=aiohttp.UnixConnector(path=upstream_socket),
                                                 auto_decompress=False)
            async with upstream.request(request.method, "http://engine" + request.path_qs) as response:
                headers = [(k, v) for k, v in response.headers.items() if k.lower() not in _HOP_BY_HOP]
                answers[key] = (response.status, headers, await response.read())
        status, headers, body = answers[key]
        return web.Response(status=status, headers=headers, body=body if request.method == "GET" else None)

    async def close_upstream(_: web.Application) -> None:
        if upstream is not None:
            await upstream.close()

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", answer)
    app.on_cleanup.append(close_upstream)
    web.run_app(app, path=socket_path, print=None, access_log=None)


if __name__ == "__main__":
    serve(sys.argv[1], sys.argv[2])
