"""Docker bridge networks as CNI configuration lists (bridge + host-local IPAM + portmap).

Each network gets its own bridge device; addresses come from host-local with its state under
Wharf's own directory, so Wharf never shares IPAM state, bridges or chains with another engine.
"""

from __future__ import annotations

import asyncio
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
        subnet = ipaddress.ip_network(self.subnet, strict=False)
        gateway = self.gateway or str(next(subnet.hosts()))
        address_range: dict[str, Any] = {"subnet": str(subnet), "gateway": gateway}
        if self.ip_range:
            hosts = ipaddress.ip_network(self.ip_range, strict=False)
            first, last = hosts.network_address + 1, hosts.broadcast_address - 1
            address_range.update(rangeStart=str(first), rangeEnd=str(last))
        ipam: dict[str, Any] = {"type": "host-local", "ranges": [[address_range]], "dataDir": str(ipam_dir)}
        if not self.internal:
            ipam["routes"] = [{"dst": "0.0.0.0/0" if subnet.version == 4 else "::/0"}]
        bridge: dict[str, Any] = {
            "type": "bridge",
            "bridge": self.bridge,
            "isGateway": not self.internal,
            "ipMasq": not self.internal,
            "hairpinMode": True,
            "ipam": ipam,
        }
        if self.mtu:
            bridge["mtu"] = self.mtu
        plugins: list[dict[str, Any]] = [bridge]
        if not self.internal:
            plugins.append({"type": "portmap", "capabilities": {"portMappings": True}, "snat": True})
        return {"cniVersion": CNI_VERSION, "name": self.name, "plugins": plugins}


async def delete_bridge_device(bridge: str) -> None:
    """Remove the bridge device a network's plugins made (CNI's DEL leaves it in place)."""
    process = await asyncio.create_subprocess_exec(
        "ip", "link", "delete", bridge, "type", "bridge",
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await process.communicate()
    if process.returncode != 0 and b"Cannot find device" not in stderr:
        raise errdefs.System(f"cannot delete bridge {bridge}: {stderr.decode().strip()}")


def ensure_bridge_device(bridge: str, subnet: str, gateway: str, with_address: bool = True) -> None:
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
    for command in commands:
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            raise errdefs.System(f"cannot set up bridge {bridge}: {done.stderr.strip()}")
