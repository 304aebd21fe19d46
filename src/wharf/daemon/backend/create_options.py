"""HostConfig options that pick daemon-side things: the OCI runtime, the log rotation, the init
binary, and Docker's adjustments of what the client sent (moby `adaptContainerSettings`)."""

from __future__ import annotations

import re
import shutil
from typing import Any

from wharf import errdefs

KNOWN_RUNTIMES = ("runc", "crun", "wharf-runc")
LOG_DRIVERS = ("json-file", "local", "none")
LOG_OPTIONS = ("max-size", "max-file", "compress", "labels", "env", "env-regex", "tag", "labels-regex")
# Logs never fill the disk: without options a json-file log rotates at 20 MB, keeping 5 files
# (the figures of Docker's `local` driver).
DEFAULT_LOG_MAX_SIZE = 20 * 1024 * 1024
DEFAULT_LOG_MAX_FILES = 5
INIT_BINARIES = ("/usr/bin/tini-static", "/usr/bin/tini", "/usr/bin/docker-init")

_UNITS = {"": 1, "b": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}


def adapt(host_config: dict[str, Any]) -> None:
    """What the Docker engine fills in: swap defaults to twice the memory limit."""
    if int(host_config.get("Memory") or 0) > 0 and not host_config.get("MemorySwap"):
        host_config["MemorySwap"] = int(host_config["Memory"]) * 2


def runtime_of(host_config: dict[str, Any], default: str) -> str:
    """The runtime a container runs with; InvalidArgument with Docker's words for unknown names."""
    name = host_config.get("Runtime") or default
    if name != default and (name not in KNOWN_RUNTIMES or shutil.which(name) is None):
        raise errdefs.InvalidArgument(f"unknown or invalid runtime name: {name}")
    return str(name)


def _size(text: str) -> int:
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([kmgtb]?)b?", text.strip().lower())
    if not match:
        raise errdefs.InvalidArgument(f"invalid size: '{text}'")
    return int(float(match.group(1)) * _UNITS[match.group(2)])


def log_rotation(host_config: dict[str, Any]) -> tuple[int, int]:
    """(max size in bytes, files kept) of the container's json-file log."""
    log_config = host_config.get("LogConfig") or {}
    if not isinstance(log_config, dict):
        raise errdefs.InvalidArgument("json: cannot unmarshal into Go struct field HostConfig.LogConfig")
    driver = log_config.get("Type") or "json-file"
    if driver not in LOG_DRIVERS:
        raise errdefs.InvalidArgument(f"logger: no log driver named '{driver}' is registered")
    options = log_config.get("Config") or {}
    if driver == "none":
        return 0, 0  # as moby: its options are not even looked at
    for key in options:
        if key not in LOG_OPTIONS:
            raise errdefs.InvalidArgument(f"unknown log opt '{key}' for {driver} log driver")
    try:
        # As Docker, max-size alone keeps one file; with no options at all, Wharf's defaults apply.
        max_files = int(options.get("max-file") or (1 if options.get("max-size") else DEFAULT_LOG_MAX_FILES))
    except ValueError:
        raise errdefs.InvalidArgument(f"invalid value for max-file: {options['max-file']}") from None
    if max_files < 1:
        raise errdefs.InvalidArgument("max-file cannot be less than 1")
    if not options.get("max-size"):
        # Docker's json-file grows without bound here (max-file alone has no effect); Wharf keeps
        # its default size so that a log never fills the disk.
        return DEFAULT_LOG_MAX_SIZE, max_files
    return _size(str(options["max-size"])), max_files



def init_binary() -> str:
    """The host's tini (Debian's `tini` package), bound into containers run with `--init`."""
    for path in INIT_BINARIES:
        if shutil.which(path):
            return path
    raise errdefs.InvalidArgument("docker-init binary not found: install tini for --init")
