"""Where wharfd listens: unix sockets (mode 0660, group `wharf` when it exists, as Docker's socket
is for `docker`) and TCP, which carries the whole power of root and so is served only with mutual
TLS unless the operator explicitly asks for less (and is warned loudly)."""

from __future__ import annotations

import contextlib
import grp
import logging
import os
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit

from aiohttp import web

from wharf import errdefs

log = logging.getLogger("wharfd")

DEFAULT_TLS_PORT = 2376
DEFAULT_PLAIN_PORT = 2375
SOMAXCONN_PATH = "/proc/sys/net/core/somaxconn"


def accept_queue_length() -> int:
    """The kernel's limit for a listening socket's queue, as Go's listeners take it: a burst of
    clients while the event loop is busy waits in the queue instead of being refused (a refused
    non-blocking connect on a unix socket is EAGAIN, which asyncio clients see as ENOTCONN)."""
    try:
        with open(SOMAXCONN_PATH) as limit:
            return max(128, min(int(limit.read()), 65535))
    except (OSError, ValueError):
        return 4096


@dataclass
class TLSSettings:
    verify: bool = False
    """`--tlsverify`: require client certificates signed by `ca`."""
    enabled: bool = False
    """`--tls`: serve TLS (without checking clients unless `verify`)."""
    ca: str = ""
    cert: str = ""
    key: str = ""
    allow_insecure_tcp: bool = False
    """Serve TCP without client verification anyway (a loud warning is logged)."""

    def server_context(self) -> ssl.SSLContext | None:
        if not (self.enabled or self.verify):
            return None
        if not self.cert or not self.key:
            raise errdefs.InvalidArgument("TLS needs --tlscert and --tlskey")
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        try:
            context.load_cert_chain(self.cert, self.key)
            if self.verify:
                if not self.ca:
                    raise errdefs.InvalidArgument("--tlsverify needs --tlscacert")
                context.load_verify_locations(self.ca)
                context.verify_mode = ssl.CERT_REQUIRED
        except (OSError, ssl.SSLError) as err:
            raise errdefs.InvalidArgument(f"cannot load TLS material: {err}") from err
        return context


def _socket_group(name: str) -> int | None:
    try:
        return grp.getgrnam(name).gr_gid
    except KeyError:
        return None


async def listen(runner: web.AppRunner, hosts: list[str], tls: TLSSettings, group: str = "wharf") -> None:
    """Start a site per host (`unix:///path`, `tcp://addr:port`)."""
    for host in hosts:
        parsed = urlsplit(host)
        if parsed.scheme == "unix":
            await _listen_unix(runner, parsed.path, group)
        elif parsed.scheme == "tcp":
            await _listen_tcp(runner, parsed.hostname or "127.0.0.1", parsed.port, tls)
        else:
            raise errdefs.InvalidArgument(f"invalid host {host!r}: use unix:///path or tcp://addr:port")


async def _listen_unix(runner: web.AppRunner, path: str, group: str) -> None:
    if not path:
        raise errdefs.InvalidArgument("unix:// host without a path")
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)  # a stale socket of a previous run
    site = web.UnixSite(runner, path, backlog=accept_queue_length())
    await site.start()
    os.chmod(path, 0o660)
    gid = _socket_group(group) if group else None
    if gid is not None:
        os.chown(path, 0, gid)
    log.info("API listening on %s", path)


async def _listen_tcp(runner: web.AppRunner, address: str, port: int | None, tls: TLSSettings) -> None:
    context = tls.server_context()
    if not tls.verify:
        if not tls.allow_insecure_tcp:
            raise errdefs.InvalidArgument(
                f"refusing to listen on tcp://{address} without --tlsverify: anyone who reaches it is root "
                "on this host (use --tlsverify with --tlscacert/--tlscert/--tlskey, or force it with "
                "--allow-insecure-tcp)"
            )
        log.warning("!!! LISTENING ON tcp://%s:%s WITHOUT CLIENT VERIFICATION: anyone who can reach this "
                    "port controls this host as root !!!", address, port)
    if port is None:
        port = DEFAULT_TLS_PORT if context else DEFAULT_PLAIN_PORT
    site = web.TCPSite(runner, address, port, ssl_context=context, backlog=accept_queue_length())
    await site.start()
    log.info("API listening on tcp://%s:%d%s", address, port, " (mutual TLS)" if tls.verify else "")
