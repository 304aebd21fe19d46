"""`docker import --change` / `docker commit --change`: Dockerfile instructions applied to a config."""

from __future__ import annotations

import json
import shlex
from typing import Any

from wharf import errdefs

ALLOWED = {"CMD", "ENTRYPOINT", "ENV", "EXPOSE", "LABEL", "ONBUILD", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR"}


def _exec_or_shell(argument: str) -> list[str]:
    """JSON form `["sh", "-c"]` as is; anything else is shell form, run by /bin/sh -c."""
    text = argument.strip()
    if text.startswith("["):
        try:
            value = json.loads(text)
        except ValueError:
            value = None
        if isinstance(value, list) and all(isinstance(item, str) for item in value):
            return value
    return ["/bin/sh", "-c", text]


def _pairs(argument: str, instruction: str) -> list[tuple[str, str]]:
    """`k=v k2="v 2"` or the legacy `k v` form."""
    words = shlex.split(argument)
    if not words:
        raise errdefs.InvalidArgument(f"{instruction} requires at least one argument")
    if "=" not in words[0]:
        key, _, value = argument.strip().partition(" ")
        return [(key, value.strip())]
    pairs = []
    for word in words:
        key, sep, value = word.partition("=")
        if not sep:
            raise errdefs.InvalidArgument(f"{instruction} names can not be blank: {word}")
        pairs.append((key, value))
    return pairs


def apply_changes(config: dict[str, Any], changes: list[str]) -> dict[str, Any]:
    """A new image config (`config` section, Docker's capitalised keys) with the changes applied."""
    out = dict(config)
    for change in changes:
        if not change.strip():
            continue
        instruction, _, argument = change.strip().partition(" ")
        instruction = instruction.upper()
        if instruction not in ALLOWED:
            raise errdefs.InvalidArgument(f"{instruction} is not a valid change command")
        if instruction == "CMD":
            out["Cmd"] = _exec_or_shell(argument)
        elif instruction == "ENTRYPOINT":
            out["Entrypoint"] = _exec_or_shell(argument)
        elif instruction == "ENV":
            env = list(out.get("Env") or [])
            for key, value in _pairs(argument, "ENV"):
                env = [e for e in env if e.split("=", 1)[0] != key] + [f"{key}={value}"]
            out["Env"] = env
        elif instruction == "LABEL":
            labels = dict(out.get("Labels") or {})
            labels.update(_pairs(argument, "LABEL"))
            out["Labels"] = labels
        elif instruction == "EXPOSE":
            ports = dict(out.get("ExposedPorts") or {})
            for port in argument.split():
                ports[port if "/" in port else f"{port}/tcp"] = {}
            out["ExposedPorts"] = ports
        elif instruction == "VOLUME":
            volumes = dict(out.get("Volumes") or {})
            for path in _exec_or_shell(argument) if argument.strip().startswith("[") else argument.split():
                volumes[path] = {}
            out["Volumes"] = volumes
        elif instruction == "WORKDIR":
            out["WorkingDir"] = argument.strip()
        elif instruction == "USER":
            out["User"] = argument.strip()
        elif instruction == "STOPSIGNAL":
            out["StopSignal"] = argument.strip()
        elif instruction == "ONBUILD":
            out["OnBuild"] = list(out.get("OnBuild") or []) + [argument.strip()]
    return out
