"""Containers in the shapes of `GET /containers/{id}/json` and `GET /containers/json`."""

from __future__ import annotations

import re
from typing import Any

from wharf import errdefs
from wharf.containerd.core.snapshots import Mount
from wharf.daemon.backend import links
from wharf.daemon.backend.mounts import inspect_mounts
from wharf.daemon.backend.record import ContainerRecord
from wharf.daemon.backend.timefmt import rfc3339nano

_EMPTY_NETWORK_SETTINGS: dict[str, Any] = {
    "Bridge": "", "SandboxID": "", "SandboxKey": "", "Ports": {}, "HairpinMode": False,
    "LinkLocalIPv6Address": "", "LinkLocalIPv6PrefixLen": 0, "SecondaryIPAddresses": None,
    "SecondaryIPv6Addresses": None, "EndpointID": "", "Gateway": "", "GlobalIPv6Address": "",
    "GlobalIPv6PrefixLen": 0, "IPAddress": "", "IPPrefixLen": 0, "IPv6Gateway": "", "MacAddress": "",
    "Networks": {},
}  # fmt: skip


def graph_driver_data(mounts: list[Mount]) -> dict[str, str] | None:
    """The overlay directories of a container's snapshot, named as Docker's overlay2 names them."""
    for mount in mounts:
        options = dict(o.split("=", 1) for o in mount.options if "=" in o)
        if mount.type == "overlay" and "upperdir" in options:
            data = {"UpperDir": options["upperdir"], "WorkDir": options.get("workdir", "")}
            if options.get("lowerdir"):
                data["LowerDir"] = options["lowerdir"]
            return data
        if mount.type == "bind":  # an image without layers: the snapshot is one directory
            return {"UpperDir": mount.source}
    return None


def _graph_driver_data(record: ContainerRecord) -> dict[str, str] | None:
    """Docker's overlay2 GraphDriver.Data; MergedDir is where the host sees the running root
    (the supervisor mounts it in the bundle, out of wharfd's sight)."""
    if record.graph_driver_data is None:
        return None
    data = dict(record.graph_driver_data)
    if record.state.running and record.state.pid:
        data["MergedDir"] = f"/proc/{record.state.pid}/root"
    return data


def inspect(record: ContainerRecord) -> dict[str, Any]:
    started = record.has_been_started
    return {
        "Id": record.id,
        "Created": rfc3339nano(record.created),
        "Path": record.path,
        "Args": record.args,
        "State": record.state.to_api(),
        "Image": record.image_id,
        "ResolvConfPath": record.resolv_conf_path,
        "HostnamePath": record.hostname_path,
        "HostsPath": record.hosts_path,
        "LogPath": record.log_path if started else "",
        "Name": record.name,
        "RestartCount": record.restart_count,
        "Driver": "overlayfs",
        "Platform": "linux",
        "MountLabel": "",
        "ProcessLabel": "",
        "AppArmorProfile": "",
        "ExecIDs": None,
        "HostConfig": record.host_config,
        "GraphDriver": {"Data": _graph_driver_data(record), "Name": "overlayfs"},
        "Mounts": inspect_mounts(record.mount_points),
        "Config": record.config,
        "NetworkSettings": record.network_settings or dict(_EMPTY_NETWORK_SETTINGS),
    }


def summary(record: ContainerRecord) -> dict[str, Any]:
    return {
        "Id": record.id,
        "Names": [record.name],
        "Image": record.config.get("Image", ""),
        "ImageID": record.image_id,
        "Command": record.command,
        "Created": record.created // 1_000_000_000,
        "Ports": _summary_ports(record),
        "Labels": record.config.get("Labels") or {},
        "State": str(record.state.status),
        "Status": record.state.describe(),
        "HostConfig": {"NetworkMode": record.host_config.get("NetworkMode", "bridge")},
        "NetworkSettings": {"Networks": {name: _summary_endpoint(endpoint) for name, endpoint
                                         in ((record.network_settings or {}).get("Networks") or {}).items()}},
        "Mounts": inspect_mounts(record.mount_points),
    }


def _summary_endpoint(endpoint: dict[str, Any]) -> dict[str, Any]:
    """A list entry's endpoint, as moby's container view keeps it: addresses and ids only."""
    return {**endpoint, "Aliases": None, "DNSNames": None, "Links": None, "DriverOpts": None}


def _summary_ports(record: ContainerRecord) -> list[dict[str, Any]]:
    """`docker ps`'s Ports: published ones with their host side, exposed ones without."""
    out: list[dict[str, Any]] = []
    for key, bindings in ((record.network_settings or {}).get("Ports") or {}).items():
        number, _, protocol = key.partition("/")
        if not bindings:
            out.append({"PrivatePort": int(number), "Type": protocol or "tcp"})
        for binding in bindings or []:
            out.append({"IP": binding.get("HostIp", ""), "PrivatePort": int(number),
                        "PublicPort": int(binding.get("HostPort") or 0), "Type": protocol or "tcp"})
    return out


def parse_filters(filters: dict[str, Any]) -> dict[str, list[str]]:
    """Filters as `{"k": ["v"]}` or the older `{"k": {"v": true}}` the CLI still sends."""
    out: dict[str, list[str]] = {}
    if not isinstance(filters, dict):
        raise errdefs.InvalidArgument("invalid filter")
    for key, value in filters.items():
        if isinstance(value, dict):
            out[key] = [k for k, enabled in value.items() if enabled]
        elif isinstance(value, list):
            out[key] = [str(v) for v in value]
        else:
            raise errdefs.InvalidArgument(f"invalid filter '{key}'")
    return out


_KNOWN_FILTERS = {"status", "name", "id", "label", "exited", "ancestor", "before", "since", "health",
                  "volume", "network", "publish", "expose", "isolation", "is-task"}
_STATUSES = {"created", "restarting", "running", "removing", "paused", "exited", "dead"}


def _matches(record: ContainerRecord, filters: dict[str, list[str]], image_matches: set[str]) -> bool:
    for key, values in filters.items():
        if not values:
            continue
        if key == "status" and str(record.state.status) not in values:
            return False
        if key == "id" and not any(record.id.startswith(v) for v in values):
            return False
        if key == "name":
            name = record.name.lstrip("/")
            if not any(re.search(v, record.name) or re.search(v, name) for v in values):
                return False
        if key == "label":
            labels = record.config.get("Labels") or {}
            for wanted in values:
                label, sep, value = wanted.partition("=")
                if label not in labels or (sep and labels[label] != value):
                    return False
        if key == "exited":
            if record.state.running or not record.has_been_started or str(record.state.exit_code) not in values:
                return False
        if key == "ancestor" and record.image_id not in image_matches and record.config.get("Image") not in values:
            return False
    return True


def list_containers(
    records: list[ContainerRecord], all_containers: bool, limit: int, filters: dict[str, list[str]],
    image_matches: set[str] | None = None,
) -> list[dict[str, Any]]:  # fmt: skip
    for key in filters:
        if key not in _KNOWN_FILTERS:
            raise errdefs.InvalidArgument(f"invalid filter '{key}'")
    for status in filters.get("status", []):
        if status not in _STATUSES:
            raise errdefs.InvalidArgument(f"invalid filter 'status={status}'")
    newest_first = sorted(records, key=lambda r: r.created, reverse=True)
    if "before" in filters or "since" in filters:
        newest_first = _before_since(newest_first, filters)
    if not all_containers and limit <= 0 and "status" not in filters and "exited" not in filters:
        newest_first = [r for r in newest_first if r.state.running]
    out = [summary(r) for r in newest_first if _matches(r, filters, image_matches or set())]
    link_names = links.link_names(records)  # a link target is also named `/container/alias`
    for entry in out:
        entry["Names"] += link_names.get(entry["Id"], [])
    return out[:limit] if limit > 0 else out


def _before_since(records: list[ContainerRecord], filters: dict[str, list[str]]) -> list[ContainerRecord]:
    def created_of(ref: str) -> int:
        for r in records:
            if r.id.startswith(ref) or r.name.lstrip("/") == ref.lstrip("/"):
                return r.created
        raise errdefs.NotFound(f"No such container: {ref}")

    out = records
    for ref in filters.get("before", []):
        limit = created_of(ref)
        out = [r for r in out if r.created < limit]
    for ref in filters.get("since", []):
        limit = created_of(ref)
        out = [r for r in out if r.created > limit]
    return out
