"""A wharfd (the real app and services) over the fake supervisor, served on a private unix socket."""

from __future__ import annotations

import asyncio
import gzip
import io
import json
import shutil
import struct
import tarfile
import tempfile
from collections.abc import Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
from aiohttp import web

from tests.unit.daemon.fake_supervisor import FakeSupervisor
from wharf.daemon.main import Daemon


def rootfs_tar(compress: bool = True) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        data = b"#!/bin/sh\n"
        info = tarfile.TarInfo("bin/sh")
        info.size = len(data)
        info.mode = 0o755
        tar.addfile(info, io.BytesIO(data))
    raw = buffer.getvalue()
    return gzip.compress(raw) if compress else raw


class Harness:
    def __init__(self, root: str, supervisor: FakeSupervisor, daemon: Daemon, socket_path: str,
                 session: aiohttp.ClientSession) -> None:
        self.root = root
        self.supervisor = supervisor
        self.daemon = daemon
        self.socket_path = socket_path
        self.session = session

    async def request(self, method: str, path: str, body: Any = None, raw: bytes | None = None,
                      headers: dict[str, str] | None = None) -> tuple[int, Any, dict[str, str]]:
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        async with self.session.request(method, "http://docker" + path, data=data, headers=headers) as resp:
            content = await resp.read()
            try:
                parsed: Any = json.loads(content) if content else None
            except ValueError:
                parsed = content
            return resp.status, parsed, dict(resp.headers)

    async def import_image(self, name: str = "busybox:latest", changes: tuple[str, ...] = ('CMD ["sh"]',)) -> str:
        query = "&".join(["fromSrc=-", f"repo={name}"] + [f"changes={c}" for c in changes])
        async with self.session.post(f"http://docker/images/create?{query}", data=rootfs_tar()) as resp:
            assert resp.status == 200, await resp.text()
            return str(json.loads((await resp.text()).splitlines()[0])["status"])

    async def hijack(self, path: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, bytes]:
        """POST with Upgrade: tcp; returns the raw streams after the response head, and the head."""
        reader, writer = await asyncio.open_unix_connection(self.socket_path)
        writer.write(
            f"POST {path} HTTP/1.1\r\nHost: docker\r\nContent-Type: text/plain\r\n"
            "Connection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: 0\r\n\r\n".encode()
        )
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        return reader, writer, head


async def read_frames(reader: asyncio.StreamReader) -> list[tuple[int, bytes]]:
    frames = []
    while True:
        try:
            header = await reader.readexactly(8)
        except asyncio.IncompleteReadError:
            return frames
        stream, size = struct.unpack(">BxxxI", header)
        frames.append((stream, await reader.readexactly(size)))


@asynccontextmanager
async def started(root: str | None = None, supervisor: FakeSupervisor | None = None):  # type: ignore[no-untyped-def]
    own_root = root is None
    root = root or tempfile.mkdtemp(prefix="wt-", dir="/tmp")
    supervisor = supervisor or FakeSupervisor(root)
    daemon = Daemon(supervisor, root + "/data", "wharf-runc", "/wharf-unit")
    await daemon.start()
    runner = web.AppRunner(daemon.app, handle_signals=False)
    await runner.setup()
    socket_path = root + "/wharf.sock"
    site = web.UnixSite(runner, socket_path)
    await site.start()
    session = aiohttp.ClientSession(connector=aiohttp.UnixConnector(path=socket_path))
    try:
        yield Harness(root, supervisor, daemon, socket_path, session)
    finally:
        await session.close()
        await runner.cleanup()
        await daemon.stop()
        for task in list(supervisor.tasks.tasks.values()):
            if task.runner is not None:
                task.runner.cancel()
            if task.server is not None:
                task.server.close()
        if own_root:
            shutil.rmtree(root, ignore_errors=True)


def run(scenario: Callable[[Harness], Awaitable[None]]) -> None:
    async def main() -> None:
        async with started() as harness:
            await asyncio.wait_for(scenario(harness), 20)

    asyncio.run(main())
