"""Reading image archives (docker load input) without storing anything: the three formats, and
hostile archives refused with clear errors."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile

import pytest

from wharf import errdefs
from wharf.daemon.backend.image_archive_reader import plan_archive
from wharf.oci import image as oci


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _tar(entries: list[tuple[str, bytes | str]]) -> tarfile.TarFile:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        for name, data in entries:
            info = tarfile.TarInfo(name)
            if isinstance(data, str):
                info.type, info.linkname = tarfile.SYMTYPE, data
                tar.addfile(info)
            else:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    out.seek(0)
    return tarfile.open(fileobj=out, mode="r:")


def _layer(text: bytes) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        info = tarfile.TarInfo("file.txt")
        info.size = len(text)
        tar.addfile(info, io.BytesIO(text))
    return out.getvalue()


def _config(*layers: bytes) -> bytes:
    return json.dumps({"os": "linux", "architecture": "amd64",
                       "rootfs": {"type": "layers", "diff_ids": [_digest(layer) for layer in layers]}}).encode()


def test_docker25_archive() -> None:
    layer = _layer(b"one")
    config = _config(layer)
    manifest = [{"Config": f"blobs/sha256/{_digest(config)[7:]}", "RepoTags": ["busybox:latest", "x/y:1"],
                 "Layers": [f"blobs/sha256/{_digest(layer)[7:]}"]}]
    plan = plan_archive(_tar([
        (f"blobs/sha256/{_digest(config)[7:]}", config), (f"blobs/sha256/{_digest(layer)[7:]}", layer),
        ("manifest.json", json.dumps(manifest).encode()), ("oci-layout", b'{"imageLayoutVersion":"1.0.0"}'),
    ]))  # fmt: skip
    (image,) = plan.images
    assert image.names == ["docker.io/library/busybox:latest", "docker.io/x/y:1"]
    assert image.config_digest == _digest(config)
    assert image.layers == [oci.Descriptor(oci.MEDIA_TYPE_OCI_LAYER, _digest(layer), len(layer))]
    assert list(plan.blobs) == [_digest(layer)]


def test_legacy_archive_with_gzip_layer_and_symlinked_duplicate() -> None:
    first, second = _layer(b"one"), _layer(b"two")
    config = _config(first, second, first)
    zipped = gzip.compress(first)
    manifest = [{"Config": f"{_digest(config)[7:]}.json", "RepoTags": None,
                 "Layers": ["aaa/layer.tar", "bbb/layer.tar", "ccc/layer.tar"]}]
    plan = plan_archive(_tar([
        (f"{_digest(config)[7:]}.json", config), ("aaa/layer.tar", zipped), ("bbb/layer.tar", second),
        ("ccc/layer.tar", "../aaa/layer.tar"), ("manifest.json", json.dumps(manifest).encode()),
    ]))  # fmt: skip
    (image,) = plan.images
    assert image.names == []
    assert [layer.media_type for layer in image.layers] == [
        oci.MEDIA_TYPE_OCI_LAYER_GZIP, oci.MEDIA_TYPE_OCI_LAYER, oci.MEDIA_TYPE_OCI_LAYER_GZIP]
    assert image.layers[0].digest == _digest(zipped)


def test_plain_oci_layout_keeps_its_manifest() -> None:
    layer = _layer(b"oci")
    config = _config(layer)
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": oci.MEDIA_TYPE_OCI_MANIFEST,
        "config": {"mediaType": oci.MEDIA_TYPE_OCI_CONFIG, "digest": _digest(config), "size": len(config)},
        "layers": [{"mediaType": oci.MEDIA_TYPE_OCI_LAYER, "digest": _digest(layer), "size": len(layer)}],
    }).encode()  # fmt: skip
    index = {"schemaVersion": 2, "manifests": [{
        "mediaType": oci.MEDIA_TYPE_OCI_MANIFEST, "digest": _digest(manifest), "size": len(manifest),
        "annotations": {"io.containerd.image.name": "docker.io/library/oci:1"}}]}
    plan = plan_archive(_tar([
        ("oci-layout", b"{}"), ("index.json", json.dumps(index).encode()),
        *((f"blobs/sha256/{_digest(blob)[7:]}", blob) for blob in (layer, config, manifest)),
    ]))  # fmt: skip
    (image,) = plan.images
    assert image.manifest == manifest and image.names == ["docker.io/library/oci:1"]


@pytest.mark.parametrize(("entries", "words"), [
    ([("../evil", b"x"), ("manifest.json", b"[]")], "leaves the archive"),
    ([("/etc/evil", b"x"), ("manifest.json", b"[]")], "absolute path"),
    ([("real.json", b"[]"), ("manifest.json", "real.json")], "not a regular file"),
    ([("manifest.json", b"[" + b" " * (9 << 20) + b"]")], "too large"),
    ([("manifest.json", b"[{")], "not valid JSON"),
    ([("manifest.json", b"[]")], "not a list of images"),
    ([("nothing", b"")], "no manifest.json or index.json"),
    ([("manifest.json", b'[{"Config": "missing.json", "Layers": []}]')], "is missing"),
])
def test_hostile_archives(entries: list[tuple[str, bytes | str]], words: str) -> None:
    with pytest.raises(errdefs.InvalidArgument, match=words):
        plan_archive(_tar(entries))


def test_digest_and_diff_id_mismatches() -> None:
    layer = _layer(b"one")
    config = _config(layer)
    config_name = f"blobs/sha256/{_digest(config)[7:]}"
    wrong_name = f"blobs/sha256/{'0' * 64}"
    manifest = json.dumps([{"Config": config_name, "Layers": [wrong_name]}]).encode()
    with pytest.raises(errdefs.InvalidArgument, match="digest"):
        plan_archive(_tar([(config_name, config), (wrong_name, layer), ("manifest.json", manifest)]))
    other = _layer(b"two")
    manifest = json.dumps([{"Config": config_name, "Layers": ["l/layer.tar"]}]).encode()
    with pytest.raises(errdefs.InvalidArgument, match="diff id"):
        plan_archive(_tar([(config_name, config), ("l/layer.tar", other), ("manifest.json", manifest)]))
    bad_config_name = f"blobs/sha256/{'1' * 64}"
    manifest = json.dumps([{"Config": bad_config_name, "Layers": ["l/layer.tar"]}]).encode()
    with pytest.raises(errdefs.InvalidArgument, match="digest"):
        plan_archive(_tar([(bad_config_name, config), ("l/layer.tar", layer), ("manifest.json", manifest)]))
