"""A container's networking: which networks it asks for, its namespace, endpoints, published
ports, hosts/resolv.conf and the embedded DNS, over the NetworkController.

Docker's order: the namespace is made and connected before the task is created (the runtime
joins it by path); on exit (or a failed start) every endpoint is disconnected and the namespace
released, so nothing (veth, address, port rule) outlives a stopped container.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import re
from collections.abc import Callable
from typing import Any

from wharf import errdefs
from wharf.daemon.backend import links
from wharf.daemon.backend.container_files import (
    read_host_resolv_conf,
    write_host_network_hosts,
    write_network_files,
)
from wharf.daemon.backend.events import EventBus
from wharf.daemon.backend.record import ContainerRecord
from wharf.daemon.network import ipam_extra
from wharf.daemon.network.controller import NetworkController
from wharf.daemon.network.dns import EmbeddedDNS
from wharf.daemon.network.model import Endpoint, NetworkRecord, PortMapping

log = logging.getLogger("wharfd.networking")

CONTAINER_MODE = "container:"


def network_mode(host_config: dict[str, Any]) -> str:
    mode = host_config.get("NetworkMode") or "bridge"
    return "bridge" if mode == "default" else str(mode)


def host_nameservers(text: str) -> list[tuple[str, int]]:
    """The host's resolvers, where the embedded DNS forwards other names."""
    servers = []
    for line in text.splitlines():
        words = line.split()
        if len(words) >= 2 and words[0] == "nameserver":
            with contextlib.suppress(ValueError):
                ipaddress.ip_address(words[1])
                servers.append((words[1], 53))
    return servers


def _port_key(key: str) -> tuple[int, str]:
    number, _, protocol = key.partition("/")
    try:
        port = int(number)
    except ValueError:
        raise errdefs.InvalidArgument(f"invalid port specification: \"{key}\"") from None
    if not 0 < port < 65536:
        raise errdefs.InvalidArgument(f"invalid port specification: \"{key}\"")
    protocol = protocol or "tcp"
    if protocol not in ("tcp", "udp", "sctp"):
        raise errdefs.InvalidArgument(f"invalid proto: {protocol}")
    return port, protocol


def port_mappings(config: dict[str, Any], host_config: dict[str, Any]) -> list[PortMapping]:
    """PortBindings (and, with PublishAllPorts, every exposed port) as mappings; host port 0
    means "pick a free one"."""
    bindings: dict[str, Any] = dict(host_config.get("PortBindings") or {})
    if host_config.get("PublishAllPorts"):
        for key in config.get("ExposedPorts") or {}:
            bindings.setdefault(key, [{"HostIp": "", "HostPort": ""}])
    mappings = []
    for key, entries in bindings.items():
        container_port, protocol = _port_key(key)
        for entry in entries or [{"HostIp": "", "HostPort": ""}]:
            host_ip = (entry or {}).get("HostIp") or ""
            raw = str((entry or {}).get("HostPort") or "")
            first = raw.split("-")[0]
            try:
                host_port = int(first) if first else 0
            except ValueError:
                raise errdefs.InvalidArgument(f"invalid port specification: \"{raw}\"") from None
            if not 0 <= host_port < 65536:
                raise errdefs.InvalidArgument(f"invalid port specification: \"{raw}\"")
            if host_ip:
                try:
                    ipaddress.ip_address(host_ip)
                except ValueError:
                    raise errdefs.InvalidArgument(f"invalid IP address: {host_ip}") from None
            mappings.append(PortMapping(container_port, protocol, host_ip, host_port))
    return mappings


def _empty_endpoint_settings(network: NetworkRecord | None, wanted: dict[str, Any]) -> dict[str, Any]:
    return {
        **endpoint_echo(wanted), "Aliases": wanted.get("Aliases") or None,
        "MacAddress": wanted.get("MacAddress") or "", "GwPriority": 0,
        "NetworkID": network.id if network else "", "EndpointID": "", "Gateway": "", "IPAddress": "",
        "IPPrefixLen": 0, "IPv6Gateway": "", "GlobalIPv6Address": "", "GlobalIPv6PrefixLen": 0, "DNSNames": None,
    }  # fmt: skip


def endpoint_echo(wanted: dict[str, Any]) -> dict[str, Any]:
    """What Docker keeps of the EndpointSettings given at create/connect and shows as given."""
    return {"IPAMConfig": wanted.get("IPAMConfig") or None, "Links": wanted.get("Links") or None,
            "DriverOpts": wanted.get("DriverOpts") or None}


_MAC = re.compile(r"^([0-9a-fA-F]{2}[:-]){5}[0-9a-fA-F]{2}$")


def checked_mac(mac: str) -> str:
    """A MAC address as the bridge plugin takes it (colons), refused with Docker's words if invalid."""
    if not _MAC.match(mac):
        raise errdefs.InvalidArgument(f"invalid MAC address: {mac}")
    return mac.replace("-", ":").lower()


class ContainerNetworking:
    def __init__(self, controller: NetworkController, dns: EmbeddedDNS, events: EventBus) -> None:
        self.controller = controller
        self.dns = dns
        self.events = events
        self.find_container: Callable[[str], ContainerRecord] | None = None
        """Set by the daemon: looks containers up for `container:<id>` mode."""

    # ---- create -------------------------------------------------------------------------------

    def plan(self, host_config: dict[str, Any], networking_config: Any) -> dict[str, dict[str, Any]]:
        """Validate the networks a new container asks for; network name → EndpointSettings."""
        endpoints = {}
        if isinstance(networking_config, dict):
            endpoints = networking_config.get("EndpointsConfig") or {}
        if not isinstance(endpoints, dict):
            raise errdefs.InvalidArgument("invalid JSON: NetworkingConfig.EndpointsConfig must be an object")
        mode = network_mode(host_config)
        if mode.startswith(CONTAINER_MODE):
            if host_config.get("PortBindings") or host_config.get("PublishAllPorts"):
                raise errdefs.InvalidArgument("conflicting options: port publishing and the container type network mode")
            return {}
        try:
            primary = self.controller.find(mode)
        except errdefs.NotFound:
            # As Docker: a missing network is an error when the container starts, not now.
            return {mode: dict(next((endpoints[k] for k in (mode, "default") if endpoints.get(k)), {}))}
        if primary.name in ("host", "none"):
            host_config["NetworkMode"] = primary.name
            if primary.name == "host" and host_config.get("PortBindings"):
                log.info("published ports are discarded when using host network mode")
            return {}
        plan: dict[str, dict[str, Any]] = {}
        # The CLI names the primary network as given to --network, or "default".
        primary_keys = (mode, primary.name, "default")
        first = next((endpoints[k] for k in primary_keys if endpoints.get(k)), {})
        for ref, wanted in [(mode, first), *[(k, v) for k, v in endpoints.items() if k not in primary_keys]]:
            try:
                network = self.controller.find(ref)
            except errdefs.NotFound:
                plan[ref] = dict(wanted or {})
                continue
            if network.name in ("host", "none"):
                raise errdefs.InvalidArgument(f"container cannot be connected to {network.name} network "
                                              "together with other networks")
            wanted = dict(wanted or {})
            self._validate_endpoint(network, wanted)
            plan[network.name] = wanted
        return plan

    def _validate_endpoint(self, network: NetworkRecord, wanted: dict[str, Any]) -> None:
        user_defined = not network.predefined
        if wanted.get("Aliases") and not user_defined:
            raise errdefs.InvalidArgument("network-scoped alias is supported only for containers in user defined networks")
        ipam_config = wanted.get("IPAMConfig") or {}
        if ipam_config.get("IPv6Address"):
            if not user_defined:
                raise errdefs.InvalidArgument("user specified IP address is supported on user defined networks only")
            ipam_extra.check_ip6(network, str(ipam_config["IPv6Address"]))
        if wanted.get("MacAddress"):
            checked_mac(str(wanted["MacAddress"]))
        ipam_extra.checked_link_local([str(a) for a in ipam_config.get("LinkLocalIPs") or []])
        address = ipam_config.get("IPv4Address") or ""
        if address:
            if not user_defined:
                raise errdefs.InvalidArgument("user specified IP address is supported on user defined networks only")
            try:
                ip = ipaddress.ip_address(address)
            except ValueError:
                raise errdefs.InvalidArgument(f"invalid IPv4 address: {address}") from None
            if ip not in ipaddress.ip_network(network.subnet, strict=False):
                raise errdefs.InvalidArgument(f"no configured subnet or ip-range contain the IP address {address}")

    def spec_namespace(self, container_id: str, host_config: dict[str, Any],
                       find_container: Any) -> str | None:
        """The network namespace path for the OCI spec; None for the host's namespace."""
        mode = network_mode(host_config)
        if mode == "host":
            return None
        if mode.startswith(CONTAINER_MODE):
            other: ContainerRecord = find_container(mode[len(CONTAINER_MODE):])
            if other.id == container_id:
                raise errdefs.InvalidArgument("cannot join own network namespace")
            return self.spec_namespace(other.id, other.host_config, find_container)
        return str(self.controller.netns_path(container_id))

    def spec_user_namespace(self, container_id: str, host_config: dict[str, Any],
                            find_container: Any) -> str | None:
        """With userns-remap: the pinned user namespace owning the container's network namespace
        (it must join it); None when there is none to join."""
        if self.controller.userns_remap is None or host_config.get("UsernsMode") == "host":
            return None
        mode = network_mode(host_config)
        if mode == "host":
            return None
        if mode.startswith(CONTAINER_MODE):
            other: ContainerRecord = find_container(mode[len(CONTAINER_MODE):])
            return self.spec_user_namespace(other.id, other.host_config, find_container)
        return str(self.controller.userns_path(container_id))

    # ---- start and exit -----------------------------------------------------------------------

    async def setup(self, record: ContainerRecord) -> None:
        """Before the task is created: namespace, endpoints, ports, files, DNS. On failure,
        everything done is undone and the error raised."""
        await self.make_sandbox(record)
        await self.connect_sandbox(record)

    async def make_sandbox(self, record: ContainerRecord) -> None:
        """What must exist before the runtime creates the container: the namespace it joins by path
        (or, on the host's or another container's network, the files it binds). On failure,
        everything done is undone and the error raised."""
        mode = network_mode(record.host_config)
        if mode == "host":
            write_host_network_hosts(record.hosts_path, record.host_config)
            record.network_settings = self._settings(record, [], {"host": self.controller.find("host")})
            return
        if mode.startswith(CONTAINER_MODE):
            self._join_container(record, mode[len(CONTAINER_MODE):])
            return
        try:
            await self.controller.create_sandbox(
                record.id, own_user_namespace=record.host_config.get("UsernsMode") != "host")
        except BaseException:
            with contextlib.suppress(Exception):
                await self.teardown(record)
            raise

    async def connect_sandbox(self, record: ContainerRecord) -> None:
        """After `make_sandbox`, before the task starts (it may run while the task is created: the
        runtime only joins the namespace, and hosts/resolv.conf are rewritten in place, so the
        container's first process sees the final files): endpoints, ports, files, DNS. On
        failure, everything done (the namespace too) is undone and the error raised."""
        mode = network_mode(record.host_config)
        if mode == "host" or mode.startswith(CONTAINER_MODE):
            return
        try:
            namespace = self.controller.netns_path(record.id)
            connected: list[Endpoint] = []
            if mode != "none":
                mappings = port_mappings(record.config, record.host_config)
                for index, (name, wanted) in enumerate(record.networking_config.items()):
                    if index == 0 and record.config.get("MacAddress") and not wanted.get("MacAddress"):
                        # Config.MacAddress (API < 1.44) is the primary network's endpoint's.
                        wanted = dict(wanted, MacAddress=record.config["MacAddress"])
                    endpoint = await self._connect(record, name, wanted, mappings if index == 0 else [])
                    connected.append(endpoint)
            await self.controller.sandbox_ready(record.id)  # `lo` is up (connect waits for it too)
            self._write_files(record, connected)
            if any(not self.controller.find(e.network_id).predefined for e in connected):
                await self.dns.serve(record.id, str(namespace), self._own_resolvers(record))
            networks = {"none": self.controller.find("none")} if mode == "none" else {}
            record.network_settings = self._settings(record, connected, networks)
        except BaseException:
            with contextlib.suppress(Exception):
                await self.teardown(record)
            raise

    def _join_container(self, record: ContainerRecord, ref: str) -> None:
        """`--network container:<ref>`: that container must run; its hosts and resolv.conf are
        this one's too (Docker shares the files)."""
        if self.find_container is None:
            return
        other = self.find_container(ref)
        if not other.state.running:
            raise errdefs.Conflict(f"cannot join network namespace of a non running container: {other.id}")
        for mine, theirs in ((record.hosts_path, other.hosts_path), (record.resolv_conf_path, other.resolv_conf_path)):
            with contextlib.suppress(OSError), open(theirs) as source, open(mine, "w") as out:
                out.write(source.read())

    async def _connect(self, record: ContainerRecord, network_ref: str, wanted: dict[str, Any],
                       mappings: list[PortMapping]) -> Endpoint:
        try:
            network = self.controller.find(network_ref)
        except errdefs.NotFound as err:
            raise errdefs.NotFound(f"failed to set up container networking: {err}") from None
        aliases = list(wanted.get("Aliases") or [])  # the short id resolves too, without being an alias
        ipam_config = wanted.get("IPAMConfig") or {}
        mac = checked_mac(str(wanted["MacAddress"])) if wanted.get("MacAddress") else ""
        try:
            endpoint = await self.controller.connect(
                record.id, record.name, network.id, aliases=aliases, ip=ipam_config.get("IPv4Address") or "",
                ports=mappings, ip6=ipam_config.get("IPv6Address") or "", mac=mac,
                links=[str(link) for link in wanted.get("Links") or []] if not network.predefined else [],
                link_local_ips=[str(a) for a in ipam_config.get("LinkLocalIPs") or []])
        except errdefs.Conflict as err:
            raise errdefs.Conflict(
                f"driver failed programming external connectivity on endpoint {record.name.lstrip('/')} "
                f"({record.id}): {err}") from None
        self.events.publish("network", "connect", network.id,
                            {"container": record.id, "name": network.name, "type": network.driver})
        return endpoint

    @staticmethod
    def _own_resolvers(record: ContainerRecord) -> list[tuple[str, int]]:
        """`--dns` servers, where the embedded DNS forwards this container's other names."""
        return host_nameservers("\n".join(f"nameserver {s}" for s in record.host_config.get("Dns") or []))

    def _write_files(self, record: ContainerRecord, endpoints: list[Endpoint]) -> None:
        hostname = record.config.get("Hostname") or record.id[:12]
        domain = record.config.get("Domainname") or ""
        names = f"{hostname}.{domain} {hostname}" if domain else hostname
        own = [(e.address, names) for e in endpoints if e.address]
        own += [(e.address6, names) for e in endpoints if e.address6]
        if self.find_container is not None:  # legacy links' lines come before the container's own
            own = links.host_entries(record, self.find_container) + own
        user_network = any(not self.controller.find(e.network_id).predefined for e in endpoints)
        write_network_files(record.hosts_path, record.resolv_conf_path, record.host_config, own, user_network)

    async def teardown(self, record: ContainerRecord) -> None:
        """The container stopped: stop its DNS, disconnect everything, release the namespace."""
        self.dns.stop(record.id)
        mode = network_mode(record.host_config)
        if mode == "host" or mode.startswith(CONTAINER_MODE):
            return
        endpoints = self.controller.endpoints_of(record.id)
        try:
            await self.controller.release_sandbox(record.id)
        finally:
            for endpoint in endpoints:
                self.events.publish("network", "disconnect", endpoint.network_id,
                                    {"container": record.id, "name": endpoint.network_name, "type": "bridge"})
            extra = {"none": self.controller.find("none")} if mode == "none" else {}
            record.network_settings = self._settings(record, [], extra)
            if mode == "none":
                record.network_settings.update(SandboxID="", SandboxKey="")

    async def release_orphans(self, running: set[str]) -> None:
        """At start-up: namespaces and endpoints of containers that are no longer running."""
        ids = set(self.controller.endpoints)
        netns_dir = self.controller.run_dir / "netns"
        if netns_dir.is_dir():
            ids |= {p.name for p in netns_dir.iterdir()}
        userns_dir = self.controller.run_dir / "userns"
        if userns_dir.is_dir():
            ids |= {p.name for p in userns_dir.iterdir()}
        for container_id in ids - running:
            try:
                await self.controller.release_sandbox(container_id)
            except errdefs.WharfError as err:
                log.warning("releasing the network of %s: %s", container_id, err)

    async def resume_dns(self, record: ContainerRecord) -> None:
        """After a daemon restart: serve DNS again for a running container on a user network."""
        endpoints = self.controller.endpoints_of(record.id)
        if any(e.network_id in self.controller.networks and not self.controller.networks[e.network_id].predefined
               for e in endpoints):
            path = self.controller.netns_path(record.id)
            if path.exists():
                try:
                    await self.dns.serve(record.id, str(path), self._own_resolvers(record))
                except OSError as err:
                    log.warning("embedded DNS for %s: %s", record.id, err)

    # ---- live connect / disconnect ------------------------------------------------------------

    async def connect_live(self, record: ContainerRecord, network: NetworkRecord, wanted: dict[str, Any]) -> None:
        endpoint = await self._connect(record, network.id, wanted, [])
        current = self.controller.endpoints_of(record.id)
        self._write_files(record, current)
        if not network.predefined:
            await self.dns.serve(record.id, str(self.controller.netns_path(record.id)), self._own_resolvers(record))
        record.network_settings = self._settings(record, current, {})
        del endpoint

    async def disconnect_live(self, record: ContainerRecord, network: NetworkRecord) -> None:
        await self.controller.disconnect(record.id, network.id)
        self.events.publish("network", "disconnect", network.id,
                            {"container": record.id, "name": network.name, "type": network.driver})
        current = self.controller.endpoints_of(record.id)
        self._write_files(record, current)
        record.network_settings = self._settings(record, current, {})

    # ---- inspect ------------------------------------------------------------------------------

    def _settings(self, record: ContainerRecord, endpoints: list[Endpoint],
                  extra: dict[str, NetworkRecord]) -> dict[str, Any]:
        """NetworkSettings as `docker inspect` shows them; networks without an endpoint (not
        running) are listed with empty addresses, as Docker does."""
        networks: dict[str, Any] = {}
        for name, wanted in record.networking_config.items():
            try:
                network: NetworkRecord | None = self.controller.find(name)
            except errdefs.NotFound:
                network = None
            networks[name] = _empty_endpoint_settings(network, wanted)
        for name, network in extra.items():
            networks[name] = _empty_endpoint_settings(network, {})
        for endpoint in endpoints:
            wanted = record.networking_config.get(endpoint.network_name) or {}
            entry = endpoint.settings()
            entry.update(endpoint_echo(wanted))
            network = self.controller.networks.get(endpoint.network_id)
            if network is not None and not network.predefined:
                entry["DNSNames"] = [record.name.lstrip("/"), *endpoint.aliases, record.id[:12]]
            networks[endpoint.network_name] = entry
        ports: dict[str, Any] = {key: None for key in record.config.get("ExposedPorts") or {}}
        for endpoint in endpoints:
            for mapping in endpoint.ports:
                key = f"{mapping.container_port}/{mapping.protocol}"
                ports.setdefault(key, None)
                ports[key] = (ports[key] or []) + [
                    {"HostIp": mapping.host_ip or "0.0.0.0", "HostPort": str(mapping.host_port)}]
        default = next((e for e in endpoints if e.network_name == "bridge"), None)
        namespace = self.controller.netns_path(record.id) if endpoints or extra.get("none") else None
        return {
            "Bridge": "", "SandboxID": record.id if namespace else "",
            "SandboxKey": str(namespace) if namespace else "", "Ports": ports if endpoints else {},
            "HairpinMode": False, "LinkLocalIPv6Address": "", "LinkLocalIPv6PrefixLen": 0,
            "SecondaryIPAddresses": None, "SecondaryIPv6Addresses": None,
            "EndpointID": default.endpoint_id if default else "", "Gateway": default.gateway if default else "",
            "GlobalIPv6Address": default.address6 if default else "",
            "GlobalIPv6PrefixLen": default.settings()["GlobalIPv6PrefixLen"] if default else 0,
            "IPAddress": default.address if default else "", "IPPrefixLen": default.prefix_length if default else 0,
            "IPv6Gateway": default.gateway6 if default else "", "MacAddress": default.mac_address if default else "",
            "Networks": networks,
        }  # fmt: skip

    def settings_when_stopped(self, record: ContainerRecord) -> dict[str, Any]:
        return self._settings(record, [], {})

    def validate_endpoint(self, network: NetworkRecord, wanted: dict[str, Any]) -> None:
        self._validate_endpoint(network, wanted)

    def settings_of(self, record: ContainerRecord) -> dict[str, Any]:
        if record.network_settings:
            return record.network_settings
        return self._settings(record, [], {})


def make_dns(controller: NetworkController) -> EmbeddedDNS:
    return EmbeddedDNS(controller.resolve, controller.reverse, upstreams=host_nameservers(read_host_resolv_conf()))
