"""Pull: resolve a reference in a registry and fetch the manifest, config and layers into the
content store, verifying every digest. Unpacking the layers is the unpacker's job, afterwards.

Nothing half-pulled is visible: the caller binds the image name only after everything is stored,
and the content store publishes each blob only once it is complete and verified.

What a pull stores is kept from garbage collection by a lease (core/leases.py): the caller's, when
the call runs under one (wharfd holds one from the pull until the image is named); else a lease of
the pull's own that expires after `PULL_LEASE_EXPIRY` seconds, time for the caller to unpack and name
the image. A layer already present joins the lease too, so an interrupted pull's blobs are reused.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from wharf import errdefs
from wharf.containerd.core.content import ContentStore
from wharf.containerd.core.leases import (
    CONTENT,
    LeaseManager,
    LeaseResource,
    current_lease,
    expiry_label,
    using_lease,
)
from wharf.containerd.distribution.manifests import descriptor_of, fetch_config, fetch_manifest
from wharf.containerd.distribution.platform import Platform
from wharf.containerd.distribution.registry import RegistryClient
from wharf.oci import image as oci
from wharf.oci.reference import Reference

MAX_CONCURRENT_DOWNLOADS = 3
PROGRESS_STEP = 512 * 1024
SOURCE_LABEL_PREFIX = "containerd.io/distribution.source."
"""Label on a blob naming the repository it came from, for cross-repository mounts on push."""
PULL_LEASE_EXPIRY = 900.0


@dataclass
class Progress:
    """One line of progress, in Docker's vocabulary (`Pulling fs layer`, `Downloading`, …)."""

    id: str
    status: str
    current: int = 0
    total: int = 0


@dataclass
class PullResult:
    target: oci.Descriptor
    """What the tag (or digest) resolved to in the registry: a manifest, or an index."""
    manifest: oci.Descriptor
    """The image manifest for the chosen platform."""
    config: oci.Descriptor
    layers: list[oci.Descriptor] = field(default_factory=list)


ProgressSink = Callable[[Progress], None]


def short_id(digest: str) -> str:
    return digest.partition(":")[2][:12]


async def _store(content: ContentStore, body: bytes, digest: str) -> None:
    async def one() -> AsyncIterator[bytes]:
        yield body

    await content.write(one(), expected=digest)


def select_manifest(index: dict[str, Any], platform: Platform) -> oci.Descriptor:
    for entry in index.get("manifests") or []:
        if isinstance(entry, dict) and platform.matches(entry.get("platform") or {}):
            return descriptor_of(entry, "manifest list entry")
    raise errdefs.NotFound(f"no matching manifest for {platform} in the manifest list entries")


async def pull(reference: Reference, content: ContentStore, registry: RegistryClient, platform: Platform,
               progress: ProgressSink = lambda _: None, strict_platform: bool = False,
               leases: LeaseManager | None = None) -> PullResult:
    """With `strict_platform` (a platform the user asked for), a single-platform image of another
    platform is refused, as Docker does, before its layers are fetched. With `leases` and no lease
    of the caller's, the pull takes one of its own (see the module's doc)."""
    if leases is not None and not current_lease.get():
        lease = await leases.create("", {**expiry_label(PULL_LEASE_EXPIRY), "io.wharf.lease.purpose": "pull"})
        with using_lease(lease.id):
            return await _pull(reference, content, registry, platform, progress, strict_platform, leases)
    return await _pull(reference, content, registry, platform, progress, strict_platform, leases)


async def _pull(reference: Reference, content: ContentStore, registry: RegistryClient, platform: Platform,
                progress: ProgressSink, strict_platform: bool, leases: LeaseManager | None) -> PullResult:
    repository = reference.path
    wanted = reference.digest or reference.tag or "latest"
    top = await fetch_manifest(registry, repository, wanted, reference.digest)
    target = top.descriptor
    await _store(content, top.body, target.digest)

    if top.is_index:
        manifest_descriptor = select_manifest(top.document, platform)
        chosen = await fetch_manifest(registry, repository, manifest_descriptor.digest, manifest_descriptor.digest)
        document = chosen.document
        await _store(content, chosen.body, manifest_descriptor.digest)
    else:
        manifest_descriptor = target
        document = top.document
    if int(document.get("schemaVersion", 0)) != 2 or "config" not in document:
        raise errdefs.InvalidArgument(f"unsupported manifest format for {reference.familiar()}")

    config = descriptor_of(document["config"], "config")
    layers = [descriptor_of(layer, "layer") for layer in document.get("layers") or []]
    for layer in layers:
        if layer.media_type not in oci.LAYER_TYPES:
            raise errdefs.InvalidArgument(f"unsupported layer media type {layer.media_type}")

    config_body, config_document = await fetch_config(registry, repository, config)
    if strict_platform and manifest_descriptor is target:
        actual = {"os": config_document.get("os"), "architecture": config_document.get("architecture"),
                  "variant": config_document.get("variant", "")}
        if not platform.matches(actual):
            found = "/".join(str(v) for v in actual.values() if v)
            raise errdefs.NotFound(f"image with reference {reference.familiar()} was found but does not match "
                                   f"the specified platform: wanted {platform}, actual: {found}")
    await _store(content, config_body, config.digest)

    limit = asyncio.Semaphore(MAX_CONCURRENT_DOWNLOADS)
    for layer in layers:
        progress(Progress(short_id(layer.digest), "Pulling fs layer"))
    await asyncio.gather(
        *(_fetch_layer(layer, content, registry, repository, limit, progress, leases) for layer in layers)
    )
    return PullResult(target, manifest_descriptor, config, layers)


async def _fetch_layer(layer: oci.Descriptor, content: ContentStore, registry: RegistryClient, repository: str,
                       limit: asyncio.Semaphore, progress: ProgressSink, leases: LeaseManager | None) -> None:
    layer_id = short_id(layer.digest)
    try:
        await content.info(layer.digest)
        if leases is not None and current_lease.get():
            await leases.add_resource(current_lease.get(), LeaseResource(CONTENT, layer.digest))
        progress(Progress(layer_id, "Already exists"))
        return
    except errdefs.NotFound:
        pass
    async with limit:
        received = 0
        reported = 0

        async def counted() -> AsyncIterator[bytes]:
            nonlocal received, reported
            async for chunk in registry.blob_chunks(repository, layer.digest):
                received += len(chunk)
                if received > layer.size:
                    raise errdefs.InvalidArgument(f"layer {layer.digest} is larger than its descriptor says")
                if received - reported >= PROGRESS_STEP or received == layer.size:
                    reported = received
                    progress(Progress(layer_id, "Downloading", received, layer.size))
                yield chunk

        labels = {SOURCE_LABEL_PREFIX + registry.domain: repository}
        await content.write(counted(), expected=layer.digest, labels=labels)
        progress(Progress(layer_id, "Verifying Checksum"))
        progress(Progress(layer_id, "Download complete"))
