"""The network verbs of the Engine API (`/networks/...`) over the NetworkController, with live
connect/disconnect of containers and network events."""

from __future__ import annotations

from typing import Any

from wharf import errdefs
from wharf.daemon.backend import record as records
from wharf.daemon.backend.container_view import parse_filters
from wharf.daemon.backend.containers import ContainerService
from wharf.daemon.backend.events import EventBus
from wharf.daemon.backend.networking import CONTAINER_MODE, ContainerNetworking, network_mode
from wharf.daemon.backend.prune_filters import PruneFilters
from wharf.daemon.backend.timefmt import parse_rfc3339
from wharf.daemon.network import ipam_extra
from wharf.daemon.network.model import NetworkRecord

_LIST_FILTERS = {"driver", "id", "label", "name", "scope", "type", "dangling"}


def _labels_match(labels: dict[str, str], wanted: list[str]) -> bool:
    for entry in wanted:
        key, sep, value = entry.partition("=")
        if key not in labels or (sep and labels[key] != value):
            return False
    return True


class NetworkService:
    def __init__(self, networking: ContainerNetworking, containers: ContainerService, events: EventBus) -> None:
        self.networking = networking
        self.controller = networking.controller
        self.containers = containers
        self.events = events

    def _event(self, action: str, network: NetworkRecord, **extra: str) -> None:
        self.events.publish("network", action, network.id, {"name": network.name, "type": network.driver, **extra})

    # ---- read --------------------------------------------------------------------------------

    def inspect(self, ref: str) -> dict[str, Any]:
        return self.controller.inspect(self.controller.find(ref))

    def list(self, raw_filters: dict[str, Any]) -> list[dict[str, Any]]:
        filters = parse_filters(raw_filters)
        for key in filters:
            if key not in _LIST_FILTERS:
                raise errdefs.InvalidArgument(f"invalid filter '{key}'")
        out = []
        for network in self.controller.list():
            if filters.get("name") and not any(v in network.name for v in filters["name"]):
                continue
            if filters.get("id") and not any(network.id.startswith(v) for v in filters["id"]):
                continue
            if filters.get("driver") and network.driver not in filters["driver"]:
                continue
            if filters.get("scope") and "local" not in filters["scope"]:
                continue
            if filters.get("label") and not _labels_match(network.labels, filters["label"]):
                continue
            kinds = filters.get("type") or []
            if kinds and ("builtin" if network.predefined else "custom") not in kinds:
                continue
            dangling = filters.get("dangling") or []
            if dangling:
                unused = not network.predefined and not self.controller.endpoints_on(network.id)
                if (dangling[0].lower() in ("true", "1")) != unused:
                    continue
            out.append(self.controller.inspect(network))
        return out

    # ---- create, remove, prune -----------------------------------------------------------------

    async def create(self, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise errdefs.InvalidArgument("invalid JSON: the body must be a JSON object")
        name = body.get("Name") or ""
        ipam = body.get("IPAM") or {}
        first, ipv6 = ipam_extra.split_ipam_configs(ipam.get("Config") or [])
        if ipv6 is not None and not body.get("EnableIPv6"):
            raise errdefs.InvalidArgument("an IPv6 subnet needs EnableIPv6 (--ipv6)")
        if body.get("EnableIPv6") and ipv6 is None:
            ipv6 = {}
        network = await self.controller.create(
            name, driver=body.get("Driver") or "bridge", subnet=first.get("Subnet") or "",
            gateway=first.get("Gateway") or "", ip_range=first.get("IPRange") or "",
            internal=bool(body.get("Internal")), attachable=bool(body.get("Attachable")),
            labels=body.get("Labels") or {}, options=body.get("Options") or {},
            aux_addresses=first.get("AuxiliaryAddresses") or {}, ipv6=ipv6,
        )
        self._event("create", network)
        return {"Id": network.id, "Warning": ""}

    async def remove(self, ref: str) -> None:
        network = self.controller.find(ref)
        await self.controller.remove(network.id)
        self._event("destroy", network)

    async def prune(self, raw_filters: dict[str, Any]) -> dict[str, Any]:
        filters = PruneFilters(raw_filters)
        deleted = []
        for network in self.controller.list():
            if network.predefined or self.controller.endpoints_on(network.id):
                continue
            if not filters.matches(network.labels, parse_rfc3339(network.created)):
                continue
            await self.controller.remove(network.id)
            self._event("destroy", network)
            deleted.append(network.name)
        return {"NetworksDeleted": deleted or None}

    # ---- connect, disconnect -------------------------------------------------------------------

    async def connect(self, ref: str, body: Any) -> None:
        if not isinstance(body, dict) or not body.get("Container"):
            raise errdefs.InvalidArgument("invalid JSON: Container is required")
        network = self.controller.find(ref)
        record = self.containers.get(str(body["Container"]))
        mode = network_mode(record.host_config)
        if mode in ("host", "none") or mode.startswith(CONTAINER_MODE) or network.name in ("host", "none"):
            # moby's runconfig validation errors: 400s.
            raise errdefs.InvalidArgument("container cannot be disconnected from host network or connected to host "
                                    "network" if "host" in (mode, network.name) else
                                    "container sharing network namespace with another container or host cannot "
                                    "be connected to any other network" if mode.startswith(CONTAINER_MODE) else
                                    "container cannot be connected to multiple networks with one of the networks "
                                    "in private (none) mode")
        if network.name in record.networking_config:
            raise errdefs.Forbidden(f"endpoint with name {record.name.lstrip('/')} already exists in network "
                                    f"{network.name}")
        wanted = dict(body.get("EndpointConfig") or {})
        self.networking.validate_endpoint(network, wanted)
        record.networking_config[network.name] = wanted  # before: inspect echoes what was asked
        if record.state.running:
            try:
                await self.networking.connect_live(record, network, wanted)
            except BaseException:
                record.networking_config.pop(network.name, None)
                raise
        if not record.state.running:
            record.network_settings = self.networking.settings_of(record)
            record.network_settings["Networks"] = self.networking.settings_when_stopped(record)["Networks"]
        records.save(record)

    async def disconnect(self, ref: str, body: Any) -> None:
        if not isinstance(body, dict) or not body.get("Container"):
            raise errdefs.InvalidArgument("invalid JSON: Container is required")
        network = self.controller.find(ref)
        record = self.containers.get(str(body["Container"]))
        attached = any(e.network_id == network.id for e in self.controller.endpoints_of(record.id))
        if network.name not in record.networking_config and not attached:
            if body.get("Force") and not record.state.running:  # moby: a running one is refused
                return
            raise errdefs.Forbidden(f"container {record.id} is not connected to network {network.name}")
        if attached:
            await self.networking.disconnect_live(record, network)
        record.networking_config.pop(network.name, None)
        record.network_settings.get("Networks", {}).pop(network.name, None)
        records.save(record)
