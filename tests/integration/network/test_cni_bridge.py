"""Bridge networks through the real CNI plugins, between network namespaces the test makes."""

import asyncio
import secrets
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from wharf import errdefs
from wharf.daemon.network import netns
from wharf.daemon.network.bridge import BridgeNetwork, delete_bridge_device
from wharf.daemon.network.cni import CNI, Attachment

PLUGINS = Path("/usr/lib/cni/bridge")


@pytest.fixture
def workdir(tmp_path: Path) -> Iterator[Path]:
    if not PLUGINS.exists():
        pytest.skip("containernetworking-plugins is not installed")
    yield tmp_path


def _ip_in(namespace: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["nsenter", f"--net={namespace}", *args], capture_output=True, text=True, timeout=20)


def test_two_namespaces_on_one_bridge_reach_each_other(workdir: Path) -> None:
    tag = secrets.token_hex(3)
    third = int(tag[:2], 16)
    network = BridgeNetwork(name=f"wt-{tag}", bridge=f"wt-{tag}", subnet=f"10.211.{third}.0/24")
    network.validate()
    conflist = network.conflist(workdir / "ipam")
    cni = CNI(workdir / "cache")
    namespaces = [workdir / "ns-a", workdir / "ns-b"]
    attachments = [Attachment(f"c{tag}{i}", str(ns)) for i, ns in enumerate(namespaces)]

    async def scenario() -> list[dict]:
        results = []
        for namespace, attachment in zip(namespaces, attachments, strict=True):
            await netns.create(namespace)
            results.append(await cni.add(conflist, attachment))
        return results

    try:
        results = asyncio.run(scenario())
        addresses = [r["ips"][0]["address"].split("/")[0] for r in results]
        assert addresses[0] != addresses[1]
        assert all(a.startswith(f"10.211.{third}.") for a in addresses)
        assert results[0]["ips"][0]["gateway"] == f"10.211.{third}.1"
        ping = _ip_in(namespaces[0], "busybox", "ping", "-c", "1", "-W", "2", addresses[1])
        assert ping.returncode == 0, ping.stdout + ping.stderr
        links = _ip_in(namespaces[1], "ip", "-o", "addr", "show", "eth0").stdout
        assert addresses[1] in links
    finally:
        async def cleanup() -> None:
            for namespace, attachment in zip(namespaces, attachments, strict=True):
                if namespace.exists():
                    await cni.delete(None, attachment, network.name)
                    netns.remove(namespace)
            await delete_bridge_device(network.bridge)

        asyncio.run(cleanup())
    assert not list((workdir / "cache").glob("*.json"))
    assert subprocess.run(["ip", "link", "show", network.bridge], capture_output=True).returncode != 0


def test_failed_add_leaves_nothing_attached(workdir: Path) -> None:
    tag = secrets.token_hex(3)
    network = BridgeNetwork(name=f"wt-{tag}", bridge=f"wt-{tag}", subnet="10.212.0.0/24")
    conflist = network.conflist(workdir / "ipam")
    conflist["plugins"].append({"type": "no-such-plugin"})
    cni = CNI(workdir / "cache")
    namespace = workdir / "ns"

    async def scenario() -> None:
        await netns.create(namespace)
        try:
            with pytest.raises(errdefs.NotFound):
                await cni.add(conflist, Attachment(f"c{tag}", str(namespace)))
            links = _ip_in(namespace, "ip", "-o", "link").stdout
            assert "eth0" not in links
        finally:
            netns.remove(namespace)
            await delete_bridge_device(network.bridge)

    asyncio.run(scenario())


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"subnet": "10.0.0.0/33"}, "invalid CIDR address"),
        ({"subnet": "not-a-cidr"}, "invalid CIDR address"),
        ({"subnet": "10.9.0.0/24", "gateway": "10.9.1.1"}, "no matching subnet for gateway"),
        ({"subnet": "10.9.0.0/24", "ip_range": "10.8.0.0/25"}, "no matching subnet for range"),
        ({"subnet": "10.9.0.0/24", "bridge": "x" * 16}, "invalid bridge name"),
    ],
)
def test_invalid_networks_are_refused(fields: dict, message: str) -> None:
    values = {"name": "n", "bridge": "wt-x", **fields}
    with pytest.raises(errdefs.InvalidArgument, match=message):
        BridgeNetwork(**values).validate()


def test_published_port_answers_on_loopback(workdir: Path) -> None:
    import urllib.request

    from tests.fixtures.registry import free_port

    tag = secrets.token_hex(3)
    network = BridgeNetwork(name=f"wt-{tag}", bridge=f"wt-{tag}", subnet="10.214.0.0/24")
    cni = CNI(workdir / "cache")
    namespace = workdir / "ns"
    port = free_port()
    mapping = {"hostPort": port, "containerPort": 80, "protocol": "tcp", "hostIP": "127.0.0.1"}
    attachment = Attachment(f"c{tag}", str(namespace), runtime_config={"portMappings": [mapping]})
    (workdir / "www").mkdir()
    (workdir / "www" / "index.html").write_text("hello through the bridge")
    server = None

    async def attach() -> None:
        await netns.create(namespace)
        await cni.add(network.conflist(workdir / "ipam"), attachment)

    async def detach() -> None:
        await cni.delete(None, attachment, network.name)
        netns.remove(namespace)
        await delete_bridge_device(network.bridge)

    try:
        asyncio.run(attach())
        server = subprocess.Popen(["nsenter", f"--net={namespace}", "busybox", "httpd", "-f", "-p", "80",
                                   "-h", str(workdir / "www")])
        body = b""
        for _ in range(50):
            try:
                body = urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2).read()
                break
            except OSError:
                import time

                time.sleep(0.05)
        assert body == b"hello through the bridge"
    finally:
        if server is not None:
            server.kill()
            server.wait()
        asyncio.run(detach())
    rules = subprocess.run(["iptables", "-t", "nat", "-S"], capture_output=True, text=True).stdout
    assert f"c{tag}" not in rules and str(port) not in rules
