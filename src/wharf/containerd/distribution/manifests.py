"""Manifests, indexes and image configs read from a registry, each checked against its digest.

Pull and resolve share these steps: what a tag or digest names, whether that is an index, and the
image config a manifest points to.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from wharf import errdefs
from wharf.containerd.distribution.registry import RegistryClient
from wharf.oci import image as oci


@dataclass
class FetchedManifest:
    descriptor: oci.Descriptor
    """Media type (the document's own, else the registry's header), digest and size of `body`."""
    document: dict[str, Any]
    body: bytes

    @property
    def is_index(self) -> bool:
        """An OCI index or Docker manifest list (also when only its shape says so)."""
        media_type = self.descriptor.media_type
        return media_type in oci.INDEX_TYPES or ("manifests" in self.document and "layers" not in self.document)


def verified(body: bytes, expected: str | None, what: str) -> str:
    actual = "sha256:" + hashlib.sha256(body).hexdigest()
    if expected and expected != actual:
        raise errdefs.InvalidArgument(f"digest mismatch for {what}: expected {expected}, got {actual}")
    return actual


def parse_json(body: bytes, what: str) -> dict[str, Any]:
    try:
        document = json.loads(body)
    except ValueError as err:
        raise errdefs.InvalidArgument(f"malformed {what}: {err}") from err
    if not isinstance(document, dict):
        raise errdefs.InvalidArgument(f"malformed {what}: not a JSON object")
    return document


def descriptor_of(data: Any, what: str) -> oci.Descriptor:
    try:
        descriptor = oci.Descriptor.from_json(data)
        if not descriptor.digest.startswith("sha256:") or len(descriptor.digest) != 71 or descriptor.size < 0:
            raise ValueError(f"bad digest or size {descriptor.digest!r}")
        int(descriptor.digest[7:], 16)
        return descriptor
    except (KeyError, TypeError, ValueError) as err:
        raise errdefs.InvalidArgument(f"malformed {what} descriptor: {err}") from err


async def fetch_manifest(registry: RegistryClient, repository: str, wanted: str,
                         expected_digest: str | None = None) -> FetchedManifest:
    """The manifest or index `wanted` (a tag or digest) names. Its digest is checked against
    `expected_digest`, else against the one the registry claims."""
    header_type, claimed, body = await registry.get_manifest(repository, wanted)
    digest = verified(body, expected_digest or claimed, f"manifest {wanted}")
    document = parse_json(body, "manifest")
    media_type = str(document.get("mediaType") or header_type or "")
    return FetchedManifest(oci.Descriptor(media_type, digest, len(body)), document, body)


async def fetch_config(registry: RegistryClient, repository: str, config: oci.Descriptor) -> tuple[bytes, dict[str, Any]]:
    """The image config blob, verified, and its JSON."""
    body = b"".join([chunk async for chunk in registry.blob_chunks(repository, config.digest)])
    verified(body, config.digest, "image config")
    return body, parse_json(body, "image config")
