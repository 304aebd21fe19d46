"""RUN: a real container over the step's image, through the supervisor as `docker run` goes
(snapshot prepare → containers.create → tasks.create → attach → tasks.start → wait → tasks.delete),
its output streamed to the build, then its snapshot diffed into the step's layer.

Build containers live only in the supervisor (wharfd's container list doesn't show them) and are
always removed once their layer is taken. The container gets no /etc/hosts, /etc/hostname or
/etc/resolv.conf binds: their mount points would otherwise end up in the layer (Docker keeps
them in an "init" layer for the same reason). Network: a fresh namespace (only loopback), or the
host's with `network_mode="host"`."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from wharf import errdefs
from wharf.containerd.core.containers import Container
from wharf.containerd.core.diff import DiffResult
from wharf.containerd.core.tasks import CreateTaskOptions
from wharf.daemon import ocispec
from wharf.daemon.backend.attach import AttachOptions, ShimAttachment
from wharf.daemon.backend.supervisor import Supervisor

Output = Callable[[bytes], Awaitable[None]]
BUILD_LABEL = "io.wharf.build"
"""Label of build containers and snapshots (swept if a build was interrupted)."""
_FILE_BINDS = frozenset({"/etc/hosts", "/etc/hostname", "/etc/resolv.conf"})


@dataclass
class RunSettings:
    runtime: str
    cgroup_parent: str
    network_mode: str = ""


class _OutputSink:
    """The ClientConnection an attachment writes to: frames → the build's output, no stdin."""

    def __init__(self, output: Output) -> None:
        self.closed = asyncio.Event()
        self._output = output

    async def read(self) -> bytes:
        return b""

    async def write(self, data: bytes) -> None:
        await self._output(data[8:])  # drop the stdcopy frame header

    def close(self) -> None:
        pass


class BuildContainer:
    """One RUN's container; `remove` takes away whatever is left of it."""

    def __init__(self, supervisor: Supervisor, settings: RunSettings) -> None:
        self.id = secrets.token_hex(32)
        self._supervisor = supervisor
        self._settings = settings
        self._created = False

    async def run(
        self, parent_chain: str, config: dict[str, Any], args: list[str], output: Output,
        extra_mounts: list[dict[str, Any]] | None = None, network_mode: str = "",
    ) -> int:  # fmt: skip
        """Run `args` with the image config's env, user and workdir; the exit code."""
        hostname = self.id[:12]
        network = network_mode or self._settings.network_mode or "none"
        host_config = {"NetworkMode": network, "ShmSize": 64 * 1024 * 1024}
        files = ocispec.ContainerFiles("/dev/null", "/dev/null", "/dev/null")
        spec = ocispec.build_spec(
            self.id, config, host_config, args, hostname, files, self._settings.cgroup_parent
        )
        spec["mounts"] = [m for m in spec["mounts"] if m.get("destination") not in _FILE_BINDS]
        spec["mounts"] += extra_mounts or []
        await self._supervisor.snapshots.prepare(self.id, parent_chain, {BUILD_LABEL: "1"})
        self._created = True
        await self._supervisor.containers.create(
            Container(id=self.id, image=config.get("Image", ""), runtime=self._settings.runtime, spec=spec,
                      snapshot_key=self.id, labels={BUILD_LABEL: "1"})
        )  # fmt: skip
        info = await self._supervisor.tasks.create(self.id, CreateTaskOptions())
        options = AttachOptions(stdin=False, stdout=True, stderr=True, stdin_once=False, tty=False)
        attachment = await ShimAttachment.open(info.attach_socket, options)
        pump = asyncio.create_task(attachment.pump(_OutputSink(output)))
        try:
            await self._supervisor.tasks.start(self.id)
            status = await self._supervisor.tasks.wait(self.id)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(pump), 10)
        finally:
            pump.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await pump
        await self._supervisor.tasks.delete(self.id)  # unmounts the rootfs before the diff
        return status.code

    async def take_layer(self) -> DiffResult:
        result: DiffResult = await self._supervisor.diff.diff(self.id, False, True)
        return result

    async def remove(self) -> None:
        if not self._created:
            return
        with contextlib.suppress(errdefs.WharfError):
            await self._supervisor.tasks.kill(self.id, 9, all=True)
        with contextlib.suppress(errdefs.WharfError):
            await self._supervisor.tasks.delete(self.id)
        with contextlib.suppress(errdefs.NotFound):
            await self._supervisor.containers.delete(self.id)
        with contextlib.suppress(errdefs.NotFound):
            await self._supervisor.snapshots.remove(self.id)  # gone already if committed as the layer
