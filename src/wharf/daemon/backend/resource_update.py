"""`docker update` (POST /containers/{id}/update): which HostConfig fields change, Docker's checks
on the result; a running container gets the new limits through the supervisor (wharfd writes no
cgroup itself)."""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

from wharf import errdefs
from wharf.daemon import ocispec
from wharf.daemon.backend import host_config_checks, restart_policy
from wharf.daemon.backend.record import ContainerRecord
from wharf.daemon.backend.supervisor import Supervisor

# Docker's UpdateConfig: the Resources it can change (0 / "" / null means "leave as it is").
UPDATABLE = (
    "Memory", "MemorySwap", "MemoryReservation", "NanoCpus", "CpuShares", "CpuQuota", "CpuPeriod",
    "CpusetCpus", "CpusetMems", "PidsLimit", "BlkioWeight",
)  # fmt: skip


def prepare(host_config: dict[str, Any], body: Any, container_id: str = "") -> tuple[dict[str, Any], list[str]]:
    """(the container's new HostConfig, warnings); an error leaves the container as it was."""
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
        # Docker's words and category (409) for a clash with the limit already set.
        raise errdefs.Conflict(
            f"Cannot update container {container_id}: Memory limit should be smaller than already set "
            "memoryswap limit, update the memoryswap at the same time"
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


def live_resources(host_config: dict[str, Any]) -> dict[str, Any]:
    """The OCI linux.resources a running container gets (its device rules stay as made at create)."""
    resources = ocispec.resources_of(host_config)
    resources.pop("devices", None)
    return resources


async def apply_live(supervisor: Supervisor, record: ContainerRecord, host_config: dict[str, Any]) -> None:
    """The supervisor has the task's runtime apply the new limits (`runc update`), as dockerd asks
    containerd's tasks.Update. A refusal is Docker's 500 `Cannot update container ID: ...`; a task
    that is gone or stopping is no error: the new HostConfig applies at the next start."""
    try:
        await supervisor.tasks.update(record.id, live_resources(host_config))
    except (errdefs.NotFound, errdefs.FailedPrecondition):
        return
    except errdefs.WharfError as err:
        raise errdefs.System(f"Cannot update container {record.id}: {err}") from None


async def store_in_spec(supervisor: Supervisor, container_id: str, host_config: dict[str, Any]) -> None:
    """The supervisor's copy of the OCI spec gets the new limits, so the next start has them
    (the device rules made at create stay as they were)."""
    container = await supervisor.containers.get(container_id)
    spec = copy.deepcopy(container.spec)
    resources = ocispec.resources_of(host_config)
    old = spec.setdefault("linux", {}).get("resources") or {}
    resources["devices"] = old.get("devices", resources.get("devices"))
    spec["linux"]["resources"] = resources
    await supervisor.containers.update(dataclasses.replace(container, spec=spec))
