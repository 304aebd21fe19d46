"""Push to the real registry; skopeo, a second real client, reads what was pushed."""

import asyncio
import json
import subprocess
from pathlib import Path

import aiohttp

from tests.fixtures.registry import Registry
from tests.integration.distribution.test_pull import _pull
from wharf.containerd.distribution.auth import Credentials
from wharf.containerd.distribution.pull import Progress
from wharf.containerd.distribution.push import push
from wharf.containerd.distribution.registry import RegistryClient
from wharf.containerd.plugins.content_local import LocalContentStore
from wharf.oci import image as oci
from wharf.oci.reference import parse_normalized_tagged


def _push(registry: Registry, content: LocalContentStore, ref: str, manifest: oci.Descriptor,
          events: list[Progress]):
    async def run():
        async with aiohttp.ClientSession() as session:
            client = RegistryClient(session, registry.address, Credentials())
            return await push(parse_normalized_tagged(ref), manifest, content, client, events.append)

    return asyncio.run(run())


def _push_fresh_image(content: LocalContentStore, tmp_path: Path) -> oci.Descriptor:
    from tests.fixtures.oci_layout import write_layout

    manifest_digest = write_layout(tmp_path / "layout", [b"not really a tar, but a blob" * 100], tag="v1")
    blobs = tmp_path / "layout" / "blobs" / "sha256"

    async def chunks(data: bytes):
        yield data

    async def store_all() -> None:
        for blob in blobs.iterdir():
            await content.write(chunks(blob.read_bytes()), expected=f"sha256:{blob.name}")

    asyncio.run(store_all())
    return oci.Descriptor(oci.MEDIA_TYPE_OCI_MANIFEST, manifest_digest, (blobs / manifest_digest[7:]).stat().st_size)


def test_push_uploads_then_skips_existing_layers(registry: Registry, content: LocalContentStore,
                                                  tmp_path: Path) -> None:
    manifest = _push_fresh_image(content, tmp_path)
    events: list[Progress] = []
    result = _push(registry, content, f"{registry.address}/pushed/app:v1", manifest, events)
    assert result.digest == manifest.digest
    assert [e.status for e in events if e.status != "Pushing"] == ["Preparing", "Waiting", "Pushed"]

    inspected = subprocess.run(["skopeo", "inspect", "--tls-verify=false", f"docker://{registry.address}/pushed/app:v1"],
                               check=True, capture_output=True, text=True).stdout
    assert json.loads(inspected)["Digest"] == manifest.digest

    again: list[Progress] = []
    _push(registry, content, f"{registry.address}/pushed/app:v2", manifest, again)
    assert [e.status for e in again] == ["Preparing", "Waiting", "Layer already exists"]


def test_push_mounts_blobs_pulled_from_another_repository(registry: Registry,
                                                          content: LocalContentStore) -> None:
    pulled = _pull(registry, content, f"{registry.address}/library/busybox:latest")
    events: list[Progress] = []
    _push(registry, content, f"{registry.address}/copies/busybox:latest", pulled.manifest, events)
    assert [e.status for e in events] == ["Preparing", "Waiting", "Mounted from library/busybox"]
    subprocess.run(["skopeo", "inspect", "--tls-verify=false", f"docker://{registry.address}/copies/busybox:latest"],
                   check=True, capture_output=True)
