"""IPAM settings beyond one IPv4 subnet: AuxiliaryAddresses (reserved addresses) and the IPv6
subnet of a dual-stack network (`EnableIPv6`), checked with Docker's words.

Reserved addresses are kept from containers the way host-local keeps addresses in use: one file
per address in the network's IPAM directory, so host-local never hands them out.
"""

from __future__ import annotations

import asyncio
import ipaddress
import subprocess
from pathlib import Path
from typing import Any

from wharf import errdefs
from wharf.daemon.network import pool
from wharf.daemon.network.model import NetworkRecord

RESERVED_BY = "wharf-auxiliary-address"
"""The owner written into a reserved address's file (never a container id)."""

# Wharf's own ULA /48 for IPv6 networks created without a subnet (RFC 4193; one /64 each).
IPV6_POOL = ("fd7a:9c3e:5b10::/48", 64)


def _network(text: str) -> pool.Net:
    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise errdefs.InvalidArgument(f"invalid CIDR address: {text}") from None


def checked_aux_addresses(subnet: str, aux: dict[str, str] | None) -> dict[str, str]:
    """AuxiliaryAddresses (host name → address), each inside `subnet`."""
    network = _network(subnet)
    checked = {}
    for host, address in (aux or {}).items():
        try:
            ip = ipaddress.ip_address(str(address))
        except ValueError:
            raise errdefs.InvalidArgument(f"invalid auxiliary address {host}={address}") from None
        if ip.version != network.version or ip not in network:
            raise errdefs.InvalidArgument(f"no matching subnet for aux-address {address}")
        checked[str(host)] = str(ip)
    return checked


def apply_ipv6(record: NetworkRecord, config: dict[str, Any], taken: list[pool.Net]) -> None:
    """Make `record` dual-stack with the IPv6 IPAM `config` (a free /64 of Wharf's ULA pool when
    it names no subnet)."""
    if config.get("Subnet"):
        subnet = _network(str(config["Subnet"]))
        if subnet.version != 6:
            raise errdefs.InvalidArgument(f"invalid IPv6 subnet: {config['Subnet']}")
        pool.check_free(subnet, taken)
    else:
        if config.get("Gateway") or config.get("IPRange"):
            raise errdefs.InvalidArgument("--gateway and --ip-range require --subnet")
        prefix, length = IPV6_POOL
        taken = [*taken, *host_routes6()]
        subnet = next((c for c in ipaddress.ip_network(prefix).subnets(new_prefix=length)
                       if not pool.overlaps(c, taken)), None)  # type: ignore[assignment]
        if subnet is None:
            raise errdefs.Unavailable("could not find an available, non-overlapping IPv6 address pool")
    gateway = str(config.get("Gateway") or "") or str(next(subnet.hosts()))
    try:
        if ipaddress.ip_address(gateway) not in subnet:
            raise errdefs.InvalidArgument(f"no matching subnet for gateway {gateway}")
    except ValueError:
        raise errdefs.InvalidArgument(f"invalid gateway address {gateway}") from None
    ip_range = str(config.get("IPRange") or "")
    if ip_range and not _network(ip_range).subnet_of(subnet):  # type: ignore[arg-type]
        raise errdefs.InvalidArgument(f"no matching subnet for range {ip_range}")
    record.enable_ipv6 = True
    record.subnet6, record.gateway6, record.ip_range6 = str(subnet), gateway, ip_range
    record.aux_addresses6 = checked_aux_addresses(str(subnet), config.get("AuxiliaryAddresses"))


def host_routes6() -> list[pool.Net]:
    """IPv6 destinations the host already routes (default and link-local left out)."""
    out = subprocess.run(["ip", "-6", "route", "show"], capture_output=True, text=True).stdout
    routes: list[pool.Net] = []
    for line in out.splitlines():
        words = line.split()
        if not words or words[0] in ("default", "unreachable", "blackhole") or words[0].startswith("fe80:"):
            continue
        try:
            routes.append(ipaddress.ip_network(words[0], strict=False))
        except ValueError:
            continue
    return routes


def check_ip6(record: NetworkRecord, ip6: str) -> None:
    """A container's `--ip6` on `record`: an IPv6 address of its IPv6 subnet."""
    if not ip6:
        return
    try:
        address = ipaddress.ip_address(ip6)
    except ValueError:
        raise errdefs.InvalidArgument(f"invalid IPv6 address: {ip6}") from None
    if address.version != 6:
        raise errdefs.InvalidArgument(f"invalid IPv6 address: {ip6}")
    if not record.subnet6 or address not in ipaddress.ip_network(record.subnet6):
        raise errdefs.InvalidArgument(f"no configured subnet or ip-range contain the IP address {ip6}")


def checked_link_local(addresses: list[str]) -> list[str]:
    """IPAMConfig.LinkLocalIPs with their prefixes: a link-local one its range's (/16, /64), any
    other address (moby only checks that it parses) itself alone."""
    out = []
    for text in addresses:
        try:
            address = ipaddress.ip_address(str(text))
        except ValueError:
            raise errdefs.InvalidArgument(f"invalid link-local IP address: {text}") from None
        if address.is_link_local:
            out.append(f"{address}/{16 if address.version == 4 else 64}")
        else:
            out.append(f"{address}/{address.max_prefixlen}")
    return out


async def add_addresses(netns_path: str, ifname: str, addresses: list[str]) -> None:
    """Add addresses to an interface in a pinned namespace (Docker's link-local IPs)."""
    for address in addresses:
        process = await asyncio.create_subprocess_exec(
            "nsenter", f"--net={netns_path}", "ip", "addr", "add", address, "dev", ifname, "nodad",
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
        _, stderr = await process.communicate()
        if process.returncode != 0:
            raise errdefs.System(f"cannot add {address} to {ifname}: {stderr.decode().strip()}")


def split_ipam_configs(configs: list[dict[str, Any]]) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The IPv4 and the IPv6 entry of IPAM.Config (at most one of each)."""
    ipv4: list[dict[str, Any]] = []
    ipv6: list[dict[str, Any]] = []
    for config in configs:
        if not isinstance(config, dict):
            raise errdefs.InvalidArgument("invalid JSON: IPAM.Config entries must be objects")
        subnet = str(config.get("Subnet") or "")
        (ipv6 if subnet and _network(subnet).version == 6 else ipv4).append(config)
    if len(ipv4) > 1 or len(ipv6) > 1:
        raise errdefs.InvalidArgument("only one IPv4 and one IPv6 subnet per network are supported")
    return (ipv4[0] if ipv4 else {}), (ipv6[0] if ipv6 else None)


def reserve(ipam_dir: Path, addresses: dict[str, str]) -> None:
    """Mark addresses as in use in host-local's store of the network."""
    if not addresses:
        return
    ipam_dir.mkdir(parents=True, exist_ok=True)
    for address in addresses.values():
        (ipam_dir / address).write_text(RESERVED_BY)
