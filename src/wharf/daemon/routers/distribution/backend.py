"""What the distribution router needs (implemented by backend.distribution.DistributionService)."""

from __future__ import annotations

from typing import Any, Protocol

from wharf.containerd.core.distribution import RegistryAuth
from wharf.oci.reference import Reference


class DistributionInspectBackend(Protocol):
    async def inspect(self, ref: Reference, auth: RegistryAuth) -> dict[str, Any]:
        """Docker's DistributionInspect for `ref`: `{"Descriptor": {...}, "Platforms": [...]}`."""
        ...
