"""Pull from the real registry (Debian's docker-registry on 127.0.0.1) into the real content store."""

import asyncio
import gzip
import io
import json
import tarfile

import aiohttp
import pytest

from tests.fixtures.registry import Registry, push_blob, push_manifest
from wharf import errdefs
from wharf.containerd.distribution.auth import Credentials
from wharf.containerd.distribution.platform import Platform, parse
from wharf.containerd.distribution.pull import Progress, pull
from wharf.containerd.distribution.registry import RegistryClient
from wharf.containerd.plugins.content_local import LocalContentStore
from wharf.oci import image as oci
from wharf.oci.reference import parse_normalized_tagged

AMD64 = Platform("linux", "amd64")


def _pull(registry: Registry, content: LocalContentStore, ref: str, platform: Platform = AMD64,
          events: list[Progress] | None = None):
    async def run():
        async with aiohttp.ClientSession() as session:
            client = RegistryClient(session, registry.address, Credentials())
            return await pull(parse_normalized_tagged(ref), content, client, platform,
                              (events.append if events is not None else lambda _: None))

    return asyncio.run(run())


def _layer_tar(name: str, data: bytes) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        info = tarfile.TarInfo(name)
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def test_pull_stores_verified_manifest_config_and_layers(registry: Registry, content: LocalContentStore) -> None:
    events: list[Progress] = []
    result = _pull(registry, content, f"{registry.address}/library/busybox:latest", events=events)
    assert result.manifest == result.target
    config = json.loads(asyncio.run(content.read(result.config.digest)))
    assert config["architecture"] == "amd64"
    assert len(result.layers) == 1
    layer = result.layers[0]
    assert asyncio.run(content.info(layer.digest)).size == layer.size
    statuses = [event.status for event in events]
    assert statuses[0] == "Pulling fs layer"
    assert "Downloading" in statuses and statuses[-1] == "Download complete"

    again: list[Progress] = []
    _pull(registry, content, f"{registry.address}/library/busybox:latest", events=again)
    assert [event.status for event in again] == ["Pulling fs layer", "Already exists"]


def test_pull_by_digest(registry: Registry, content: LocalContentStore) -> None:
    first = _pull(registry, content, f"{registry.address}/library/busybox:latest")
    by_digest = _pull(registry, content, f"{registry.address}/library/busybox@{first.target.digest}")
    assert by_digest.target.digest == first.target.digest


def test_unknown_tag_and_repository_are_not_found(registry: Registry, content: LocalContentStore) -> None:
    with pytest.raises(errdefs.NotFound):
        _pull(registry, content, f"{registry.address}/library/busybox:nope")
    with pytest.raises(errdefs.NotFound):
        _pull(registry, content, f"{registry.address}/nobody/here:latest")


def test_index_selects_the_platform(registry: Registry, content: LocalContentStore) -> None:
    repository = "multi/arch"
    manifests = []
    for arch in ("arm64", "amd64"):
        layer = _layer_tar(f"{arch}.txt", arch.encode())
        layer_digest = push_blob(registry, repository, gzip.compress(layer, mtime=0))
        config = json.dumps({"architecture": arch, "os": "linux",
                             "rootfs": {"type": "layers", "diff_ids": []}}).encode()
        config_digest = push_blob(registry, repository, config)
        manifest = json.dumps({
            "schemaVersion": 2, "mediaType": oci.MEDIA_TYPE_OCI_MANIFEST,
            "config": {"mediaType": oci.MEDIA_TYPE_OCI_CONFIG, "digest": config_digest, "size": len(config)},
            "layers": [{"mediaType": oci.MEDIA_TYPE_OCI_LAYER_GZIP, "digest": layer_digest,
                        "size": len(gzip.compress(layer, mtime=0))}],
        }).encode()
        digest = push_manifest(registry, repository, f"{arch}-only", manifest, oci.MEDIA_TYPE_OCI_MANIFEST)
        manifests.append({"mediaType": oci.MEDIA_TYPE_OCI_MANIFEST, "digest": digest, "size": len(manifest),
                          "platform": {"os": "linux", "architecture": arch}})
    index = json.dumps({"schemaVersion": 2, "mediaType": oci.MEDIA_TYPE_OCI_INDEX, "manifests": manifests}).encode()
    index_digest = push_manifest(registry, repository, "latest", index, oci.MEDIA_TYPE_OCI_INDEX)

    result = _pull(registry, content, f"{registry.address}/{repository}:latest")
    assert result.target.digest == index_digest
    assert result.manifest.digest == manifests[1]["digest"]
    arm = _pull(registry, content, f"{registry.address}/{repository}:latest", platform=parse("linux/arm64"))
    assert arm.manifest.digest == manifests[0]["digest"]
    with pytest.raises(errdefs.NotFound, match="no matching manifest for linux/s390x"):
        _pull(registry, content, f"{registry.address}/{repository}:latest", platform=parse("linux/s390x"))


def test_unreachable_registry_is_unavailable(content: LocalContentStore) -> None:
    from tests.fixtures.registry import free_port

    class Nowhere:
        address = f"127.0.0.1:{free_port()}"

    with pytest.raises(errdefs.Unavailable):
        _pull(Nowhere(), content, f"{Nowhere.address}/library/busybox:latest")  # type: ignore[arg-type]
