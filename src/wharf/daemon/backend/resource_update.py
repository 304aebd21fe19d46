"""`docker update` (POST /containers/{id}/update): which HostConfig fields change, Docker's checks
on the result, and applying the new limits to a running container's cgroups."""

from __future__ import annotations

import asyncio
import copy
import dataclasses
from typing import Any

from wharf import errdefs
from wharf.daemon import ocispec
from wharf.daemon.backend import host_config_checks, restart_policy
from wharf.daemon.backend.record import ContainerRecord

# Docker's UpdateConfig: the Resources it can change (0 / "" / null means "leave as it is").
UPDATABLE = (
    "Memory", "MemorySwap", "MemoryReservation", "NanoCpus", "CpuShares", "CpuQuota", "CpuPeriod",
    "CpusetCpus", "CpusetMems", "PidsLimit", "BlkioWeight",
)  # fmt: skip


def prepare(host_config: dict[str, Any], body: Any) -> tuple[dict[str, Any], list[str]]:
    """(the container's new HostConfig, warnings); InvalidArgument leaves the container as it was."""
    if not isinstance(body, dict):
        raise errdefs.InvalidArgument("invalid JSON: the body must be a JSON object")
    host_config_checks.check_types({}, body)
    updated = copy.deepcopy(host_config)
    for key in UPDATABLE:
        value = body.get(key)
        if value not in (None, 0, ""):
            updated[key] = value
    if body.get("NanoCpus"):
        updated["CpuQuota"], updated["CpuPeriod"] = 0, 0
    elif body.get("CpuQuota") or body.get("CpuPeriod"):
        updated["NanoCpus"] = 0
    memory, swap = int(updated.get("Memory") or 0), int(updated.get("MemorySwap") or 0)
    if body.get("Memory") and not body.get("MemorySwap") and swap > 0 and memory > swap:
        raise errdefs.InvalidArgument(
            "Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time"
        )
    warnings = host_config_checks.verify_resources(updated, update=True)
    policy = body.get("RestartPolicy")
    if policy and (not isinstance(policy, dict) or policy.get("Name") is not None):
        if updated.get("AutoRemove") and isinstance(policy, dict) and policy.get("Name") not in ("", "no"):
            raise errdefs.InvalidArgument(
                "Restart policy cannot be updated because AutoRemove is enabled for the container"
            )
        restart_policy.validate({"RestartPolicy": policy})
        updated["RestartPolicy"] = {"Name": policy.get("Name") or "no",
                                    "MaximumRetryCount": int(policy.get("MaximumRetryCount") or 0)}
    return updated, warnings


def _cgroups_path(record: ContainerRecord, default_parent: str) -> str:
    parent = (record.host_config.get("CgroupParent") or default_parent or "/wharf").rstrip("/")
    return f"{parent}/{record.id}"


def _apply(cgroups_path: str, container_id: str, host_config: dict[str, Any]) -> None:
    from wharf.runtime import cgroups
    from wharf.runtime.specconv import parse_resources

    resources = ocispec.resources_of(host_config)
    resources.pop("devices", None)
    manager = cgroups.for_container(cgroups_path, container_id)
    try:
        manager.update(parse_resources(resources))
    except OSError:
        # Raising memory above the old memory+swap limit needs the swap limit raised first.
        swap = resources.get("memory", {}).get("swap")
        if swap is None:
            raise
        manager.update(parse_resources({"memory": {"swap": swap}}))
        manager.update(parse_resources(resources))


async def apply_live(record: ContainerRecord, host_config: dict[str, Any], default_parent: str) -> None:
    """Write the new limits into the running container's cgroups (as `runc update` does)."""
    try:
        await asyncio.to_thread(_apply, _cgroups_path(record, default_parent), record.id, host_config)
    except OSError as err:
        raise errdefs.InvalidArgument(
            f"Cannot update container {record.id}: {err.strerror or err}: {err.filename or ''}".rstrip(": ")
        ) from None


async def store_in_spec(supervisor: Any, container_id: str, host_config: dict[str, Any]) -> None:
    """The supervisor's copy of the OCI spec gets the new limits, so the next start has them
    (the device rules made at create stay as they were)."""
    container = await supervisor.containers.get(container_id)
    spec = copy.deepcopy(container.spec)
    resources = ocispec.resources_of(host_config)
    old = spec.setdefault("linux", {}).get("resources") or {}
    resources["devices"] = old.get("devices", resources.get("devices"))
    spec["linux"]["resources"] = resources
    await supervisor.containers.update(dataclasses.replace(container, spec=spec))
