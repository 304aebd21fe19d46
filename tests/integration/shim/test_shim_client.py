"""wharf.shim.client as wharf-containerd uses it: start_shim and the asyncio ShimClient."""

from __future__ import annotations

import asyncio

import pytest
from shim_world import ShimHost

from wharf import errdefs
from wharf.shim.client import ShimClient, open_attach, read_exit_file, read_frame, start_shim


def _run(coroutine):  # type: ignore[no-untyped-def]
    return asyncio.run(asyncio.wait_for(coroutine, 30))


def test_start_shim_and_drive_a_task_with_the_async_client(host: ShimHost) -> None:
    container_id = host.new_id()
    bundle = host.bundle(["sh", "-c", "echo hi; sleep 0.3; exit 5"])
    state_dir = str(host.state_dir(container_id))

    async def scenario() -> None:
        socket_path = await start_shim(id=container_id, bundle=str(bundle), state_dir=state_dir,
                                       runtime=host.runc, runtime_root=str(host.runtime_root))
        async with ShimClient(socket_path) as client:
            reader, _ = await open_attach(f"{state_dir}/attach.sock")
            await client.call("start")
            # wait holds one connection; kill, state go over others meanwhile.
            waiting = asyncio.create_task(client.call("wait"))
            assert (await client.call("state"))["status"] == "running"
            assert await read_frame(reader) == (1, b"hi\n")
            exited = await waiting
            assert exited["exit_status"] == 5
            assert await read_frame(reader) is None
            with pytest.raises(errdefs.NotFound):
                await client.call("kill", signal=9)
            assert await client.call("delete") == exited
            await client.call("shutdown")

    _run(scenario())
    assert read_exit_file(state_dir) is None  # the state dir went with the shim


def test_start_shim_errors_are_categorised(host: ShimHost) -> None:
    container_id = host.new_id()
    state_dir = str(host.state_dir(container_id))
    with pytest.raises(errdefs.InvalidArgument):
        _run(start_shim(id=container_id, bundle=str(host.base / "missing"), state_dir=state_dir,
                        runtime=host.runc))
    bad = host.bundle(["/not/here"])
    with pytest.raises(errdefs.System, match="/not/here"):
        _run(start_shim(id=container_id, bundle=str(bad), state_dir=state_dir, runtime=host.runc,
                        runtime_root=str(host.runtime_root)))


def test_a_gone_shim_is_unavailable(host: ShimHost) -> None:
    with pytest.raises(errdefs.Unavailable):
        _run(ShimClient(str(host.base / "nothing.sock")).call("state"))
