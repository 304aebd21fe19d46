"""Platforms (`os/arch[/variant]`) and how a manifest list's entry is chosen for one."""

from __future__ import annotations

import platform as host_platform
from dataclasses import dataclass
from typing import Any

from wharf import errdefs

_ARCHITECTURES = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "i686": "386", "ppc64le": "ppc64le",
                  "s390x": "s390x", "riscv64": "riscv64"}


@dataclass(frozen=True)
class Platform:
    os: str
    architecture: str
    variant: str = ""

    def __str__(self) -> str:
        return "/".join(filter(None, (self.os, self.architecture, self.variant)))

    def matches(self, other: dict[str, Any]) -> bool:
        if other.get("os") != self.os or other.get("architecture") != self.architecture:
            return False
        return not self.variant or other.get("variant", "") in ("", self.variant)


def host() -> Platform:
    machine = host_platform.machine()
    architecture = _ARCHITECTURES.get(machine, machine)
    return Platform("linux", architecture, "v8" if architecture == "arm64" else "")


def parse(text: str) -> Platform:
    """`linux/amd64`, `linux/arm64/v8`, `amd64` (the os defaults to linux)."""
    parts = text.strip().lower().split("/")
    if len(parts) == 1 and parts[0]:
        return Platform("linux", parts[0])
    if 2 <= len(parts) <= 3 and all(parts):
        return Platform(parts[0], parts[1], parts[2] if len(parts) == 3 else "")
    raise errdefs.InvalidArgument(f'"{text}": unknown operating system or architecture: invalid argument')


def described(data: Any) -> dict[str, Any]:
    """A platform as an index entry or image config states it, in OCI's fields and order:
    architecture and os always, `os.version`, `os.features` and variant only when set."""
    data = data if isinstance(data, dict) else {}
    out: dict[str, Any] = {"architecture": str(data.get("architecture") or ""), "os": str(data.get("os") or "")}
    if data.get("os.version"):
        out["os.version"] = str(data["os.version"])
    if isinstance(data.get("os.features"), list) and data["os.features"]:
        out["os.features"] = [str(feature) for feature in data["os.features"]]
    if data.get("variant"):
        out["variant"] = str(data["variant"])
    return out
