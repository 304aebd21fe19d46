"""Legacy container links (`--link target:alias`, HostConfig.Links), as Docker keeps them.

On the default bridge a link is stored as `/target:/container/alias` (Docker's inspect shape).
At each start every target must be running; the container then gets the target's address in
its /etc/hosts (`ip<TAB>alias hostname [name]`, moby's order) and Docker's link variables in
its environment (`ALIAS_NAME`, `ALIAS_PORT…`, `ALIAS_ENV_…`), computed from the target as it is
then. On a user-defined network `--link` is no legacy link: the CLI sends it as the endpoint's
Links, which the embedded DNS answers as an alias (see network/controller.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from wharf import errdefs
from wharf.daemon.backend import record as records
from wharf.daemon.backend.record import ContainerRecord

FindContainer = Callable[[str], ContainerRecord]
LINK_ENV_ANNOTATION = "org.wharf.link-env"
"""In the OCI spec: the names of the variables the links of the last start added (replaced at
the next start, so a removed link leaves nothing behind)."""


def _uses_default_bridge(host_config: dict[str, Any]) -> bool:
    return (host_config.get("NetworkMode") or "default") in ("default", "bridge")


def split(entry: str) -> tuple[str, str]:
    """`target:alias` or `/target:/container/alias` → (target name without `/`, alias)."""
    target, _, alias = str(entry).partition(":")
    target = target.strip("/")
    alias = alias.rsplit("/", 1)[-1] if alias else target
    if not target or not alias:
        raise errdefs.InvalidArgument(f"invalid link: {entry}")
    return target, alias


def resolve_at_create(host_config: dict[str, Any], name: str, find: FindContainer) -> dict[str, Any]:
    """HostConfig with its Links as Docker stores them (`/target:/name/alias`); a target that
    does not exist is refused now, as moby's registerLinks does."""
    links = host_config.get("Links") or []
    if not links:
        return host_config
    mode = str(host_config.get("NetworkMode") or "")
    if mode == "host":
        raise errdefs.InvalidArgument("conflicting options: host type networking can't be used with links. "
                                      "This would result in undefined behavior")
    if mode.startswith("container:"):
        raise errdefs.InvalidArgument("conflicting options: container type network can't be used with links. "
                                      "This would result in undefined behavior")
    if not _uses_default_bridge(host_config):
        return host_config  # user-defined network: the endpoint's Links (DNS aliases)
    normalised = []
    for entry in links:
        target, alias = split(entry)
        try:
            found = find(target)
        except errdefs.NotFound as err:
            raise errdefs.InvalidArgument(f"could not get container for {target}: {err}") from None
        if str(found.host_config.get("NetworkMode") or "") == "host":
            raise errdefs.InvalidArgument("conflicting options: host type networking can't be used with links. "
                                          "This would result in undefined behavior")
        normalised.append(f"{found.name}:{name}/{alias}")
    return dict(host_config, Links=normalised)


def legacy_links(record: ContainerRecord) -> list[tuple[str, str]]:
    """(target name, alias) of each legacy link of `record` (none off the default bridge)."""
    if not _uses_default_bridge(record.host_config):
        return []
    return [split(entry) for entry in record.host_config.get("Links") or []]


def linked_targets(record: ContainerRecord, find: FindContainer) -> list[tuple[str, ContainerRecord]]:
    """(alias, target) for each link; at start every target must exist and run (Docker's words)."""
    out = []
    for target_name, alias in legacy_links(record):
        link_name = f"{record.name}/{alias}"
        try:
            target = find(target_name)
        except errdefs.NotFound:
            raise errdefs.InvalidArgument(f"could not get container for {target_name}") from None
        if not target.state.running:
            raise errdefs.System(f"Cannot link to a non running container: {target.name} AS {link_name}")
        if "bridge" not in ((target.network_settings or {}).get("Networks") or {}):
            raise errdefs.System(f"Cannot link to {target.name}, as it does not belong to the default network")
        out.append((alias, target))
    return out


def _bridge_address(target: ContainerRecord) -> str:
    networks = (target.network_settings or {}).get("Networks") or {}
    return str((networks.get("bridge") or {}).get("IPAddress") or "")


def host_entries(record: ContainerRecord, find: FindContainer) -> list[tuple[str, str]]:
    """The /etc/hosts lines of the links to running targets: `alias hostname [name]`."""
    out = []
    for target_name, alias in legacy_links(record):
        try:
            target = find(target_name)
        except errdefs.NotFound:
            continue
        address = _bridge_address(target)
        if not target.state.running or not address:
            continue
        names = f"{alias} {target.config.get('Hostname') or target.id[:12]}"
        if alias != target.name.lstrip("/"):
            names += f" {target.name.lstrip('/')}"
        out.append((address, names))
    return out


def _port_order(key: str) -> tuple[int, int, str]:
    number, _, protocol = key.partition("/")
    protocol = protocol or "tcp"
    return int(number.split("-")[0]), 0 if protocol == "tcp" else 1, protocol


def link_env(link_name: str, address: str, exposed_ports: Iterable[str], target_env: Iterable[str]) -> list[str]:
    """Docker's variables for one link (moby's links.Link.ToEnv): `link_name` is
    `/container/alias`; ports are the target's exposed ones, lowest first."""
    prefix = link_name.rsplit("/", 1)[-1].upper().replace("-", "_")
    env = []
    ports = sorted(exposed_ports, key=_port_order)
    if ports:
        port, _, protocol = _port_order(ports[0])
        env.append(f"{prefix}_PORT={protocol}://{address}:{port}")
    for key in ports:
        port, _, protocol = _port_order(key)
        base = f"{prefix}_PORT_{port}_{protocol.upper()}"
        env += [f"{base}={protocol}://{address}:{port}", f"{base}_ADDR={address}", f"{base}_PORT={port}",
                f"{base}_PROTO={protocol}"]
    env.append(f"{prefix}_NAME={link_name}")
    for entry in target_env:
        name, sep, value = str(entry).partition("=")
        if sep and name not in ("HOME", "PATH"):  # moby leaves out what builds add
            env.append(f"{prefix}_ENV_{name}={value}")
    return env


def env_for(record: ContainerRecord, targets: list[tuple[str, ContainerRecord]]) -> list[str]:
    env: list[str] = []
    for alias, target in targets:
        env += link_env(f"{record.name}/{alias}", _bridge_address(target),
                        (target.config.get("ExposedPorts") or {}).keys(), target.config.get("Env") or [])
    return env


def apply_env(spec: dict[str, Any], link_variables: list[str]) -> None:
    """Put the links' variables into the spec's process env, replacing those of the last start;
    the container's own variables win over them, as in Docker."""
    annotations = spec.setdefault("annotations", {})
    previous = set(json.loads(annotations.get(LINK_ENV_ANNOTATION) or "[]"))
    process = spec.setdefault("process", {})
    env = [e for e in process.get("env") or [] if e.split("=", 1)[0] not in previous]
    own = {e.split("=", 1)[0] for e in env}
    added = [e for e in link_variables if e.split("=", 1)[0] not in own]
    process["env"] = env + added
    if added:
        annotations[LINK_ENV_ANNOTATION] = json.dumps([e.split("=", 1)[0] for e in added])
    else:
        annotations.pop(LINK_ENV_ANNOTATION, None)


def link_names(all_records: Iterable[ContainerRecord]) -> dict[str, list[str]]:
    """Target container id → its link names (`/container/alias`), which `docker ps` lists as names."""
    by_name = {r.name: r for r in all_records}
    out: dict[str, list[str]] = {}
    for record in by_name.values():
        for target_name, alias in legacy_links(record):
            target = by_name.get("/" + target_name)
            if target is not None:
                out.setdefault(target.id, []).append(f"{record.name}/{alias}")
    return out


def find_link(parent: ContainerRecord, alias: str) -> tuple[int, str]:
    """The index in HostConfig.Links and the target name of `parent`'s link `alias`."""
    for index, entry in enumerate(parent.host_config.get("Links") or []):
        target, own_alias = split(entry)
        if own_alias == alias:
            return index, target
    raise errdefs.NotFound(f"No such container: {parent.name.lstrip('/')}/{alias}")


def remove_link(parent: ContainerRecord, alias: str) -> None:
    """`docker rm --link container/alias`: the link goes, both containers stay."""
    index, _ = find_link(parent, alias)
    links = list(parent.host_config.get("Links") or [])
    del links[index]
    # [] (not None): the next start still drops the variables the link added (see start).
    parent.host_config["Links"] = links
    records.save(parent)
