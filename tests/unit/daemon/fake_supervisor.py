"""An in-memory supervisor implementing the Protocols of wharf.containerd.core — for wharfd's unit
tests only (integration tests run the real wharf-containerd).

Tasks are scripted, not run: `echo WORDS` prints, `sh -c "exit N"` exits N, `sleep N` runs until
killed, `cat` echoes stdin until its EOF. Output goes to the json-file log and to attach sockets
speaking the shim's attach protocol, so wharfd's attach/logs/wait paths run for real.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import struct
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import replace
from typing import Any

from wharf import errdefs
from wharf.containerd.core.containers import Container
from wharf.containerd.core.content import ContentInfo
from wharf.containerd.core.events import TOPIC_TASK_EXIT, TOPIC_TASK_START, Event
from wharf.containerd.core.images import Image
from wharf.containerd.core.snapshots import Mount, SnapshotInfo, SnapshotKind
from wharf.containerd.core.tasks import CreateTaskOptions, ExitStatus, TaskInfo, TaskStatus


class FakeContainers:
    def __init__(self) -> None:
        self.items: dict[str, Container] = {}
        self.tasks: FakeTasks | None = None

    async def create(self, container: Container) -> Container:
        if container.id in self.items:
            raise errdefs.AlreadyExists(f"container {container.id} already exists")
        container = replace(container, created_at=time.time_ns())
        self.items[container.id] = container
        return container

    async def get(self, container_id: str) -> Container:
        try:
            return self.items[container_id]
        except KeyError:
            raise errdefs.NotFound(f"container {container_id} not found") from None

    async def list(self, labels: Mapping[str, str] | None = None) -> list[Container]:
        wanted = (labels or {}).items()
        return [c for c in self.items.values() if all(c.labels.get(k) == v for k, v in wanted)]

    async def update(self, container: Container) -> Container:
        self.items[container.id] = container
        return container

    async def delete(self, container_id: str) -> None:
        if container_id not in self.items:
            raise errdefs.NotFound(f"container {container_id} not found")
        if self.tasks is not None and container_id in self.tasks.tasks:
            raise errdefs.FailedPrecondition(f"container {container_id} has a task")
        del self.items[container_id]


class FakeContent:
    def __init__(self) -> None:
        self.blobs: dict[str, bytes] = {}

    async def info(self, digest: str) -> ContentInfo:
        return ContentInfo(digest, len(await self.read(digest)))

    async def read(self, digest: str) -> bytes:
        try:
            return self.blobs[digest]
        except KeyError:
            raise errdefs.NotFound(f"content {digest} not found") from None

    async def read_chunks(self, digest: str, chunk_size: int = 1 << 20) -> AsyncIterator[bytes]:
        data = await self.read(digest)
        for start in range(0, len(data), chunk_size):
            yield data[start : start + chunk_size]

    async def write(self, chunks: AsyncIterator[bytes], expected: str | None = None,
                    labels: dict[str, str] | None = None) -> ContentInfo:
        data = b"".join([chunk async for chunk in chunks])
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        if expected and expected != digest:
            raise errdefs.InvalidArgument(f"digest mismatch: {digest} != {expected}")
        self.blobs[digest] = data
        return ContentInfo(digest, len(data))

    async def delete(self, digest: str) -> None:
        if self.blobs.pop(digest, None) is None:
            raise errdefs.NotFound(f"content {digest} not found")

    async def list(self) -> list[ContentInfo]:
        return [ContentInfo(d, len(b)) for d, b in self.blobs.items()]


class FakeSnapshots:
    def __init__(self) -> None:
        self.items: dict[str, SnapshotInfo] = {}

    async def stat(self, key: str) -> SnapshotInfo:
        try:
            return self.items[key]
        except KeyError:
            raise errdefs.NotFound(f"snapshot {key} not found") from None

    async def prepare(self, key: str, parent: str = "", labels: dict[str, str] | None = None) -> list[Mount]:
        if key in self.items:
            raise errdefs.AlreadyExists(f"snapshot {key} exists")
        if parent and parent not in self.items:
            raise errdefs.NotFound(f"snapshot {parent} not found")
        self.items[key] = SnapshotInfo(key, parent, SnapshotKind.ACTIVE)
        return [Mount("overlay", "overlay", [])]

    async def view(self, key: str, parent: str = "") -> list[Mount]:
        self.items[key] = SnapshotInfo(key, parent, SnapshotKind.VIEW)
        return []

    async def mounts(self, key: str) -> list[Mount]:
        await self.stat(key)
        return []

    async def commit(self, name: str, key: str) -> None:
        info = await self.stat(key)
        del self.items[key]
        self.items[name] = SnapshotInfo(name, info.parent, SnapshotKind.COMMITTED)

    async def remove(self, key: str) -> None:
        await self.stat(key)
        del self.items[key]

    async def list(self) -> list[SnapshotInfo]:
        return list(self.items.values())

    async def usage(self, key: str) -> int:
        return 0


class FakeImages:
    def __init__(self) -> None:
        self.items: dict[str, Image] = {}

    async def get(self, name: str) -> Image:
        try:
            return self.items[name]
        except KeyError:
            raise errdefs.NotFound(f"image {name} not found") from None

    async def list(self) -> list[Image]:
        return list(self.items.values())

    async def create(self, image: Image) -> Image:
        if image.name in self.items:
            raise errdefs.AlreadyExists(f"image {image.name} exists")
        self.items[image.name] = image
        return image

    async def update(self, image: Image) -> Image:
        self.items[image.name] = image
        return image

    async def delete(self, name: str) -> None:
        if self.items.pop(name, None) is None:
            raise errdefs.NotFound(f"image {name} not found")


class FakeUnpacker:
    def __init__(self, content: FakeContent, snapshots: FakeSnapshots) -> None:
        self._content = content
        self._snapshots = snapshots

    async def unpack(self, manifest_digest: str) -> str:
        manifest = json.loads(await self._content.read(manifest_digest))
        config = json.loads(await self._content.read(manifest["config"]["digest"]))
        chain = config["rootfs"]["diff_ids"][0]
        self._snapshots.items.setdefault(chain, SnapshotInfo(chain, "", SnapshotKind.COMMITTED))
        return chain


class FakeEvents:
    def __init__(self) -> None:
        self._queues: list[asyncio.Queue[Event]] = []

    def publish(self, event: Event) -> None:
        for queue in self._queues:
            queue.put_nowait(event)

    async def subscribe(self) -> AsyncIterator[Event]:
        queue: asyncio.Queue[Event] = asyncio.Queue()
        self._queues.append(queue)
        try:
            while True:
                yield await queue.get()
        finally:
            self._queues.remove(queue)


class FakeTask:
    """A scripted process with the shim's attach socket."""

    def __init__(self, tasks: FakeTasks, container: Container, options: CreateTaskOptions, socket_path: str):
        self.tasks = tasks
        self.container = container
        self.options = options
        self.socket_path = socket_path
        self.status = TaskStatus.CREATED
        self.pid = 0
        self.exit: ExitStatus | None = None
        self.exited = asyncio.Event()
        self.stdin_closed = asyncio.Event()
        self.stdin: asyncio.Queue[bytes | None] = asyncio.Queue()
        self.attached: list[tuple[asyncio.StreamWriter, dict[str, Any]]] = []
        self.server: asyncio.AbstractServer | None = None
        self.runner: asyncio.Task[None] | None = None

    async def serve_attach(self) -> None:
        self.server = await asyncio.start_unix_server(self._on_attach, self.socket_path)

    async def _on_attach(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        header = json.loads(await reader.readline())
        self.attached.append((writer, header))
        if self.exit is not None:
            writer.close()
            return
        if header.get("stdin"):
            while True:
                data = await reader.read(65536)
                if not data:
                    break
                self.stdin.put_nowait(data)
            if header.get("stdin_once"):
                self.stdin.put_nowait(None)

    def _output(self, stream: int, data: bytes) -> None:
        if self.options.terminal:
            stream = 1
        if self.options.log_path:
            line = {"log": data.decode(), "stream": "stdout" if stream == 1 else "stderr",
                    "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + ".000000001Z"}
            with open(self.options.log_path, "a") as log:
                log.write(json.dumps(line) + "\n")
        for writer, header in self.attached:
            if (stream == 1 and header.get("stdout")) or (stream == 2 and header.get("stderr")):
                writer.write(struct.pack(">BxxxI", stream, len(data)) + data)

    async def run(self) -> None:
        args = self.container.spec["process"]["args"]
        code = 0
        try:
            if args[0] == "echo":
                self._output(1, (" ".join(args[1:]) + "\n").encode())
            elif args[:2] == ["sh", "-c"] and args[2].startswith("exit "):
                code = int(args[2].split()[1])
            elif args[:2] == ["sh", "-c"] and args[2] == "echo out; echo err >&2":
                self._output(1, b"out\n")
                self._output(2, b"err\n")
            elif args[0] == "cat":
                while (data := await self.stdin.get()) is not None:
                    self._output(1, data)
            elif args[0] == "sleep":
                await asyncio.sleep(float(args[1]))
            else:
                self._output(2, f"fake: {args[0]}: not scripted\n".encode())
                code = 127
        except asyncio.CancelledError:
            code = 128 + self.tasks.killed_with.get(self.container.id, 9)
        await self.finish(code)

    async def finish(self, code: int) -> None:
        self.exit = ExitStatus(code, time.time_ns())
        self.status = TaskStatus.STOPPED
        for writer, _ in self.attached:
            with contextlib.suppress(Exception):
                await writer.drain()
                writer.close()
        self.exited.set()
        self.tasks.events.publish(Event(TOPIC_TASK_EXIT, self.container.id, time.time_ns(),
                                        {"exit_status": str(code), "exited_at": str(self.exit.exited_at)}))

    def info(self) -> TaskInfo:
        return TaskInfo(self.container.id, self.pid, self.status, self.exit, self.socket_path)


class FakeTasks:
    def __init__(self, containers: FakeContainers, events: FakeEvents, state_dir: str) -> None:
        self.containers = containers
        self.events = events
        self.state_dir = state_dir
        self.tasks: dict[str, FakeTask] = {}
        self.killed_with: dict[str, int] = {}
        self.created_options: dict[str, CreateTaskOptions] = {}
        self.updated_resources: dict[str, dict[str, object]] = {}
        self._next_pid = 1000

    def _get(self, container_id: str) -> FakeTask:
        try:
            return self.tasks[container_id]
        except KeyError:
            raise errdefs.NotFound(f"no task for {container_id}") from None

    async def create(self, container_id: str, options: CreateTaskOptions) -> TaskInfo:
        container = await self.containers.get(container_id)
        if container_id in self.tasks:
            raise errdefs.AlreadyExists(f"task {container_id} exists")
        if container.spec["process"]["args"][0] == "no-such-binary":
            raise errdefs.InvalidArgument('exec: "no-such-binary": executable file not found in $PATH')
        task = FakeTask(self, container, options, os.path.join(self.state_dir, container_id[:12] + ".sock"))
        await task.serve_attach()
        self.tasks[container_id] = task
        self.created_options[container_id] = options
        return task.info()

    async def start(self, container_id: str) -> int:
        task = self._get(container_id)
        self._next_pid += 1
        task.pid = self._next_pid
        task.status = TaskStatus.RUNNING
        # Let the attach connections that already reached the socket be accepted first, as a
        # real shim (a separate process, several hops away) would have.
        await asyncio.sleep(0.01)
        task.runner = asyncio.create_task(task.run())
        self.events.publish(Event(TOPIC_TASK_START, container_id, time.time_ns()))
        return task.pid

    async def get(self, container_id: str) -> TaskInfo:
        return self._get(container_id).info()

    async def list(self) -> list[TaskInfo]:
        return [task.info() for task in self.tasks.values()]

    async def kill(self, container_id: str, signal: int, all: bool = False) -> None:
        task = self._get(container_id)
        if task.status is not TaskStatus.RUNNING or task.runner is None:
            raise errdefs.FailedPrecondition("process not running")
        self.killed_with[container_id] = signal
        task.runner.cancel()

    async def wait(self, container_id: str) -> ExitStatus:
        task = self._get(container_id)
        await task.exited.wait()
        assert task.exit is not None
        return task.exit

    async def delete(self, container_id: str) -> ExitStatus:
        task = self._get(container_id)
        if task.status is TaskStatus.RUNNING:
            raise errdefs.FailedPrecondition("task is running")
        if task.server is not None:
            task.server.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(task.socket_path)
        del self.tasks[container_id]
        return task.exit or ExitStatus(0, 0)

    async def close_stdin(self, container_id: str) -> None:
        self._get(container_id).stdin.put_nowait(None)

    async def resize_pty(self, container_id: str, width: int, height: int) -> None:
        self._get(container_id)

    async def pause(self, container_id: str) -> None:
        raise errdefs.NotImplementedYet("pause")

    async def resume(self, container_id: str) -> None:
        raise errdefs.NotImplementedYet("resume")

    async def pids(self, container_id: str) -> list[int]:
        return [self._get(container_id).pid]

    async def update(
        self, container_id: str, resources: dict[str, object], annotations: dict[str, str] | None = None
    ) -> None:
        self._get(container_id)
        self.updated_resources[container_id] = resources


class FakeDistribution:
    """A registry that knows no repository (unit tests never reach a real one)."""

    async def pull(self, reference: str, platform: str = "", auth: object = None) -> AsyncIterator[object]:
        raise errdefs.Unauthorized("authentication required")
        yield  # an async generator, like the real one

    async def push(self, reference: str, manifest: object, auth: object = None) -> AsyncIterator[object]:
        raise errdefs.Unauthorized("authentication required")
        yield


class FakeSupervisor:
    def __init__(self, state_dir: str) -> None:
        self.distribution = FakeDistribution()
        self.containers = FakeContainers()
        self.content = FakeContent()
        self.snapshots = FakeSnapshots()
        self.images = FakeImages()
        self.unpacker = FakeUnpacker(self.content, self.snapshots)
        self.events = FakeEvents()
        self.tasks = FakeTasks(self.containers, self.events, state_dir)
        self.containers.tasks = self.tasks
