"""The store consistency check (wharf.containerd.fsck) on a real content store, image store and
overlay snapshots; and zstd layers unpacked like gzip ones."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import zstandard

from tests.integration.containerd import layers as L
from tests.integration.containerd.conftest import LocalPlugins, run
from wharf.containerd.core.images import Image
from wharf.containerd.fsck import check_store
from wharf.containerd.plugins.metadata_sqlite import open_db
from wharf.containerd.plugins.metadata_sqlite.images import SqliteImageStore
from wharf.oci import image as oci


def _named_image(local: LocalPlugins, name: str, *layer_tars: bytes) -> str:
    async def scenario() -> str:
        manifest = await L.import_image(local.content, list(layer_tars), compress=True)
        await local.unpacker.unpack(manifest)
        size = (await local.content.info(manifest)).size
        images = SqliteImageStore(open_db(local.root / "wharf.db"))
        await images.update(Image(name, oci.Descriptor(oci.MEDIA_TYPE_OCI_MANIFEST, manifest, size)))
        return manifest

    return run(scenario())


def _blob(local: LocalPlugins, digest: str):  # type: ignore[no-untyped-def]
    return local.root / "content" / "blobs" / "sha256" / digest.removeprefix("sha256:")


def test_a_whole_store_is_consistent(local: LocalPlugins) -> None:
    _named_image(local, "docker.io/library/one:latest", L.tar(L.file("a", b"1")), L.tar(L.file("b", b"2")))
    assert check_store(local.root) == []
    cli = subprocess.run([sys.executable, "-m", "wharf.containerd.fsck", str(local.root)], capture_output=True)
    assert cli.returncode == 0, cli.stdout


def test_missing_and_corrupt_blobs_are_found(local: LocalPlugins) -> None:
    manifest = _named_image(local, "docker.io/library/two:latest", L.tar(L.file("a", b"x" * 1000)))
    layer = json.loads(_blob(local, manifest).read_bytes())["layers"][0]["digest"]
    path = _blob(local, layer)
    os.chmod(path, 0o644)
    path.write_bytes(path.read_bytes() + b"tampered")
    problems = [str(p) for p in check_store(local.root)]
    assert any(f"blob {layer}" in p and "hashes to" in p for p in problems), problems
    path.unlink()
    problems = [str(p) for p in check_store(local.root)]
    assert any(p.startswith("docker.io/library/two:latest") and "missing" in p for p in problems), problems
    (path.parent / "not-a-digest").write_bytes(b"")
    assert any("stray entry" in str(p) for p in check_store(local.root))
    cli = subprocess.run([sys.executable, "-m", "wharf.containerd.fsck", str(local.root)], capture_output=True)
    assert cli.returncode == 1


def test_interrupted_extraction_is_cleaned_up(local: LocalPlugins) -> None:
    async def scenario() -> None:
        await local.snapshots.prepare("extract-0123456789abcdef sha256:" + "0" * 64, "")
        await local.unpacker.remove_interrupted()
        assert [info.name for info in await local.snapshots.list()] == []

    run(scenario())
    assert check_store(local.root) == []


def test_zstd_layers_unpack(local: LocalPlugins) -> None:
    layer = L.tar(L.directory("etc"), L.file("etc/zstd", b"compressed with zstd\n" * 100))

    async def scenario() -> str:
        blob = zstandard.ZstdCompressor().compress(layer)
        digest = await L.put(local.content, blob)
        config = json.dumps({"architecture": "amd64", "os": "linux",
                             "rootfs": {"type": "layers", "diff_ids": [L.sha256(layer)]}}).encode()
        config_digest = await L.put(local.content, config)
        manifest = json.dumps({
            "schemaVersion": 2, "mediaType": oci.MEDIA_TYPE_OCI_MANIFEST,
            "config": {"mediaType": oci.MEDIA_TYPE_OCI_CONFIG, "digest": config_digest, "size": len(config)},
            "layers": [{"mediaType": oci.MEDIA_TYPE_OCI_LAYER_ZSTD, "digest": digest, "size": len(blob)}],
        }).encode()  # fmt: skip
        return await local.unpacker.unpack(await L.put(local.content, manifest))

    chain_id = run(scenario())
    upper, _ = local.snapshots.upper_and_lowers(chain_id)
    assert (upper / "etc" / "zstd").read_bytes() == b"compressed with zstd\n" * 100


def test_corrupt_zstd_layer_is_a_clear_error(local: LocalPlugins) -> None:
    import pytest

    from wharf import errdefs

    layer = L.tar(L.file("x", os.urandom(5000)))
    blob = bytearray(zstandard.ZstdCompressor().compress(layer))
    blob[20:40] = b"\0" * 20

    async def scenario() -> None:
        digest = await L.put(local.content, bytes(blob))
        config = json.dumps({"rootfs": {"type": "layers", "diff_ids": [L.sha256(layer)]}}).encode()
        config_digest = await L.put(local.content, config)
        manifest = json.dumps({
            "schemaVersion": 2, "config": {"mediaType": oci.MEDIA_TYPE_OCI_CONFIG, "digest": config_digest,
                                           "size": len(config)},
            "layers": [{"mediaType": oci.MEDIA_TYPE_OCI_LAYER_ZSTD, "digest": digest, "size": len(blob)}],
        }).encode()  # fmt: skip
        await local.unpacker.unpack(await L.put(local.content, manifest))

    with pytest.raises(errdefs.InvalidArgument):
        run(scenario())
    assert [info for info in run(local.snapshots.list())] == []
