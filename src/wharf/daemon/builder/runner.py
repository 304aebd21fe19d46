"""RUN: a real container over the step's image, through the supervisor as `docker run` goes
(snapshot prepare → containers.create → tasks.create → attach → tasks.start → wait → tasks.delete),
its output streamed to the build (stderr marked, as Docker's classic builder marks it), then its
snapshot diffed into the step's layer.

Build containers live only in the supervisor (wharfd's container list doesn't show them) and are
always removed once their layer is taken. The container gets no /etc/hostname bind, and /etc/hosts
and /etc/resolv.conf only when its network needs them (run_network.py, which also keeps their
mount points out of the layer, as Docker's "init" layer does)."""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import os
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
from wharf.daemon.backend.record import ContainerRecord
from wharf.daemon.backend.supervisor import Supervisor
from wharf.daemon.builder.rootfs import mounted
from wharf.daemon.builder.run_network import (
    ContainerNetworkingLike,
    RunFiles,
    RunNetwork,
    build_record,
    missing_mount_points,
    remove_mount_points,
)

Output = Callable[[str], Awaitable[None]]
"""Receives the step's output as `stream` text: stdout as it is, stderr wrapped in red."""
BUILD_LABEL = "io.wharf.build"
"""Label of build containers and snapshots (swept if a build was interrupted)."""
_FILE_BINDS = frozenset({"/etc/hosts", "/etc/hostname", "/etc/resolv.conf"})
STDERR_START, STDERR_END = "\x1b[91m", "\x1b[0m"
"""How Docker's classic builder marks a RUN's stderr (`docker build` prints it red)."""


@dataclass
class RunSettings:
    runtime: str
    cgroup_parent: str
    network_mode: str = ""
    networking: ContainerNetworkingLike | None = None
    """The container networking service (None in unit tests): RUN on a network needs it."""
    files_dir: str = ""
    """Where build containers' hosts and resolv.conf are written."""
    mount_dir: str = ""
    """Where a build container's snapshot is mounted for a moment (its bind mount points)."""


class _OutputSink:
    """The ClientConnection an attachment writes to: frames → the build's output, no stdin.
    One message per frame (one write of the process), as Docker's stream writers send them."""

    def __init__(self, output: Output) -> None:
        self.closed = asyncio.Event()
        self._output = output
        # A multi-byte character may be split across writes.
        self._decoders = {stream: codecs.getincrementaldecoder("utf-8")("replace") for stream in (1, 2)}

    async def read(self) -> bytes:
        return b""

    async def write(self, data: bytes) -> None:
        stream = 2 if data[:1] == b"\x02" else 1
        text = self._decoders[stream].decode(data[8:])  # after the stdcopy frame header
        if text:
            await self._output(STDERR_START + text + STDERR_END if stream == 2 else text)

    def close(self) -> None:
        pass


class BuildContainer:
    """One RUN's container; `remove` takes away whatever is left of it."""

    def __init__(self, supervisor: Supervisor, settings: RunSettings) -> None:
        self.id = secrets.token_hex(32)
        self._supervisor = supervisor
        self._settings = settings
        self._created = False
        self._files: RunFiles | None = None
        self._record: ContainerRecord | None = None
        self._mount_points: list[str] = []

    async def run(
        self, parent_chain: str, config: dict[str, Any], args: list[str], output: Output,
        extra_mounts: list[dict[str, Any]] | None = None, network: RunNetwork | None = None,
    ) -> int:  # fmt: skip
        """Run `args` with the image config's env, user and workdir; the exit code."""
        network = network or RunNetwork(self._settings.network_mode)
        hostname = self.id[:12]
        host_config = {"NetworkMode": "host" if network.host else "none", "ShmSize": 64 * 1024 * 1024}
        files = ocispec.ContainerFiles("/dev/null", "/dev/null", "/dev/null")
        spec = ocispec.build_spec(
            self.id, config, host_config, args, hostname, files, self._settings.cgroup_parent
        )
        spec["mounts"] = [m for m in spec["mounts"] if m.get("destination") not in _FILE_BINDS]
        spec["mounts"] += extra_mounts or []
        await self._supervisor.snapshots.prepare(self.id, parent_chain, {BUILD_LABEL: "1"})
        self._created = True
        spec["mounts"] += await self._network(network, spec)
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
        if self._mount_points:
            async with mounted(self._supervisor.snapshots, self.id, self._mount_dir()) as rootfs:
                await asyncio.to_thread(remove_mount_points, rootfs, self._mount_points)
        return status.code

    def _mount_dir(self) -> str:
        path = self._settings.mount_dir or os.path.join(self._settings.files_dir, "mnt")
        os.makedirs(path, mode=0o700, exist_ok=True)
        return path

    async def _network(self, network: RunNetwork, spec: dict[str, Any]) -> list[dict[str, Any]]:
        """The container's network namespace (joined through the networking service, so `lo` is
        up as in any container) and, when needed, its hosts and resolv.conf; the binds to add."""
        networking = self._settings.networking
        if networking is None and not (network.loopback_only or network.host):
            raise errdefs.InvalidArgument(f"network mode {network.mode!r} is not supported by the builder "
                                          "(no network controller)")
        if networking is None and not network.needs_files:
            return []  # unit tests: the runtime's fresh namespace
        if not self._settings.files_dir:
            raise errdefs.NotImplementedYet("build containers' network files need a files directory")
        self._files = RunFiles(os.path.join(self._settings.files_dir, self.id[:32]))
        if network.host or networking is None:
            await asyncio.to_thread(self._files.write_local, network)
        else:
            self._record = build_record(self.id, network, self._files, networking)
            await networking.setup(self._record)
            ocispec.set_network_namespace(spec, networking.spec_namespace(self.id, self._record.host_config, None))
        if not network.needs_files:
            return []
        async with mounted(self._supervisor.snapshots, self.id, self._mount_dir()) as rootfs:
            self._mount_points = await asyncio.to_thread(missing_mount_points, rootfs)
        return self._files.spec_mounts()

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
        if self._record is not None and self._settings.networking is not None:
            record, self._record = self._record, None
            with contextlib.suppress(errdefs.WharfError, OSError):
                await self._settings.networking.teardown(record)
        if self._files is not None:
            self._files.remove()
