"""Resolve: what a reference names in a registry, and for which platforms, without pulling it.

The platforms are those Docker's `GET /distribution/{name}/json` reports: an index's or manifest
list's entries'; for a Docker (schema 2) image manifest the one its config states, none when the
config names neither os nor architecture. For an OCI image manifest moby reports none (its switch
knows only the Docker manifest type), and so does Wharf: clients see the same answer from both.
"""

from __future__ import annotations

from wharf import errdefs
from wharf.containerd.core.distribution import Resolved
from wharf.containerd.distribution import platform
from wharf.containerd.distribution.manifests import descriptor_of, fetch_config, fetch_manifest
from wharf.containerd.distribution.registry import RegistryClient
from wharf.oci import image as oci
from wharf.oci.reference import Reference


async def resolve(reference: Reference, registry: RegistryClient) -> Resolved:
    repository = reference.path
    wanted = reference.digest or reference.tag or "latest"
    manifest = await fetch_manifest(registry, repository, wanted, reference.digest)
    target = manifest.descriptor
    if manifest.is_index:
        entries = [entry for entry in manifest.document.get("manifests") or [] if isinstance(entry, dict)]
        return Resolved(target, [platform.described(entry.get("platform")) for entry in entries])
    if target.media_type != oci.MEDIA_TYPE_DOCKER_MANIFEST or "config" not in manifest.document:
        return Resolved(target, [])
    try:
        _, config = await fetch_config(registry, repository, descriptor_of(manifest.document["config"], "config"))
    except errdefs.WharfError:
        return Resolved(target, [])  # as moby: a config it cannot read only costs the platform
    stated = platform.described(config)
    return Resolved(target, [stated] if stated["os"] or stated["architecture"] else [])
