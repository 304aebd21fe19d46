"""A real wharf-containerd process, driven through the proxy as wharfd drives it: containers,
images, unpack, tasks with the real wharf-shim and runc, events, restart, errors."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import signal
import socket
import time
from pathlib import Path

import pytest

from tests.fixtures.bundle import base_spec
from tests.fixtures.busybox_image import write_rootfs_tar
from tests.fixtures.cleanup import (
    kill_processes,
    mounts_under,
    processes_mentioning,
    remove_cgroups,
    wait_gone,
)
from tests.integration.containerd import layers as L
from tests.integration.containerd.conftest import SupervisorProcess, run
from wharf import errdefs
from wharf.containerd.core.containers import Container
from wharf.containerd.core.events import Event
from wharf.containerd.core.images import Image
from wharf.containerd.core.tasks import CreateTaskOptions, TaskStatus
from wharf.containerd.proxy import Supervisor, connect
from wharf.oci.image import MEDIA_TYPE_OCI_MANIFEST, Descriptor

IMAGE = "docker.io/library/busybox:latest"


@pytest.fixture(scope="module")
def busybox_layer(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    if not Path("/bin/busybox").is_file():
        pytest.skip("/bin/busybox is missing (busybox-static)")
    return write_rootfs_tar(tmp_path_factory.mktemp("busybox") / "layer.tar").read_bytes()


@pytest.fixture
def container_id() -> str:
    cid = f"wt-{secrets.token_hex(4)}"
    yield cid
    remove_cgroups(f"/{cid}")


async def _import_busybox(sup: Supervisor, layer: bytes) -> str:
    """Import the image, unpack it: the rootfs chain id."""
    manifest = await L.import_image(sup.content, [layer])
    size = (await sup.content.info(manifest)).size
    await sup.images.update(Image(IMAGE, Descriptor(MEDIA_TYPE_OCI_MANIFEST, manifest, size)))
    return await sup.unpacker.unpack(manifest)


async def _make_container(sup: Supervisor, cid: str, chain: str, args: list[str], **spec_options: object) -> None:
    await sup.snapshots.prepare(f"{cid}-rootfs", chain)
    spec = base_spec(args, hostname=cid, **spec_options)  # type: ignore[arg-type]
    await sup.containers.create(Container(id=cid, image=IMAGE, runtime="runc", spec=spec, snapshot_key=f"{cid}-rootfs"))


async def _log_lines(path: Path, count: int) -> list[str]:
    deadline = time.monotonic() + 5
    while True:
        lines = [json.loads(line)["log"] for line in path.read_text().splitlines()] if path.exists() else []
        if len(lines) >= count or time.monotonic() > deadline:
            return lines
        await asyncio.sleep(0.05)


def test_containers_crud_and_not_found(supervisor: SupervisorProcess) -> None:
    async def scenario() -> None:
        sup = await connect(str(supervisor.address))
        try:
            created = await sup.containers.create(
                Container(id="c1", image=IMAGE, runtime="runc", spec={"process": {"args": ["sh"]}}, snapshot_key="k")
            )
            assert created.created_at > 0
            with pytest.raises(errdefs.AlreadyExists):
                await sup.containers.create(created)
            created.labels = {"com.example": "yes"}
            assert (await sup.containers.update(created)).labels == {"com.example": "yes"}
            assert [c.id for c in await sup.containers.list()] == ["c1"]
            assert [c.id for c in await sup.containers.list({"com.example": "yes"})] == ["c1"]
            assert await sup.containers.list({"com.example": "no"}) == []
            assert (await sup.containers.get("c1")).spec == {"process": {"args": ["sh"]}}
            await sup.containers.delete("c1")
            for call in (
                sup.containers.get("c1"),
                sup.containers.delete("c1"),
                sup.tasks.get("c1"),
                sup.tasks.wait("c1"),
                sup.images.get("nope"),
                sup.snapshots.stat("nope"),
                sup.content.info("sha256:" + "0" * 64),
                sup.content.read("sha256:" + "0" * 64),
            ):
                with pytest.raises(errdefs.NotFound):
                    await call
            with pytest.raises(errdefs.InvalidArgument):
                await sup.content.info("not-a-digest")
        finally:
            await sup.close()

    run(scenario())


async def _collect_image_events(events: object, into: list[Event]) -> None:
    async for event in events:  # type: ignore[attr-defined]
        if event.topic.startswith("/images/"):
            into.append(event)


def test_content_and_images_through_the_proxy(supervisor: SupervisorProcess) -> None:
    async def scenario() -> None:
        sup = await connect(str(supervisor.address))
        try:
            big = os.urandom(5 << 20)  # bigger than one gRPC message
            digest = await L.put(sup.content, big)
            assert await sup.content.read(digest) == big
            assert (await sup.content.info(digest)).size == len(big)
            with pytest.raises(errdefs.InvalidArgument):
                await sup.content.write(L._once(b"x"), expected="sha256:" + "1" * 64)
            target = Descriptor(MEDIA_TYPE_OCI_MANIFEST, digest, len(big), platform={"os": "linux"})
            events = sup.events.subscribe()  # every change of an image record is told, as containerd does
            seen: list[Event] = []
            collector = asyncio.create_task(_collect_image_events(events, seen))
            image = await sup.images.create(Image(IMAGE, target, {"l": "v"}))
            assert (await sup.images.get(IMAGE)).target == target
            with pytest.raises(errdefs.AlreadyExists):
                await sup.images.create(image)
            assert [i.name for i in await sup.images.list()] == [IMAGE]
            await sup.images.update(Image(IMAGE, target, {"l": "w"}))
            await sup.images.delete(IMAGE)
            with pytest.raises(errdefs.NotFound):
                await sup.images.delete(IMAGE)
            deadline = time.monotonic() + 10
            while len(seen) < 3 and time.monotonic() < deadline:
                await asyncio.sleep(0.01)
            collector.cancel()
            assert [(e.topic, e.attributes) for e in seen] == [
                ("/images/create", {"name": IMAGE}), ("/images/update", {"name": IMAGE}),
                ("/images/delete", {"name": IMAGE}),
            ]
            await sup.content.delete(digest)
            assert await sup.content.list() == []
        finally:
            await sup.close()

    run(scenario())


def test_task_lifecycle_with_shim_and_runc(supervisor: SupervisorProcess, busybox_layer: bytes, container_id: str) -> None:
    cid = container_id
    log_path = supervisor.base / "task.log"

    async def collect(events: object, into: list[Event]) -> None:
        async for event in events:  # type: ignore[attr-defined]
            if event.container_id == cid:
                into.append(event)
                if event.topic == "/tasks/delete":
                    return

    async def scenario() -> None:
        sup = await connect(str(supervisor.address))
        try:
            chain = await _import_busybox(sup, busybox_layer)
            assert chain == L.sha256(busybox_layer)
            spec_args = ["sh", "-c", "echo hello from $(hostname); id -u; exit 3"]
            await _make_container(sup, cid, chain, spec_args)
            spec = (await sup.containers.get(cid)).spec
            spec["annotations"] = {"io.wharf.user": "nobody"}
            await sup.containers.update(Container(**{**vars(await sup.containers.get(cid)), "spec": spec}))

            # No explicit `await events.ready()`: the calls below wait until the subscription is live.
            events = sup.events.subscribe()
            seen: list[Event] = []
            collector = asyncio.create_task(collect(events, seen))

            info = await sup.tasks.create(cid, CreateTaskOptions(log_path=str(log_path)))
            assert info.status == TaskStatus.CREATED and info.pid > 0 and info.exit_status is None
            assert info.attach_socket.endswith("attach.sock")
            bundle = supervisor.base / "state" / "bundles" / cid
            config = json.loads((bundle / "config.json").read_text())
            assert config["root"]["path"] == "rootfs"
            assert config["process"]["user"]["uid"] == 65534
            assert str(bundle / "rootfs") in mounts_under(str(bundle))
            with pytest.raises(errdefs.AlreadyExists):
                await sup.tasks.create(cid, CreateTaskOptions())
            with pytest.raises(errdefs.FailedPrecondition):
                await sup.containers.delete(cid)  # it has a task

            pid = await sup.tasks.start(cid)
            assert pid == info.pid
            exit_status = await sup.tasks.wait(cid)
            assert exit_status.code == 3 and exit_status.exited_at > 0
            assert (await sup.tasks.get(cid)).status == TaskStatus.STOPPED
            assert [t.id for t in await sup.tasks.list()] == [cid]
            assert await _log_lines(log_path, 2) == [f"hello from {cid}\n", "65534\n"]

            deleted = await sup.tasks.delete(cid)
            assert deleted.code == 3
            assert not bundle.exists() and not (_shim_dir(supervisor, cid)).exists()
            assert mounts_under(str(supervisor.base / "state")) == []
            with pytest.raises(errdefs.NotFound):
                await sup.tasks.get(cid)

            await asyncio.wait_for(collector, 10)
            await events.aclose()
            assert [e.topic for e in seen] == ["/tasks/create", "/tasks/start", "/tasks/exit", "/tasks/delete"]
            exit_event = seen[2]
            assert exit_event.attributes["exit_status"] == "3"
            assert exit_event.attributes["pid"] == str(pid)
            assert int(exit_event.attributes["exited_at"]) == exit_status.exited_at

            await sup.containers.delete(cid)
            await sup.snapshots.remove(f"{cid}-rootfs")
        finally:
            await sup.close()

    run(scenario())


def test_running_task_cannot_be_deleted_and_can_be_killed(
    supervisor: SupervisorProcess, busybox_layer: bytes, container_id: str
) -> None:
    cid = container_id

    async def scenario() -> None:
        sup = await connect(str(supervisor.address))
        try:
            chain = await _import_busybox(sup, busybox_layer)
            await _make_container(sup, cid, chain, ["sleep", "1000"])
            await sup.tasks.create(cid, CreateTaskOptions())
            await sup.tasks.start(cid)
            assert (await sup.tasks.get(cid)).status == TaskStatus.RUNNING
            assert (await sup.tasks.pids(cid)) != []
            with pytest.raises(errdefs.FailedPrecondition):
                await sup.tasks.delete(cid)
            events = sup.events.subscribe()
            await events.ready()
            await sup.tasks.kill(cid, signal.SIGKILL)
            assert (await sup.tasks.wait(cid)).code == 128 + signal.SIGKILL
            exit_event = await asyncio.wait_for(anext(events), 10)
            assert (exit_event.topic, exit_event.container_id) == ("/tasks/exit", cid)
            assert exit_event.attributes["exit_status"] == "137"
            await events.aclose()
            assert (await sup.tasks.delete(cid)).code == 137
        finally:
            await sup.close()

    run(scenario())


def test_unknown_runtime_fails_create_and_leaves_nothing(
    supervisor: SupervisorProcess, busybox_layer: bytes, container_id: str
) -> None:
    cid = container_id

    async def scenario() -> None:
        sup = await connect(str(supervisor.address))
        try:
            chain = await _import_busybox(sup, busybox_layer)
            await sup.snapshots.prepare(f"{cid}-rootfs", chain)
            spec = base_spec(["true"])
            await sup.containers.create(
                Container(id=cid, image=IMAGE, runtime="/nonexistent/runtime", spec=spec, snapshot_key=f"{cid}-rootfs")
            )
            with pytest.raises(errdefs.WharfError):
                await sup.tasks.create(cid, CreateTaskOptions())
            with pytest.raises(errdefs.NotFound):
                await sup.tasks.get(cid)
            assert not (supervisor.base / "state" / "bundles" / cid).exists()
            assert mounts_under(str(supervisor.base / "state")) == []
        finally:
            await sup.close()

    run(scenario())


def test_task_survives_supervisor_restart(supervisor: SupervisorProcess, busybox_layer: bytes, container_id: str) -> None:
    cid = container_id

    async def before() -> int:
        sup = await connect(str(supervisor.address))
        try:
            chain = await _import_busybox(sup, busybox_layer)
            await _make_container(sup, cid, chain, ["sleep", "1000"])
            await sup.tasks.create(cid, CreateTaskOptions())
            return await sup.tasks.start(cid)
        finally:
            await sup.close()

    async def after(pid: int) -> None:
        sup = await connect(str(supervisor.address))
        try:
            task = await sup.tasks.get(cid)
            assert (task.pid, task.status) == (pid, TaskStatus.RUNNING)
            waiter = asyncio.create_task(sup.tasks.wait(cid))
            await asyncio.sleep(0.2)
            assert not waiter.done()
            await sup.tasks.kill(cid, signal.SIGKILL)  # sleep as pid 1 ignores SIGTERM
            assert (await asyncio.wait_for(waiter, 10)).code == 128 + signal.SIGKILL
            await sup.tasks.delete(cid)
            await sup.containers.delete(cid)
        finally:
            await sup.close()

    pid = run(before())
    supervisor.kill(signal.SIGKILL)
    os.kill(pid, 0)  # the container lives on without its supervisor
    supervisor.start()
    run(after(pid))


def test_exit_while_supervisor_is_down_and_dead_shim(
    supervisor: SupervisorProcess, busybox_layer: bytes, container_id: str
) -> None:
    """The task exits while the supervisor is away, and its shim dies too: the exit comes from
    exit.json, and delete still cleans up the rootfs mount and the runtime's state."""
    cid = container_id

    async def before() -> int:
        sup = await connect(str(supervisor.address))
        try:
            chain = await _import_busybox(sup, busybox_layer)
            await _make_container(sup, cid, chain, ["sleep", "1000"])
            await sup.tasks.create(cid, CreateTaskOptions())
            return await sup.tasks.start(cid)
        finally:
            await sup.close()

    pid = run(before())
    supervisor.kill(signal.SIGKILL)
    os.kill(pid, signal.SIGKILL)
    exit_file = _shim_dir(supervisor, cid) / "exit.json"
    deadline = time.monotonic() + 10
    while not exit_file.exists():
        assert time.monotonic() < deadline, "the shim did not record the exit"
        time.sleep(0.05)
    shims = processes_mentioning(str(_shim_dir(supervisor, cid)))
    assert shims
    kill_processes(shims)
    wait_gone(shims)
    supervisor.start()

    async def after() -> None:
        sup = await connect(str(supervisor.address))
        try:
            task = await sup.tasks.get(cid)
            assert task.status == TaskStatus.STOPPED
            assert (await sup.tasks.wait(cid)).code == 137
            assert (await sup.tasks.delete(cid)).code == 137
            assert mounts_under(str(supervisor.base / "state")) == []
            assert not (supervisor.runtime_root / cid).exists()
        finally:
            await sup.close()

    run(after())


def test_created_task_can_be_deleted_without_starting(
    supervisor: SupervisorProcess, busybox_layer: bytes, container_id: str
) -> None:
    cid = container_id

    async def scenario() -> None:
        sup = await connect(str(supervisor.address))
        try:
            chain = await _import_busybox(sup, busybox_layer)
            await _make_container(sup, cid, chain, ["sleep", "1000"])
            info = await sup.tasks.create(cid, CreateTaskOptions(stdin=True))
            assert info.status == TaskStatus.CREATED
            await sup.tasks.delete(cid)
            assert not (supervisor.runtime_root / cid).exists()
            assert mounts_under(str(supervisor.base / "state")) == []
            await sup.containers.delete(cid)
        finally:
            await sup.close()

    run(scenario())


def test_stale_socket_is_replaced_and_socket_is_group_only(base_dir: Path) -> None:
    proc = SupervisorProcess(base_dir, "runc")
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(str(proc.address))
    stale.close()  # a socket file nobody listens on: what a crashed run leaves
    proc.start()
    try:
        assert oct(proc.address.stat().st_mode & 0o777) == oct(0o660)

        async def answers() -> list[Container]:
            sup = await connect(str(proc.address))
            try:
                return await sup.containers.list()
            finally:
                await sup.close()

        assert run(answers()) == []
    finally:
        proc.kill(signal.SIGTERM)


def _shim_dir(supervisor: SupervisorProcess, container_id: str) -> Path:
    import hashlib

    return supervisor.base / "state" / "s" / hashlib.sha256(container_id.encode()).hexdigest()[:16]
