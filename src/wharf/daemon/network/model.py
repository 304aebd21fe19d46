"""Docker's network objects (networks and endpoints) as Wharf stores them and the API shows them."""

from __future__ import annotations

import ipaddress
from dataclasses import asdict, dataclass, field
from typing import Any

PREDEFINED = ("bridge", "host", "none")
DRIVERS = ("bridge", "host", "null")


@dataclass
class NetworkRecord:
    id: str
    name: str
    driver: str
    created: str
    """RFC3339Nano, as Docker shows it."""
    subnet: str = ""
    gateway: str = ""
    ip_range: str = ""
    internal: bool = False
    attachable: bool = False
    bridge: str = ""
    """The Linux bridge device of a bridge network."""
    labels: dict[str, str] = field(default_factory=dict)
    options: dict[str, str] = field(default_factory=dict)
    ipam_options: dict[str, str] = field(default_factory=dict)
    aux_addresses: dict[str, str] = field(default_factory=dict)
    """IPAM AuxiliaryAddresses of the IPv4 subnet: reserved, never handed to a container."""
    enable_ipv6: bool = False
    subnet6: str = ""
    """The IPv6 subnet of a dual-stack network (EnableIPv6)."""
    gateway6: str = ""
    ip_range6: str = ""
    aux_addresses6: dict[str, str] = field(default_factory=dict)

    @property
    def predefined(self) -> bool:
        return self.name in PREDEFINED

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> NetworkRecord:
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})

    def inspect(self, endpoints: list[Endpoint]) -> dict[str, Any]:
        config = []
        if self.subnet:
            entry = {"Subnet": self.subnet, "Gateway": self.gateway}
            if self.ip_range:
                entry["IPRange"] = self.ip_range
            if self.aux_addresses:
                entry["AuxiliaryAddresses"] = dict(self.aux_addresses)
            config.append(entry)
        if self.subnet6:
            entry = {"Subnet": self.subnet6, "Gateway": self.gateway6}
            if self.ip_range6:
                entry["IPRange"] = self.ip_range6
            if self.aux_addresses6:
                entry["AuxiliaryAddresses"] = dict(self.aux_addresses6)
            config.append(entry)
        return {
            "Name": self.name,
            "Id": self.id,
            "Created": self.created,
            "Scope": "local",
            "Driver": self.driver,
            "EnableIPv4": True,
            "EnableIPv6": self.enable_ipv6,
            "IPAM": {"Driver": "default", "Options": self.ipam_options or None, "Config": config},
            "Internal": self.internal,
            "Attachable": self.attachable,
            "Ingress": False,
            "ConfigFrom": {"Network": ""},
            "ConfigOnly": False,
            "Containers": {
                e.container_id: {
                    "Name": e.container_name,
                    "EndpointID": e.endpoint_id,
                    "MacAddress": e.mac_address,
                    "IPv4Address": e.ip_address,
                    "IPv6Address": e.ip6_address,
                }
                for e in endpoints
            },
            "Options": dict(self.options),
            "Labels": dict(self.labels),
        }


@dataclass
class PortMapping:
    container_port: int
    protocol: str
    host_ip: str
    host_port: int

    def cni(self) -> dict[str, Any]:
        return {"containerPort": self.container_port, "protocol": self.protocol, "hostIP": self.host_ip,
                "hostPort": self.host_port}


@dataclass
class Endpoint:
    network_id: str
    network_name: str
    container_id: str
    container_name: str
    endpoint_id: str
    interface: str = "eth0"
    """The interface inside the container's namespace."""
    ip_address: str = ""
    """With the prefix length, e.g. `172.29.0.2/16`."""
    gateway: str = ""
    mac_address: str = ""
    aliases: list[str] = field(default_factory=list)
    ip6_address: str = ""
    """With the prefix length, e.g. `fd00:1::2/64`; empty on an IPv4-only network."""
    gateway6: str = ""
    links: list[str] = field(default_factory=list)
    """EndpointSettings.Links (`target:alias`) on a user-defined network: DNS aliases for this container."""
    ports: list[PortMapping] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Endpoint:
        data = dict(data)
        data["ports"] = [PortMapping(**p) for p in data.get("ports") or []]
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})

    @property
    def address(self) -> str:
        return self.ip_address.split("/")[0]

    @property
    def address6(self) -> str:
        return self.ip6_address.split("/")[0]

    @property
    def prefix_length(self) -> int:
        return ipaddress.ip_interface(self.ip_address).network.prefixlen if self.ip_address else 0

    def settings(self) -> dict[str, Any]:
        """The entry of NetworkSettings.Networks for this endpoint."""
        return {
            "IPAMConfig": None,
            "Links": None,
            "Aliases": self.aliases or None,
            "MacAddress": self.mac_address,
            "DriverOpts": None,
            "GwPriority": 0,
            "NetworkID": self.network_id,
            "EndpointID": self.endpoint_id,
            "Gateway": self.gateway,
            "IPAddress": self.address,
            "IPPrefixLen": self.prefix_length,
            "IPv6Gateway": self.gateway6,
            "GlobalIPv6Address": self.address6,
            "GlobalIPv6PrefixLen": ipaddress.ip_interface(self.ip6_address).network.prefixlen if self.ip6_address else 0,
            "DNSNames": None,
        }
