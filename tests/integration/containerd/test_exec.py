"""Exec through a real wharf-containerd (the proxy as wharfd uses it), its shim and runc: an extra
process with its own stdio on the attach socket, the user resolved against the rootfs, its exit."""

from __future__ import annotations

import asyncio
import json
import signal

import pytest

from tests.integration.containerd.conftest import SupervisorProcess, run
from tests.integration.containerd.test_supervisor import (  # noqa: F401 - fixtures
    _import_busybox,
    _make_container,
    busybox_layer,
    container_id,
)
from wharf import errdefs
from wharf.containerd.core.tasks import CreateTaskOptions, TaskStatus
from wharf.containerd.proxy import connect
from wharf.shim.client import read_frame


async def _output(attach_socket: str, exec_id: str, stdin: bytes | None = None) -> tuple[asyncio.Task[bytes], asyncio.StreamWriter]:
    reader, writer = await asyncio.open_unix_connection(attach_socket)
    header = {"stdin": stdin is not None, "stdout": True, "stderr": True, "stdin_once": True, "exec_id": exec_id}
    writer.write(json.dumps(header).encode() + b"\n")
    await writer.drain()

    async def collect() -> bytes:
        out = b""
        while (frame := await read_frame(reader)) is not None:
            out += frame[1]
        return out

    return asyncio.create_task(collect()), writer


def test_exec_runs_beside_the_init(
    supervisor: SupervisorProcess, busybox_layer: bytes, container_id: str  # noqa: F811 - imported fixtures
) -> None:
    cid = container_id

    async def scenario() -> None:
        sup = await connect(str(supervisor.address))
        try:
            chain = await _import_busybox(sup, busybox_layer)
            await _make_container(sup, cid, chain, ["sleep", "300"])
            await sup.tasks.create(cid, CreateTaskOptions())
            with pytest.raises(errdefs.FailedPrecondition):  # created, not running yet
                process = (await sup.containers.get(cid)).spec["process"]
                info = await sup.tasks.exec(cid, "early", {**process, "args": ["true"]})
                await sup.tasks.start_exec(cid, "early")
            await sup.tasks.start(cid)
            process = (await sup.containers.get(cid)).spec["process"]

            info = await sup.tasks.exec(cid, "e1", {**process, "args": ["sh", "-c", "id -u; cat; exit 4"]},
                                        stdin=True, user="nobody")
            assert info.id == "e1" and info.status == TaskStatus.CREATED
            output, writer = await _output(info.attach_socket, "e1", stdin=b"")
            pid = await sup.tasks.start_exec(cid, "e1")
            assert pid > 0
            writer.write(b"from stdin\n")
            writer.write_eof()
            status = await asyncio.wait_for(sup.tasks.wait_exec(cid, "e1"), 10)
            assert status.code == 4
            assert await asyncio.wait_for(output, 10) == b"65534\nfrom stdin\n"
            assert (await sup.tasks.get_exec(cid, "e1")).status == TaskStatus.STOPPED
            await sup.tasks.delete_exec(cid, "e1")
            with pytest.raises(errdefs.NotFound):
                await sup.tasks.get_exec(cid, "e1")

            await sup.tasks.exec(cid, "e2", {**process, "args": ["sleep", "300"]})
            await sup.tasks.start_exec(cid, "e2")
            await sup.tasks.kill_exec(cid, "e2", int(signal.SIGKILL))
            assert (await asyncio.wait_for(sup.tasks.wait_exec(cid, "e2"), 10)).code == 137
            with pytest.raises(errdefs.InvalidArgument):
                await sup.tasks.exec(cid, "e3", {**process, "args": ["true"]}, user="no-such-user")

            await sup.tasks.kill(cid, int(signal.SIGKILL))
            await sup.tasks.wait(cid)
            await sup.tasks.delete(cid)
            await sup.containers.delete(cid)
            await sup.snapshots.remove(f"{cid}-rootfs")
        finally:
            await sup.close()

    run(scenario())
