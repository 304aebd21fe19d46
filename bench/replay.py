"""An engine that answers at once: the first answer to each read request is fetched from the real
engine behind it, every later one is replayed from memory. Timing the docker CLI against it gives
the client's own share of a command (start-up, decoding, the table), which no engine can go below:
with it the scale figures tell the engine's time from the client's.

    with ReplayingEngine(upstream_socket) as replay:
        subprocess.run(["docker", "-H", replay.host, "ps", "-a"])
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import threading
from types import TracebackType

import aiohttp
from aiohttp import web

_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "content-encoding", "date"}


class ReplayingEngine:
    def __init__(self, upstream_socket: str) -> None:
        self._upstream = upstream_socket
        self._directory = tempfile.mkdtemp(prefix="wharf-replay-")
        self.socket = os.path.join(self._directory, "replay.sock")
        self.host = f"unix://{self.socket}"
        self._answers: dict[tuple[str, str], tuple[int, list[tuple[str, str]], bytes]] = {}
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._stopping: asyncio.Event | None = None

    def __enter__(self) -> ReplayingEngine:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the replaying engine did not start")
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        if self._stopping is not None:
            self._loop.call_soon_threadsafe(self._stopping.set)
        self._thread.join(10)
        for leftover in (self.socket,):
            if os.path.exists(leftover):
                os.unlink(leftover)
        os.rmdir(self._directory)

    def _serve(self) -> None:
        self._loop.run_until_complete(self._run())
        self._loop.close()

    async def _run(self) -> None:
        self._stopping = asyncio.Event()
        connector = aiohttp.UnixConnector(path=self._upstream)
        async with aiohttp.ClientSession(connector=connector, auto_decompress=False) as upstream:
            app = web.Application()
            app.router.add_route("*", "/{tail:.*}", lambda request: self._answer(request, upstream))
            runner = web.AppRunner(app, access_log=None)
            await runner.setup()
            await web.UnixSite(runner, self.socket).start()
            self._ready.set()
            await self._stopping.wait()
            await runner.cleanup()

    async def _answer(self, request: web.Request, upstream: aiohttp.ClientSession) -> web.Response:
        if request.method not in ("GET", "HEAD"):
            return web.json_response({"message": "the replaying engine only reads"}, status=405)
        key = (request.method, request.path_qs)
        if key not in self._answers:
            async with upstream.request(request.method, "http://engine" + request.path_qs) as response:
                headers = [(k, v) for k, v in response.headers.items() if k.lower() not in _HOP_BY_HOP]
                self._answers[key] = (response.status, headers, await response.read())
        status, headers, body = self._answers[key]
        return web.Response(status=status, headers=headers, body=body if request.method == "GET" else None)
