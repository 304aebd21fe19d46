"""Docker bridge networks as CNI configuration lists (bridge + host-local IPAM + portmap).

Each network gets its own bridge device; addresses come from host-local with its state under
Wharf's own directory, so Wharf never shares IPAM state, bridges or chains with another engine.
"""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wharf import errdefs
from wharf.daemon.network.cni import CNI_VERSION


@dataclass
class BridgeNetwork:
    name: str
    bridge: str
    """The Linux bridge device (at most 15 characters)."""
    subnet: str
    gateway: str = ""
    ip_range: str = ""
    internal: bool = False
    mtu: int = 0
    options: dict[str, str] = field(default_factory=dict)
    subnet6: str = ""
    """A dual-stack network's IPv6 subnet: host-local gets a second range (one address of each)."""
    gateway6: str = ""
    ip_range6: str = ""

    def validate(self) -> None:
        if not 0 < len(self.bridge) <= 15 or "/" in self.bridge or " " in self.bridge:
            raise errdefs.InvalidArgument(f"invalid bridge name {self.bridge!r}")
        try:
            subnet = ipaddress.ip_network(self.subnet, strict=False)
        except ValueError as err:
            raise errdefs.InvalidArgument(f"invalid CIDR address: {self.subnet}") from err
        if self.gateway:
            try:
                gateway = ipaddress.ip_address(self.gateway)
            except ValueError as err:
                raise errdefs.InvalidArgument(f"invalid gateway address {self.gateway}") from err
            if gateway not in subnet:
                raise errdefs.InvalidArgument(f"no matching subnet for gateway {self.gateway}")
        if self.ip_range:
            try:
                ip_range = ipaddress.ip_network(self.ip_range, strict=False)
            except ValueError as err:
                raise errdefs.InvalidArgument(f"invalid CIDR address: {self.ip_range}") from err
            if not ip_range.subnet_of(subnet):  # type: ignore[arg-type]
                raise errdefs.InvalidArgument(f"no matching subnet for range {self.ip_range}")

    def conflist(self, ipam_dir: Path) -> dict[str, Any]:
        ranges = [[address_range(self.subnet, self.gateway, self.ip_range)]]
        if self.subnet6:
            ranges.append([address_range(self.subnet6, self.gateway6, self.ip_range6)])
        ipam: dict[str, Any] = {"type": "host-local", "ranges": ranges, "dataDir": str(ipam_dir)}
        if not self.internal:
            ipam["routes"] = [{"dst": "0.0.0.0/0" if ipaddress.ip_network(r[0]["subnet"]).version == 4 else "::/0"}
                              for r in ranges]
        bridge: dict[str, Any] = {
            "type": "bridge",
            # Docker's `--ip`/`--ip6` and `--mac-address`: host-local takes the addresses, the
            # bridge plugin sets the MAC on the container's interface before it is up.
            "capabilities": {"ips": True, "mac": True},
            "bridge": self.bridge,
            "isGateway": not self.internal,
            # Masquerading is one rule per network (masquerade.py), not a NAT chain per container.
            "ipMasq": False,
            "hairpinMode": True,
            "ipam": ipam,
        }
        if self.mtu:
            bridge["mtu"] = self.mtu
        plugins: list[dict[str, Any]] = [bridge]
        if not self.internal:
            plugins.append({"type": "portmap", "capabilities": {"portMappings": True}, "snat": True})
        return {"cniVersion": CNI_VERSION, "name": self.name, "plugins": plugins}


def address_range(subnet_text: str, gateway: str, ip_range: str) -> dict[str, Any]:
    """One host-local range: the subnet, its gateway, and `--ip-range` as start/end."""
    subnet = ipaddress.ip_network(subnet_text, strict=False)
    entry: dict[str, Any] = {"subnet": str(subnet), "gateway": gateway or str(next(subnet.hosts()))}
    if ip_range:
        hosts = ipaddress.ip_network(ip_range, strict=False)
        last = hosts.broadcast_address - 1 if hosts.version == 4 else hosts.broadcast_address
        entry.update(rangeStart=str(hosts.network_address + 1), rangeEnd=str(last))
    return entry


async def delete_bridge_device(bridge: str) -> None:
    """Remove the bridge device a network's plugins made (CNI's DEL leaves it in place)."""
    process = await asyncio.create_subprocess_exec(
        "ip", "link", "delete", bridge, "type", "bridge",
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await process.communicate()
    if process.returncode != 0 and b"Cannot find device" not in stderr:
        raise errdefs.System(f"cannot delete bridge {bridge}: {stderr.decode().strip()}")


def ensure_bridge_device(bridge: str, subnet: str, gateway: str, with_address: bool = True,
                         subnet6: str = "", gateway6: str = "") -> None:
    """Make the bridge device with its gateway address now, as Docker does at network create
    (the CNI plugin would make it only at the first attach): its route then shows the subnet
    as taken to anyone choosing one, such as another engine on this host."""
    if subprocess.run(["ip", "link", "show", bridge], capture_output=True).returncode != 0:
        made = subprocess.run(["ip", "link", "add", "name", bridge, "type", "bridge"], capture_output=True, text=True)
        if made.returncode != 0 and "File exists" not in made.stderr:
            raise errdefs.System(f"cannot create bridge {bridge}: {made.stderr.strip()}")
    network = ipaddress.ip_network(subnet, strict=False)
    commands = [["ip", "link", "set", bridge, "up"]]
    if with_address:
        commands.insert(0, ["ip", "addr", "replace", f"{gateway}/{network.prefixlen}", "dev", bridge])
    if subnet6:
        # The bridge plugin copies the bridge's MAC onto it when it adds an IPv6 gateway, which
        # fails while a bridge without ports still has the all-zero one: give it its own.
        commands.insert(0, ["ip", "link", "set", bridge, "address", _local_mac(bridge)])
        if with_address:
            prefix = ipaddress.ip_network(subnet6, strict=False).prefixlen
            commands.insert(0, ["ip", "addr", "replace", f"{gateway6}/{prefix}", "dev", bridge, "nodad"])
    for command in commands:
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            raise errdefs.System(f"cannot set up bridge {bridge}: {done.stderr.strip()}")


def _local_mac(bridge: str) -> str:
    """A stable locally administered unicast MAC for a bridge device (from its name)."""
    digest = hashlib.sha256(bridge.encode()).digest()
    return ":".join(f"{b:02x}" for b in (0x02, *digest[:5]))
