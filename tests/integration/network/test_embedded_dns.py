"""Containers on a user network resolve each other by name through the embedded DNS."""

import asyncio
import subprocess
from pathlib import Path

from dnslib import QTYPE, RR, A, DNSRecord

from wharf.daemon.network.controller import NetworkController
from wharf.daemon.network.dns import EmbeddedDNS


def _lookup(namespace: Path, name: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["nsenter", f"--net={namespace}", "busybox", "nslookup", name, "127.0.0.11"],
                          capture_output=True, text=True, timeout=20)


class _FakeUpstream(asyncio.DatagramProtocol):
    """A resolver on 127.0.0.1 that knows one outside name."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        request = DNSRecord.parse(data)
        reply = request.reply()
        if str(request.q.qname).rstrip(".") == "outside.example":
            reply.add_answer(RR(request.q.qname, QTYPE.A, rdata=A("127.0.0.42"), ttl=30))
        self.transport.sendto(reply.pack(), addr)


def test_names_aliases_and_forwarding(controller: NetworkController) -> None:
    async def scenario() -> dict[str, str]:
        loop = asyncio.get_running_loop()
        upstream, _ = await loop.create_datagram_endpoint(_FakeUpstream, local_addr=("127.0.0.1", 0))
        port = upstream.get_extra_info("sockname")[1]
        dns = EmbeddedDNS(controller.resolve, controller.reverse, upstreams=[("127.0.0.1", port)])
        try:
            await controller.create("dnsnet")
            await controller.create("elsewhere")
            web = await controller.connect("a1" * 32, "/web", "dnsnet", aliases=["frontend"])
            await controller.connect("b2" * 32, "/client", "dnsnet")
            await controller.connect("c3" * 32, "/stranger", "elsewhere")
            client_ns = str(controller.netns_path("b2" * 32))
            await dns.serve("b2" * 32, client_ns)
            results = {}
            for name in ("web", "frontend", "WEB", "a1a1a1a1a1a1", "web.dnsnet", "stranger", "outside.example"):
                results[name] = (await asyncio.to_thread(_lookup, Path(client_ns), name)).stdout
            results["address"] = web.address
            return results
        finally:
            dns.close()
            upstream.close()

    results = asyncio.run(scenario())
    address = results["address"]
    for name in ("web", "frontend", "WEB", "a1a1a1a1a1a1", "web.dnsnet"):
        assert f"Address: {address}" in results[name], (name, results[name])
    # A container on another network is not visible.
    assert "Address: 10." not in results["stranger"].split("127.0.0.11")[-1]
    assert "Address: 127.0.0.42" in results["outside.example"]
