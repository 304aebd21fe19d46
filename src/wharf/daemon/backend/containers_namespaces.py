"""`--ipc/--pid/--uts/--network container:<ref>`: namespaces a container shares with another one.

As Docker: at create the reference is checked and kept as the other container's id (IPC and PID must
exist; a network peer that does not exist yet is kept as given). At every start the other container
must be running, and its namespaces are taken then (`/proc/<pid>/ns/<kind>`, the pinned network
namespace), so a restart of the other container is followed. The errors are Docker's words.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

from wharf import errdefs
from wharf.daemon import ocispec
from wharf.daemon.backend.record import ContainerRecord
from wharf.daemon.backend.state import Status

CONTAINER_MODE = "container:"
JOINABLE = (("IpcMode", "ipc"), ("PidMode", "pid"), ("UTSMode", "uts"))
"""HostConfig key → the namespace kind joined by /proc path (the network one is pinned by wharfd)."""

FindContainer = Callable[[str], ContainerRecord]


def _other(mode: object) -> str | None:
    """The reference in `container:<ref>`, or None for any other mode."""
    mode = str(mode or "")
    return mode[len(CONTAINER_MODE):] if mode.startswith(CONTAINER_MODE) and len(mode) > len(CONTAINER_MODE) else None


def joins_network(host_config: dict[str, Any]) -> bool:
    return _other(host_config.get("NetworkMode")) is not None


def joins_any(host_config: dict[str, Any]) -> bool:
    return joins_network(host_config) or any(_other(host_config.get(key)) for key, _ in JOINABLE)


def resolve_at_create(host_config: dict[str, Any], find: FindContainer) -> dict[str, Any]:
    """The HostConfig with `container:<id>` for `container:<name>` (Docker's inspect shows the id)."""
    resolved = dict(host_config)
    for key, _ in JOINABLE:
        ref = _other(host_config.get(key))
        if ref is None:
            continue
        try:
            resolved[key] = CONTAINER_MODE + find(ref).id
        except errdefs.NotFound as err:
            # 400, not 404: a 404 would make the docker CLI try to pull the image.
            raise errdefs.InvalidArgument(str(err)) from None
    ref = _other(host_config.get("NetworkMode"))
    if ref is not None:
        with contextlib.suppress(errdefs.NotFound):  # Docker creates it anyway; start refuses it
            resolved["NetworkMode"] = CONTAINER_MODE + find(ref).id
    return resolved


def spec_at_create(spec: dict[str, Any], host_config: dict[str, Any]) -> None:
    """Namespace settings that do not depend on another container (`--uts host`); the joins are
    made at start."""
    own = {key: value for key, value in host_config.items()
           if not (key in dict(JOINABLE) and _other(value) is not None)}  # fmt: skip
    ocispec.join_namespaces(spec, own, _not_at_create)


def _not_at_create(ref: str) -> int:
    raise AssertionError(f"namespaces of {ref} are joined at start")


def join_at_start(spec: dict[str, Any], host_config: dict[str, Any], find: FindContainer) -> None:
    """Point the spec's ipc/pid/uts namespaces at the other containers' processes as they are now."""
    for key, kind in JOINABLE:
        ref = _other(host_config.get(key))
        if ref is None:
            continue
        pid = _running_pid(ref, kind, find)
        ocispec.join_namespaces(spec, {key: CONTAINER_MODE + ref}, lambda _ref, pid=pid: pid)


def _running_pid(ref: str, kind: str, find: FindContainer) -> int:
    # moby words the IPC failures "can't join IPC of container X: <why>", the PID ones as below;
    # both are 500s there (the start fails while making the spec).
    prefix = f"can't join IPC of container {ref}: " if kind == "ipc" else ""
    try:
        other = find(ref)
    except errdefs.NotFound as err:
        if kind != "ipc":
            prefix = f"cannot join {kind.upper()} of a non running container: {ref}: "
        raise errdefs.System(f"{prefix}{err}") from None
    if other.state.status is Status.RESTARTING:
        raise errdefs.System(f"{prefix}Container {other.id} is restarting, wait until the container is running")
    if not other.state.running or not other.state.pid:
        raise errdefs.System(f"{prefix}container {other.id} is not running")
    return int(other.state.pid)
