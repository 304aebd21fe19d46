"""The network controller: Docker's networks and endpoints, carried out by CNI plugins.

A container that is not on the host network gets a network namespace pinned under the exec
root before it starts; the runtime joins it by path (the OCI spec's `network` namespace
`path`). Connecting the container to a network is a CNI ADD into that namespace; disconnecting
is a DEL. Networks and endpoints are stored as JSON under the data root, so they survive a
daemon restart, and running containers keep their addresses.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import os
import secrets
import shutil
import socket
import time
from pathlib import Path
from typing import Any

from wharf import errdefs
from wharf.daemon.network import ipam_extra, masquerade, netns, pool
from wharf.daemon.network.bridge import BridgeNetwork, delete_bridge_device, ensure_bridge_device
from wharf.daemon.network.cni import CNI, CNI_VERSION, Attachment
from wharf.daemon.network.model import DRIVERS, Endpoint, NetworkRecord, PortMapping
from wharf.daemon.userns_remap import IdRemap

LOOPBACK = {"cniVersion": CNI_VERSION, "name": "loopback", "plugins": [{"type": "loopback"}]}


def _rfc3339(ns: int) -> str:
    seconds, fraction = divmod(ns, 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{fraction:09d}".rstrip("0") + "Z"


def _masqueraded(record: NetworkRecord) -> list[str]:
    """The subnets of a network whose traffic out of the host is masqueraded (IPv4 and IPv6, as
    CNI's per-container `ipMasq` did before the per-network rules)."""
    return [subnet for subnet in (record.subnet, getattr(record, "subnet6", "")) if subnet]


def _write_json(path: Path, data: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_suffix(".tmp")
    temp.write_text(json.dumps(data))
    os.replace(temp, path)


class NetworkController:
    def __init__(self, state_dir: Path, run_dir: Path, default_bridge: str = "wharf0",
                 default_subnet: str = "", cni: CNI | None = None) -> None:
        self.state_dir = state_dir
        self.run_dir = run_dir
        self.default_bridge = default_bridge
        self.default_subnet = default_subnet
        self.cni = cni or CNI(run_dir / "cni-cache")
        self.networks: dict[str, NetworkRecord] = {}
        self.endpoints: dict[str, list[Endpoint]] = {}
        """Per container id."""
        self._loopbacks: dict[str, asyncio.Future[None]] = {}
        self.userns_remap: IdRemap | None = None
        """`--userns-remap`: sandboxes asked for one are owned by a user namespace with its mappings."""
        """Loopback ADDs still running beside a new sandbox's first connect (per container id)."""

    # -- state -----------------------------------------------------------------------------

    def _network_file(self, network_id: str) -> Path:
        return self.state_dir / "networks" / f"{network_id}.json"

    def _endpoints_file(self, container_id: str) -> Path:
        return self.state_dir / "endpoints" / f"{container_id}.json"

    def _save_endpoints(self, container_id: str) -> None:
        endpoints = self.endpoints.get(container_id) or []
        if endpoints:
            _write_json(self._endpoints_file(container_id), [e.to_json() for e in endpoints])
        else:
            self._endpoints_file(container_id).unlink(missing_ok=True)
            self.endpoints.pop(container_id, None)

    def load(self) -> None:
        """Read the stored networks and endpoints and make sure the predefined networks exist."""
        for path in sorted((self.state_dir / "networks").glob("*.json")):
            record = NetworkRecord.from_json(json.loads(path.read_text()))
            self.networks[record.id] = record
        for path in sorted((self.state_dir / "endpoints").glob("*.json")):
            self.endpoints[path.stem] = [Endpoint.from_json(e) for e in json.loads(path.read_text())]
        names = {n.name for n in self.networks.values()}
        if "bridge" not in names:
            subnet = ipaddress.ip_network(self.default_subnet, strict=False) if self.default_subnet else \
                pool.allocate(pool.default_bridge_candidates(), self._subnets())
            self._store(self._record("bridge", "bridge", str(subnet), "", "", bridge=self.default_bridge,
                                     options={"com.docker.network.bridge.default_bridge": "true",
                                              "com.docker.network.bridge.name": self.default_bridge}))
        if "host" not in names:
            self._store(self._record("host", "host"))
        if "none" not in names:
            self._store(self._record("none", "null"))
        for record in self.networks.values():
            if record.bridge and record.subnet:
                ensure_bridge_device(record.bridge, record.subnet, record.gateway, with_address=not record.internal,
                                     subnet6=record.subnet6, gateway6=record.gateway6)
                if not record.internal:
                    for subnet in _masqueraded(record):
                        masquerade.ensure(subnet, record.bridge)

    def _record(self, name: str, driver: str, subnet: str = "", gateway: str = "", ip_range: str = "",
                **extra: object) -> NetworkRecord:
        if subnet and not gateway:
            gateway = str(next(ipaddress.ip_network(subnet, strict=False).hosts()))
        return NetworkRecord(id=secrets.token_hex(32), name=name, driver=driver, created=_rfc3339(time.time_ns()),
                             subnet=subnet, gateway=gateway, ip_range=ip_range, **extra)  # type: ignore[arg-type]

    def _store(self, record: NetworkRecord) -> None:
        _write_json(self._network_file(record.id), record.to_json())
        self.networks[record.id] = record

    def _subnets(self) -> list[pool.Net]:
        return [ipaddress.ip_network(subnet, strict=False)
                for n in self.networks.values() for subnet in (n.subnet, n.subnet6) if subnet]

    # -- networks --------------------------------------------------------------------------

    def find(self, ref: str) -> NetworkRecord:
        """By full id, name, or unique id prefix (Docker's order)."""
        if ref in self.networks:
            return self.networks[ref]
        for record in self.networks.values():
            if record.name == ref:
                return record
        matches = [r for r in self.networks.values() if ref and r.id.startswith(ref)]
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            raise errdefs.InvalidArgument(f"network {ref} is ambiguous ({len(matches)} matches found based on ID prefix)")
        raise errdefs.NotFound(f"network {ref} not found")

    def list(self) -> list[NetworkRecord]:
        return sorted(self.networks.values(), key=lambda r: r.created)

    def endpoints_on(self, network_id: str) -> list[Endpoint]:
        return [e for eps in self.endpoints.values() for e in eps if e.network_id == network_id]

    def inspect(self, record: NetworkRecord) -> dict[str, object]:
        return record.inspect(self.endpoints_on(record.id))

    async def create(self, name: str, driver: str = "bridge", subnet: str = "", gateway: str = "",
                     ip_range: str = "", internal: bool = False, attachable: bool = False,
                     labels: dict[str, str] | None = None, options: dict[str, str] | None = None,
                     aux_addresses: dict[str, str] | None = None, ipv6: dict[str, Any] | None = None) -> NetworkRecord:
        """`ipv6`: a dual-stack network's IPv6 IPAM config (Subnet, Gateway, IPRange, AuxiliaryAddresses)."""
        # moby refuses only an empty name ("test 01" is a valid network name); names never
        # reach a path or a device here (those use the id).
        if not name:
            raise errdefs.InvalidArgument(f"invalid name: {name}")
        driver = driver or "bridge"
        if name in ("bridge", "host", "none") or driver in ("host", "null"):
            raise errdefs.Forbidden(f"{name} is a pre-defined network and cannot be created"
                                    if name in ("bridge", "host", "none")
                                    else f"only one instance of \"{driver}\" network is allowed")
        if driver not in DRIVERS:
            raise errdefs.NotFound(f"plugin \"{driver}\" not found")
        if any(n.name == name for n in self.networks.values()):
            raise errdefs.Conflict(f"network with name {name} already exists")
        options = dict(options or {})
        if subnet:
            try:
                chosen = ipaddress.ip_network(subnet, strict=False)
            except ValueError as err:
                raise errdefs.InvalidArgument(f"invalid CIDR address: {subnet}") from err
            pool.check_free(chosen, self._subnets())
        else:
            if gateway or ip_range:
                raise errdefs.InvalidArgument("--gateway and --ip-range require --subnet")
            chosen = pool.allocate(pool.user_network_candidates(), self._subnets())
        record = self._record(name, driver, str(chosen), gateway, ip_range, internal=internal,
                              attachable=attachable, labels=dict(labels or {}), options=options,
                              aux_addresses=ipam_extra.checked_aux_addresses(str(chosen), aux_addresses))
        if ipv6 is not None:
            ipam_extra.apply_ipv6(record, ipv6, self._subnets())
        record.bridge = options.get("com.docker.network.bridge.name") or f"wbr-{record.id[:11]}"
        self._bridge(record).validate()
        try:
            await asyncio.to_thread(ensure_bridge_device, record.bridge, record.subnet, record.gateway,
                                    not internal, record.subnet6, record.gateway6)
            ipam_extra.reserve(self._ipam_dir(record), {**record.aux_addresses, **record.aux_addresses6})
            if not internal:
                for subnet in _masqueraded(record):
                    await asyncio.to_thread(masquerade.ensure, subnet, record.bridge)
        except errdefs.WharfError:
            await self._remove_bridge(record)
            raise
        self._store(record)
        return record

    def _bridge(self, record: NetworkRecord) -> BridgeNetwork:
        mtu = int(record.options.get("com.docker.network.driver.mtu", "0") or 0)
        return BridgeNetwork(name=f"wharf-{record.id[:12]}", bridge=record.bridge, subnet=record.subnet,
                             gateway=record.gateway, ip_range=record.ip_range, internal=record.internal, mtu=mtu,
                             subnet6=record.subnet6, gateway6=record.gateway6, ip_range6=record.ip_range6)

    def _ipam_dir(self, record: NetworkRecord) -> Path:
        """host-local's state of the network (one file per address in use)."""
        return self.state_dir / "ipam" / f"wharf-{record.id[:12]}"

    def _conflist(self, record: NetworkRecord, with_ports: bool) -> dict[str, Any]:
        """The network's CNI list; without portmap for an endpoint that publishes nothing (one
        plugin run less on every start and stop)."""
        conflist = self._bridge(record).conflist(self.state_dir / "ipam")
        if not with_ports:
            conflist["plugins"] = [p for p in conflist["plugins"] if p["type"] != "portmap"]
        return conflist

    async def remove(self, ref: str) -> None:
        record = self.find(ref)
        if record.predefined:
            raise errdefs.Forbidden(f"{record.name} is a pre-defined network and cannot be removed")
        active = self.endpoints_on(record.id)
        if active:
            names = ", ".join(e.container_name for e in active)
            raise errdefs.Forbidden(f"error while removing network: network {record.name} has active endpoints ({names})")
        if record.bridge:
            await self._remove_bridge(record)
        shutil.rmtree(self._ipam_dir(record), ignore_errors=True)
        self._network_file(record.id).unlink(missing_ok=True)
        del self.networks[record.id]

    async def shutdown_bridges(self) -> None:
        """Remove the bridge devices of networks with no endpoints (on daemon shutdown, tests)."""
        for record in self.networks.values():
            if record.bridge and not self.endpoints_on(record.id):
                await self._remove_bridge(record)

    async def _remove_bridge(self, record: NetworkRecord) -> None:
        """The network's bridge device and its masquerade rule."""
        for subnet in _masqueraded(record):
            await asyncio.to_thread(masquerade.remove, subnet, record.bridge)
        await delete_bridge_device(record.bridge)

    # -- endpoints -------------------------------------------------------------------------

    def netns_path(self, container_id: str) -> Path:
        return self.run_dir / "netns" / container_id

    def userns_path(self, container_id: str) -> Path:
        """The pinned user namespace owning a remapped container's network namespace."""
        return self.run_dir / "userns" / container_id

    async def create_sandbox(self, container_id: str, own_user_namespace: bool = False) -> Path:
        """The container's network namespace (only `lo` until it is connected).

        `lo` is brought up by the process that makes the namespace; in a remapped user namespace,
        by CNI loopback ADD in the background, beside the first connect's plugins, which touch
        other devices of the namespace: `sandbox_ready` waits for it."""
        path = self.netns_path(container_id)
        if not path.exists():
            if own_user_namespace and self.userns_remap is not None:
                await netns.create_in_user_namespace(path, self.userns_path(container_id),
                                                     [(0, self.userns_remap.uid_start, self.userns_remap.uid_size)],
                                                     [(0, self.userns_remap.gid_start, self.userns_remap.gid_size)])
                self._loopbacks[container_id] = asyncio.ensure_future(
                    self.cni.add(LOOPBACK, Attachment(container_id, str(path), ifname="lo")))
            else:
                await netns.create(path, loopback_up=True)
        return path

    async def sandbox_ready(self, container_id: str) -> None:
        """Wait until the sandbox's `lo` is up; on failure the namespace is removed and the error raised."""
        pending = self._loopbacks.pop(container_id, None)
        if pending is None:
            return
        try:
            await pending
        except BaseException:
            if not pending.done():
                pending.cancel()
            await self.release_sandbox(container_id)
            raise

    async def _settle_loopback(self, container_id: str) -> None:
        """A sandbox being released: let a loopback ADD still running finish first (its DEL follows)."""
        pending = self._loopbacks.pop(container_id, None)
        if pending is not None:
            try:
                await pending
            except Exception:  # noqa: BLE001 - the DEL below cleans up whatever it did
                pass

    async def connect(self, container_id: str, container_name: str, ref: str, aliases: list[str] | None = None,
                      ip: str = "", ports: list[PortMapping] | None = None, ip6: str = "",
                      mac: str = "", links: list[str] | None = None,
                      link_local_ips: list[str] | None = None) -> Endpoint:
        record = self.find(ref)
        if record.driver != "bridge":
            raise errdefs.InvalidArgument(f"container cannot be disconnected from host network or connected to {record.name} network"
                                    if record.driver == "host" else
                                    f"container cannot be connected to network {record.name}")
        existing = [e for e in self.endpoints.get(container_id, []) if e.network_id == record.id]
        if existing:
            raise errdefs.Forbidden(f"endpoint with name {container_name.lstrip('/')} already exists in network {record.name}")
        if ip:
            try:
                if ipaddress.ip_address(ip) not in ipaddress.ip_network(record.subnet, strict=False):
                    raise errdefs.InvalidArgument(f"no configured subnet or ip-range contain the IP address {ip}")
            except ValueError as err:
                raise errdefs.InvalidArgument(f"invalid IPv4 address: {ip}") from err
        ipam_extra.check_ip6(record, ip6)
        link_local = ipam_extra.checked_link_local(link_local_ips or [])
        ports = [self._claim_port(p) for p in ports or []]
        namespace = await self.create_sandbox(container_id)
        runtime_config: dict[str, Any] = {"portMappings": [p.cni() for p in ports]} if ports else {}
        if ip or ip6:
            runtime_config["ips"] = [a for a in (ip, ip6) if a]
        if mac:
            runtime_config["mac"] = mac
        attachment = Attachment(container_id, str(namespace), ifname=self._next_ifname(container_id),
                                runtime_config=runtime_config)
        # The bridge's plugins and the sandbox's loopback work on different devices: together.
        adding = asyncio.ensure_future(self.cni.add(self._conflist(record, with_ports=bool(ports)), attachment))
        try:
            await self.sandbox_ready(container_id)
        except BaseException:
            await asyncio.gather(adding, return_exceptions=True)
            if adding.done() and not adding.cancelled() and adding.exception() is None:
                await self.cni.delete(self._conflist(record, with_ports=bool(ports)), attachment)
            raise
        result = await adding
        if link_local:
            try:
                await ipam_extra.add_addresses(str(namespace), attachment.ifname, link_local)
            except errdefs.WharfError:
                await self.cni.delete(self._conflist(record, with_ports=bool(ports)), attachment)
                raise
        address = next((i for i in result.get("ips") or [] if ":" not in i.get("address", "")), {})
        address6 = next((i for i in result.get("ips") or [] if ":" in i.get("address", "")), {})
        interfaces = result.get("interfaces") or []
        index = address.get("interface")
        mac = interfaces[index].get("mac", "") if isinstance(index, int) and index < len(interfaces) else ""
        endpoint = Endpoint(network_id=record.id, network_name=record.name, container_id=container_id,
                            container_name=container_name.lstrip("/"), endpoint_id=secrets.token_hex(32),
                            interface=attachment.ifname,
                            ip_address=address.get("address", ""), gateway=address.get("gateway", ""),
                            mac_address=mac, aliases=list(aliases or []), ports=ports,
                            ip6_address=address6.get("address", ""), gateway6=address6.get("gateway", ""),
                            links=list(links or []))
        self.endpoints.setdefault(container_id, []).append(endpoint)
        self._save_endpoints(container_id)
        return endpoint

    def _next_ifname(self, container_id: str) -> str:
        used = {e.interface for e in self.endpoints.get(container_id, [])}
        return next(f"eth{n}" for n in range(len(used) + 1) if f"eth{n}" not in used)

    def _claim_port(self, mapping: PortMapping) -> PortMapping:
        """Give a random host port where none was asked for, and refuse one that is taken."""
        kind = socket.SOCK_STREAM if mapping.protocol == "tcp" else socket.SOCK_DGRAM
        host = mapping.host_ip or "0.0.0.0"
        in_use = {(p.host_ip or "0.0.0.0", p.host_port, p.protocol)
                  for eps in self.endpoints.values() for e in eps for p in e.ports}
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, kind) as probe:
            try:
                probe.bind((host, mapping.host_port))
            except OSError as err:
                raise errdefs.Conflict(
                    f"Bind for {host}:{mapping.host_port} failed: port is already allocated"
                ) from err
            port = probe.getsockname()[1]
        if (host, port, mapping.protocol) in in_use:
            raise errdefs.Conflict(f"Bind for {host}:{port} failed: port is already allocated")
        return PortMapping(mapping.container_port, mapping.protocol, mapping.host_ip, port)

    async def disconnect(self, container_id: str, ref: str) -> None:
        record = self.find(ref)
        endpoints = self.endpoints.get(container_id, [])
        endpoint = next((e for e in endpoints if e.network_id == record.id), None)
        if endpoint is None:
            raise errdefs.Forbidden(f"container {container_id} is not connected to network {record.name}")
        # portmap's DEL removes the rules only when it is told the mappings again.
        runtime_config = {"portMappings": [p.cni() for p in endpoint.ports]} if endpoint.ports else {}
        attachment = Attachment(container_id, str(self.netns_path(container_id)), ifname=endpoint.interface,
                                runtime_config=runtime_config)
        await self.cni.delete(self._conflist(record, with_ports=bool(endpoint.ports)), attachment)
        endpoints.remove(endpoint)
        self._save_endpoints(container_id)

    async def release_sandbox(self, container_id: str) -> None:
        """Disconnect from every network and remove the namespace (the container has stopped)."""
        await self._settle_loopback(container_id)
        path = self.netns_path(container_id)

        async def disconnect(endpoint: Endpoint) -> None:
            try:
                await self.disconnect(container_id, endpoint.network_id)
            except errdefs.WharfError as err:
                errors.append(str(err))
                remaining = self.endpoints.get(container_id, [])
                if endpoint in remaining:
                    remaining.remove(endpoint)

        async def loopback_down() -> None:
            # Only a loopback CNI brought up (it keeps a cached result) needs its DEL; otherwise
            # `lo` goes with the namespace.
            if path.exists() and self.cni.has_cached(LOOPBACK["name"], Attachment(container_id, str(path), ifname="lo")):
                try:
                    await self.cni.delete(LOOPBACK, Attachment(container_id, str(path), ifname="lo"))
                except errdefs.WharfError as err:
                    errors.append(str(err))

        errors: list[str] = []
        # Each network's DEL and the loopback's touch different devices: run them together.
        await asyncio.gather(*map(disconnect, list(self.endpoints.get(container_id, []))), loopback_down())
        self._save_endpoints(container_id)
        if path.exists():
            netns.remove(path)
        if self.userns_path(container_id).exists():
            netns.remove(self.userns_path(container_id))  # the same unpinning
        if errors:
            raise errdefs.System("; ".join(errors))

    def endpoints_of(self, container_id: str) -> list[Endpoint]:
        return list(self.endpoints.get(container_id, []))

    # -- names (for the embedded DNS) -----------------------------------------------------------

    def _shared_endpoints(self, container_id: str) -> list[Endpoint]:
        """Endpoints on the user-defined networks that `container_id` is on (the default bridge
        has no name resolution, as in Docker)."""
        mine = {e.network_id for e in self.endpoints.get(container_id, [])
                if e.network_id in self.networks and not self.networks[e.network_id].predefined}
        return [e for eps in self.endpoints.values() for e in eps if e.network_id in mine]

    def resolve(self, container_id: str, name: str) -> list[str]:
        name = name.lower()
        found = self._resolve_link(container_id, name)
        for endpoint in self._shared_endpoints(container_id):
            names = {endpoint.container_name.lower(), endpoint.container_id[:12], *(a.lower() for a in endpoint.aliases)}
            qualified = {f"{n}.{endpoint.network_name.lower()}" for n in names}
            if name in names or name in qualified:
                found += [a for a in (endpoint.address, endpoint.address6) if a]  # A and AAAA
        return found

    def _resolve_link(self, container_id: str, name: str) -> list[str]:
        """`--link target:alias` on a user-defined network: `alias` names the target, for this
        container only (moby's endpoint links)."""
        for mine in self.endpoints.get(container_id, []):
            for link in mine.links:
                target, _, alias = link.partition(":")
                if name not in ((alias or target).lower(), f"{(alias or target).lower()}.{mine.network_name.lower()}"):
                    continue
                target = target.lstrip("/").lower()
                return [a for e in self.endpoints_on(mine.network_id)
                        if target in (e.container_name.lower(), e.container_id[:12]) or e.container_id == target
                        for a in (e.address, e.address6) if a]
        return []

    def reverse(self, container_id: str, address: str) -> str | None:
        for endpoint in self._shared_endpoints(container_id):
            if endpoint.address == address:
                return f"{endpoint.container_name}.{endpoint.network_name}"
        return None
