"""Restart policies (`--restart no|always|unless-stopped|on-failure[:N]`): whether an exited
container starts again, and after how long (Docker's doubling back-off from 100 ms)."""

from __future__ import annotations

from typing import Any

from wharf import errdefs

POLICIES = ("", "no", "always", "unless-stopped", "on-failure")
MAX_DELAY_SECONDS = 60.0


def validate(host_config: dict[str, Any]) -> None:
    policy = host_config.get("RestartPolicy") or {}
    name = policy.get("Name", "")
    if not isinstance(policy, dict):
        raise errdefs.InvalidArgument("json: cannot unmarshal into Go struct field HostConfig.RestartPolicy")
    if name not in POLICIES:
        # moby's ValidateRestartPolicy wording.
        raise errdefs.InvalidArgument(
            f"invalid restart policy: unknown policy '{name}'; use one of 'no', 'always', 'on-failure', "
            "or 'unless-stopped'"
        )
    retries = policy.get("MaximumRetryCount") or 0
    if not isinstance(retries, int) or isinstance(retries, bool):
        raise errdefs.InvalidArgument(
            "json: cannot unmarshal into Go struct field RestartPolicy.HostConfig.RestartPolicy.MaximumRetryCount"
            " of type int"
        )
    if name not in ("", "on-failure") and retries:
        message = "invalid restart policy: maximum retry count can only be used with 'on-failure'"
        raise errdefs.InvalidArgument(message + (" and cannot be negative" if retries < 0 else ""))
    if name == "on-failure" and retries < 0:
        raise errdefs.InvalidArgument("invalid restart policy: maximum retry count cannot be negative")
    if host_config.get("AutoRemove") and name not in ("", "no"):
        raise errdefs.InvalidArgument("can't create 'AutoRemove' container with restart policy")


def should_restart(host_config: dict[str, Any], exit_code: int, restart_count: int, manually_stopped: bool) -> bool:
    policy = host_config.get("RestartPolicy") or {}
    name = policy.get("Name", "")
    if manually_stopped or name in ("", "no"):
        return False
    if name in ("always", "unless-stopped"):
        return True
    maximum = int(policy.get("MaximumRetryCount") or 0)
    return exit_code != 0 and (maximum == 0 or restart_count < maximum)


def delay_seconds(restart_count: int) -> float:
    return min(0.1 * (2 ** restart_count), MAX_DELAY_SECONDS)


def starts_with_daemon(host_config: dict[str, Any], manually_stopped: bool) -> bool:
    """Containers the daemon starts when it comes up (if they are not running)."""
    name = (host_config.get("RestartPolicy") or {}).get("Name", "")
    return name == "always" or (name == "unless-stopped" and not manually_stopped)
