"""The network controller with real namespaces, bridges and CNI plugins."""

import asyncio
import subprocess
from pathlib import Path

import pytest

from wharf import errdefs
from wharf.daemon.network.controller import NetworkController
from wharf.daemon.network.model import PortMapping


def _in(namespace: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["nsenter", f"--net={namespace}", *args], capture_output=True, text=True, timeout=20)


def test_predefined_networks_exist_and_cannot_be_removed(controller: NetworkController) -> None:
    assert sorted(n.name for n in controller.list()) == ["bridge", "host", "none"]
    bridge = controller.find("bridge")
    assert bridge.subnet and bridge.gateway
    for name in ("bridge", "host", "none"):
        with pytest.raises(errdefs.Forbidden, match="is a pre-defined network and cannot be removed"):
            asyncio.run(controller.remove(name))


def test_user_network_connects_two_containers(controller: NetworkController) -> None:
    async def scenario() -> tuple:
        network = await controller.create("appnet", labels={"a": "b"})
        first = await controller.connect("c1" * 32, "/one", "appnet", aliases=["db"])
        second = await controller.connect("c2" * 32, "/two", network.id[:12])
        return network, first, second

    network, first, second = asyncio.run(scenario())
    assert first.address != second.address
    assert first.gateway == network.gateway
    ping = _in(controller.netns_path("c1" * 32), "busybox", "ping", "-c", "1", "-W", "2", second.address)
    assert ping.returncode == 0, ping.stdout + ping.stderr
    inspected = controller.inspect(network)
    assert set(inspected["Containers"]) == {"c1" * 32, "c2" * 32}
    assert inspected["Labels"] == {"a": "b"}

    with pytest.raises(errdefs.Forbidden, match="has active endpoints"):
        asyncio.run(controller.remove("appnet"))
    asyncio.run(controller.disconnect("c2" * 32, "appnet"))
    ping = _in(controller.netns_path("c1" * 32), "busybox", "ping", "-c", "1", "-W", "1", second.address)
    assert ping.returncode != 0

    # A new controller (a restarted daemon) sees the same networks and endpoints.
    again = NetworkController(controller.state_dir, controller.run_dir, default_bridge=controller.default_bridge)
    again.load()
    assert again.find("appnet").id == network.id
    assert [e.address for e in again.endpoints_of("c1" * 32)] == [first.address]


def test_network_errors(controller: NetworkController) -> None:
    asyncio.run(controller.create("dup", subnet="10.215.0.0/24"))
    with pytest.raises(errdefs.Conflict, match="network with name dup already exists"):
        asyncio.run(controller.create("dup"))
    with pytest.raises(errdefs.Forbidden, match="Pool overlaps"):
        asyncio.run(controller.create("other", subnet="10.215.0.128/25"))
    with pytest.raises(errdefs.InvalidArgument, match="invalid CIDR address"):
        asyncio.run(controller.create("bad", subnet="10.300.0.0/24"))
    with pytest.raises(errdefs.NotFound, match="network nope not found"):
        controller.find("nope")
    with pytest.raises(errdefs.InvalidArgument, match="invalid name"):
        asyncio.run(controller.create(""))  # moby refuses only an empty name ("test 01" is fine)
    asyncio.run(controller.remove("dup"))
    with pytest.raises(errdefs.NotFound):
        controller.find("dup")


def test_taken_host_port_is_refused(controller: NetworkController) -> None:
    import socket

    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        with pytest.raises(errdefs.Conflict, match="port is already allocated"):
            asyncio.run(controller.connect("c3" * 32, "/three", "bridge",
                                           ports=[PortMapping(80, "tcp", "127.0.0.1", port)]))
    assert controller.endpoints_of("c3" * 32) == []
