"""Diff: the changes of an active snapshot as an image layer (the reverse of the unpacker).

`diff(key)` walks the snapshot's own layer dir (overlayfs's upper dir) and writes it as a tar with
OCI whiteouts (`.wh.name` for a deleted `name`, `.wh..wh..opq` in a directory whose lower contents
are hidden) to the content store. With `commit`, the snapshot itself is then committed under the
layer's chain id (`chainID = sha256(parentChainID + " " + diffID)`, the parent being the snapshot's
parent name, itself a chain id), so later steps build on it without extracting the layer again.
The snapshot must not be mounted (its task deleted) while it is diffed and committed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from wharf.oci.image import Descriptor


@dataclass
class DiffResult:
    layer: Descriptor
    """The blob written: media type (plain or gzip OCI layer), digest, size."""
    diff_id: str
    """sha256 of the uncompressed tar (what an image config lists in rootfs.diff_ids)."""
    chain_id: str
    """The committed snapshot's name; "" when `commit` was not asked."""


class Differ(Protocol):
    async def diff(self, key: str, compress: bool = False, commit: bool = False) -> DiffResult:
        """NotFound for an unknown key, FailedPrecondition unless it is an active snapshot. With
        `commit`, the snapshot is renamed to the chain id; if that name is already committed (an
        identical layer over the same parent), the active snapshot is left as it was."""
