"""A network controller with its own state, bridge names and namespaces, removed afterwards (with the
masquerade rules of its networks)."""

import asyncio
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from wharf.daemon.network import netns
from wharf.daemon.network.bridge import delete_bridge_device
from wharf.daemon.network.controller import NetworkController


@pytest.fixture
def controller(tmp_path: Path) -> Iterator[NetworkController]:
    if not Path("/usr/lib/cni/bridge").exists():
        pytest.skip("containernetworking-plugins is not installed")
    tag = secrets.token_hex(3)
    made = NetworkController(tmp_path / "state", tmp_path / "run", default_bridge=f"wt{tag}0")
    made.load()
    yield made

    async def cleanup() -> None:
        for container_id in list(made.endpoints):
            await made.release_sandbox(container_id)
        for path in (tmp_path / "run" / "netns").glob("*") if (tmp_path / "run" / "netns").exists() else []:
            netns.remove(path)
        await made.shutdown_bridges()  # the bridge devices and their masquerade rules
        for record in list(made.networks.values()):
            if record.bridge:
                await delete_bridge_device(record.bridge)  # gone already unless a release failed

    asyncio.run(cleanup())


