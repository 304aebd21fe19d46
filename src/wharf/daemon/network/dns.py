"""The embedded DNS server of user-defined networks, at 127.0.0.11:53 inside each container.

Its sockets are made inside the container's network namespace and served by wharfd's event
loop. Names of containers (name, network aliases, short id) on the networks the asking
container shares are answered here; other names go to the host's resolvers.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from contextlib import suppress

from dnslib import AAAA, PTR, QTYPE, RCODE, RR, A, DNSRecord  # type: ignore[import-untyped]

from wharf.linux.netns_thread import run_in_netns

DNS_ADDRESS = "127.0.0.11"
TTL = 600
FORWARD_TIMEOUT = 3.0

Resolver = Callable[[str, str], list[str]]
"""(asking container id, name) → IPv4 addresses; empty when the name is not a container's."""
ReverseResolver = Callable[[str, str], str | None]
"""(asking container id, IPv4 address) → name."""


def _make_sockets(address: tuple[str, int]) -> tuple[socket.socket, socket.socket]:
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        for sock in (udp, tcp):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(address)
            sock.setblocking(False)
        tcp.listen(64)
    except OSError:
        udp.close()
        tcp.close()
        raise
    return udp, tcp


class _Session:
    def __init__(self, transport: asyncio.DatagramTransport, server: asyncio.base_events.Server) -> None:
        self.transport = transport
        self.server = server

    def close(self) -> None:
        self.transport.close()
        self.server.close()


class EmbeddedDNS:
    def __init__(self, resolve: Resolver, reverse: ReverseResolver | None = None,
                 upstreams: list[tuple[str, int]] | None = None, port: int = 53) -> None:
        self.resolve = resolve
        self.reverse = reverse or (lambda _c, _a: None)
        self.upstreams = upstreams or []
        self.port = port
        self.sessions: dict[str, _Session] = {}
        self.container_upstreams: dict[str, list[tuple[str, int]]] = {}
        """A container's own resolvers (`--dns`), used instead of the host's."""

    async def serve(self, container_id: str, netns_path: str, upstreams: list[tuple[str, int]] | None = None) -> None:
        """Start answering inside the container's namespace (whose `lo` must be up)."""
        if upstreams:
            self.container_upstreams[container_id] = upstreams
        if container_id in self.sessions:
            return
        udp, tcp = await asyncio.to_thread(run_in_netns, netns_path,
                                           lambda: _make_sockets((DNS_ADDRESS, self.port)))
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(lambda: _UDPProtocol(self, container_id), sock=udp)
        server = await asyncio.start_server(lambda r, w: self._tcp(container_id, r, w), sock=tcp)
        self.sessions[container_id] = _Session(transport, server)  # type: ignore[arg-type]

    def stop(self, container_id: str) -> None:
        self.container_upstreams.pop(container_id, None)
        session = self.sessions.pop(container_id, None)
        if session is not None:
            session.close()

    def close(self) -> None:
        for container_id in list(self.sessions):
            self.stop(container_id)

    async def answer(self, container_id: str, packet: bytes) -> bytes | None:
        try:
            request = DNSRecord.parse(packet)
        except Exception:  # dnslib raises several kinds on garbage; a malformed query gets no answer
            return None
        reply = request.reply()
        question = request.q
        name = str(question.qname).rstrip(".").lower()
        if question.qtype in (QTYPE.A, QTYPE.AAAA, QTYPE.ANY):
            addresses = self.resolve(container_id, name)
            if addresses:
                # A name of a dual-stack network has IPv4 and IPv6 addresses: each to its query.
                for address in addresses:
                    if ":" in address and question.qtype != QTYPE.A:
                        reply.add_answer(RR(question.qname, QTYPE.AAAA, rdata=AAAA(address), ttl=TTL))
                    elif ":" not in address and question.qtype != QTYPE.AAAA:
                        reply.add_answer(RR(question.qname, QTYPE.A, rdata=A(address), ttl=TTL))
                return reply.pack()
        elif question.qtype == QTYPE.PTR and name.endswith(".in-addr.arpa"):
            address = ".".join(reversed(name.removesuffix(".in-addr.arpa").split(".")))
            found = self.reverse(container_id, address)
            if found:
                reply.add_answer(RR(question.qname, QTYPE.PTR, rdata=PTR(found + "."), ttl=TTL))
                return reply.pack()
        forwarded = await self._forward(packet, self.container_upstreams.get(container_id) or self.upstreams)
        if forwarded is not None:
            return forwarded
        reply.header.rcode = RCODE.SERVFAIL
        return reply.pack()

    async def _forward(self, packet: bytes, upstreams: list[tuple[str, int]]) -> bytes | None:
        loop = asyncio.get_running_loop()
        for host, port in upstreams:
            future: asyncio.Future[bytes] = loop.create_future()
            transport, _ = await loop.create_datagram_endpoint(lambda f=future: _Relay(f), remote_addr=(host, port))
            try:
                transport.sendto(packet)
                return await asyncio.wait_for(future, FORWARD_TIMEOUT)
            except (TimeoutError, OSError):
                continue
            finally:
                transport.close()
        return None

    async def _tcp(self, container_id: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                header = await reader.readexactly(2)
                packet = await reader.readexactly(int.from_bytes(header, "big"))
                answer = await self.answer(container_id, packet)
                if answer is None:
                    break
                writer.write(len(answer).to_bytes(2, "big") + answer)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()
            with suppress(ConnectionError):
                await writer.wait_closed()


class _Relay(asyncio.DatagramProtocol):
    """Receives the upstream resolver's answer to one forwarded query."""

    def __init__(self, answer: asyncio.Future[bytes]) -> None:
        self.answer = answer

    def datagram_received(self, data: bytes, addr: object) -> None:
        if not self.answer.done():
            self.answer.set_result(data)


class _UDPProtocol(asyncio.DatagramProtocol):
    def __init__(self, server: EmbeddedDNS, container_id: str) -> None:
        self.server = server
        self.container_id = container_id
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        asyncio.ensure_future(self._reply(data, addr))

    async def _reply(self, data: bytes, addr: tuple[str, int]) -> None:
        answer = await self.server.answer(self.container_id, data)
        if answer is not None and self.transport is not None and not self.transport.is_closing():
            self.transport.sendto(answer, addr)

