"""Push: upload an image's layers and config (skipping blobs the registry has, mounting blobs that
were pulled from another repository of the same registry), then its manifest under the tag.

The manifest goes last: a registry never shows a tag whose blobs are missing.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass

from wharf import errdefs
from wharf.containerd.core.content import ContentStore
from wharf.containerd.distribution.pull import (
    MAX_CONCURRENT_DOWNLOADS,
    PROGRESS_STEP,
    SOURCE_LABEL_PREFIX,
    Progress,
    ProgressSink,
    short_id,
)
from wharf.containerd.distribution.registry import RegistryClient, raise_for_status
from wharf.oci import image as oci
from wharf.oci.reference import Reference


@dataclass
class PushResult:
    tag: str
    digest: str
    size: int


def _absolute(registry_base: str, location: str) -> str:
    return location if location.startswith("http") else registry_base + location


async def _blob_exists(registry: RegistryClient, repository: str, digest: str, scope: str) -> bool:
    response = await registry.request("HEAD", f"/v2/{repository}/blobs/{digest}", scope)
    async with response:
        if response.status == 404:
            return False
        await raise_for_status(response, repository, digest)
        return True


async def _try_mount(registry: RegistryClient, repository: str, digest: str, source: str, scope: str) -> bool:
    """Ask the registry to link a blob from another of its repositories (no upload needed)."""
    mount_scope = f"{scope} repository:{source}:pull"
    response = await registry.request("POST", f"/v2/{repository}/blobs/uploads/", mount_scope,
                                      params={"mount": digest, "from": source})
    async with response:
        if response.status == 201:
            return True
        if response.status == 202:
            # The registry started an ordinary upload instead; cancel it, we upload ourselves.
            if location := response.headers.get("Location"):
                base = f"{'https' if response.url.scheme == 'https' else 'http'}://{response.url.host}:{response.url.port}"
                cancel = await registry.request("DELETE", _absolute(base, location), scope)
                cancel.release()
            return False
        return False


async def _upload(registry: RegistryClient, repository: str, descriptor: oci.Descriptor, content: ContentStore,
                  scope: str, on_bytes: ProgressSink | None = None) -> None:
    response = await registry.request("POST", f"/v2/{repository}/blobs/uploads/", scope)
    async with response:
        if response.status != 202:
            await raise_for_status(response, repository, descriptor.digest)
            raise errdefs.Unavailable(f"registry refused to start an upload ({response.status})")
        location = response.headers.get("Location")
        base = f"{response.url.scheme}://{response.url.host}:{response.url.port}"
    if not location:
        raise errdefs.Unavailable("registry started an upload without a Location")
    url = _absolute(base, location)
    url += ("&" if "?" in url else "?") + f"digest={descriptor.digest}"
    sent = 0
    reported = 0
    layer_id = short_id(descriptor.digest)

    async def body() -> AsyncIterator[bytes]:
        nonlocal sent, reported
        async for chunk in content.read_chunks(descriptor.digest):
            sent += len(chunk)
            if on_bytes and (sent - reported >= PROGRESS_STEP or sent == descriptor.size):
                reported = sent
                on_bytes(Progress(layer_id, "Pushing", sent, descriptor.size))
            yield chunk

    response = await registry.request(
        "PUT", url, scope, data=body(),
        headers={"Content-Type": "application/octet-stream", "Content-Length": str(descriptor.size)},
    )
    async with response:
        if response.status != 201:
            await raise_for_status(response, repository, descriptor.digest)
            raise errdefs.Unavailable(f"registry did not accept blob {descriptor.digest} ({response.status})")


async def push(reference: Reference, manifest: oci.Descriptor, content: ContentStore, registry: RegistryClient,
               progress: ProgressSink = lambda _: None) -> PushResult:
    """Push the image whose manifest (not index) is `manifest` as `reference` (which carries the tag)."""
    repository = reference.path
    scope = f"repository:{repository}:pull,push"
    tag = reference.tag or "latest"
    manifest_body = await content.read(manifest.digest)
    document = json.loads(manifest_body)
    config = oci.Descriptor.from_json(document["config"])
    layers = [oci.Descriptor.from_json(layer) for layer in document.get("layers") or []]
    source_label = SOURCE_LABEL_PREFIX + registry.domain

    for layer in layers:
        progress(Progress(short_id(layer.digest), "Preparing"))
    limit = asyncio.Semaphore(MAX_CONCURRENT_DOWNLOADS)

    async def push_layer(layer: oci.Descriptor) -> None:
        layer_id = short_id(layer.digest)
        progress(Progress(layer_id, "Waiting"))
        async with limit:
            if await _blob_exists(registry, repository, layer.digest, scope):
                progress(Progress(layer_id, "Layer already exists"))
                return
            info = await content.info(layer.digest)
            sources = [s for s in info.labels.get(source_label, "").split(",") if s and s != repository]
            for source in sources:
                if await _try_mount(registry, repository, layer.digest, source, scope):
                    progress(Progress(layer_id, f"Mounted from {source}"))
                    return
            await _upload(registry, repository, layer, content, scope, progress)
            progress(Progress(layer_id, "Pushed"))

    await asyncio.gather(*(push_layer(layer) for layer in layers))
    if not await _blob_exists(registry, repository, config.digest, scope):
        await _upload(registry, repository, config, content, scope)

    media_type = document.get("mediaType") or manifest.media_type
    response = await registry.request("PUT", f"/v2/{repository}/manifests/{tag}", scope, data=manifest_body,
                                      headers={"Content-Type": media_type})
    async with response:
        if response.status not in (200, 201):
            await raise_for_status(response, repository, tag)
            raise errdefs.Unavailable(f"registry did not accept the manifest ({response.status})")
        claimed = response.headers.get("Docker-Content-Digest")
    if claimed and claimed != manifest.digest:
        raise errdefs.System(f"registry stored the manifest as {claimed}, expected {manifest.digest}")
    return PushResult(tag, manifest.digest, len(manifest_body))

