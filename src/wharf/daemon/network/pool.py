"""Choosing subnets that collide neither with the host's routes nor with other networks."""

from __future__ import annotations

import ipaddress
import subprocess
from collections.abc import Iterable

from wharf import errdefs

Net = ipaddress.IPv4Network | ipaddress.IPv6Network

# Not Docker's 172.17-31 pools: Wharf runs beside a Docker engine, which takes those.
DEFAULT_BRIDGE_POOLS = ("172.29.0.0/16", "10.209.0.0/16", "10.208.0.0/16")
USER_NETWORK_POOL = ("10.210.0.0/15", 24)


def host_routes() -> list[Net]:
    """Destinations the host already routes (from `ip route`), default route excluded."""
    out = subprocess.run(["ip", "-4", "route", "show"], capture_output=True, text=True).stdout
    routes: list[Net] = []
    for line in out.splitlines():
        destination = line.split()[0] if line.split() else ""
        if destination in ("default", "") or destination.startswith(("unreachable", "blackhole")):
            continue
        try:
            routes.append(ipaddress.ip_network(destination, strict=False))
        except ValueError:
            continue
    return routes


def overlaps(candidate: Net, taken: Iterable[Net]) -> bool:
    return any(candidate.version == other.version and candidate.overlaps(other) for other in taken)  # type: ignore[arg-type]


def check_free(subnet: Net, networks_taken: Iterable[Net]) -> None:
    if overlaps(subnet, networks_taken):
        raise errdefs.Forbidden("invalid pool request: Pool overlaps with other one on this address space")


def allocate(candidates: Iterable[Net], networks_taken: Iterable[Net]) -> Net:
    taken = list(networks_taken) + host_routes()
    for candidate in candidates:
        if not overlaps(candidate, taken):
            return candidate
    raise errdefs.Unavailable("could not find an available, non-overlapping IPv4 address pool among the defaults "
                              "to assign to the network")


def default_bridge_candidates() -> list[Net]:
    return [ipaddress.ip_network(pool) for pool in DEFAULT_BRIDGE_POOLS]


def user_network_candidates() -> Iterable[Net]:
    pool, prefix = USER_NETWORK_POOL
    return ipaddress.ip_network(pool).subnets(new_prefix=prefix)
