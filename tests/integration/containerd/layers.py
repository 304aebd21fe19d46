"""Building layer tars and images for the supervisor's tests (crafted, including hostile ones)."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from collections.abc import AsyncIterator
from typing import Any

from wharf.containerd.core.content import ContentStore
from wharf.oci.image import (
    MEDIA_TYPE_OCI_CONFIG,
    MEDIA_TYPE_OCI_LAYER,
    MEDIA_TYPE_OCI_LAYER_GZIP,
    MEDIA_TYPE_OCI_MANIFEST,
)

MTIME = 1_600_000_000


def _info(name: str, kind: bytes, mode: int, **fields: Any) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.mode = mode
    info.mtime = MTIME
    for key, value in fields.items():
        setattr(info, key, value)
    return info


def file(name: str, data: bytes = b"", mode: int = 0o644, **fields: Any) -> tuple[tarfile.TarInfo, bytes]:
    info = _info(name, tarfile.REGTYPE, mode, **fields)
    info.size = len(data)
    return info, data


def directory(name: str, mode: int = 0o755, **fields: Any) -> tuple[tarfile.TarInfo, bytes]:
    return _info(name, tarfile.DIRTYPE, mode, **fields), b""


def symlink(name: str, target: str) -> tuple[tarfile.TarInfo, bytes]:
    return _info(name, tarfile.SYMTYPE, 0o777, linkname=target), b""


def hardlink(name: str, target: str) -> tuple[tarfile.TarInfo, bytes]:
    return _info(name, tarfile.LNKTYPE, 0o644, linkname=target), b""


def chardev(name: str, major: int, minor: int) -> tuple[tarfile.TarInfo, bytes]:
    return _info(name, tarfile.CHRTYPE, 0o666, devmajor=major, devminor=minor), b""


def fifo(name: str) -> tuple[tarfile.TarInfo, bytes]:
    return _info(name, tarfile.FIFOTYPE, 0o644), b""


def tar(*entries: tuple[tarfile.TarInfo, bytes]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for info, data in entries:
            archive.addfile(info, io.BytesIO(data) if info.isreg() else None)
    return out.getvalue()


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def put(content: ContentStore, data: bytes) -> str:
    return (await content.write(_once(data), expected=sha256(data))).digest


async def import_image(
    content: ContentStore, layer_tars: list[bytes], *, compress: bool = False, diff_ids: list[str] | None = None
) -> str:
    """Write layers, config and manifest to the content store; the manifest's digest."""
    layers = []
    for layer in layer_tars:
        blob = gzip.compress(layer, mtime=0) if compress else layer
        digest = await put(content, blob)
        media_type = MEDIA_TYPE_OCI_LAYER_GZIP if compress else MEDIA_TYPE_OCI_LAYER
        layers.append({"mediaType": media_type, "digest": digest, "size": len(blob)})
    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "config": {"Cmd": ["sh"]},
            "rootfs": {"type": "layers", "diff_ids": diff_ids or [sha256(layer) for layer in layer_tars]},
        }
    ).encode()
    config_digest = await put(content, config)
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": MEDIA_TYPE_OCI_MANIFEST,
            "config": {"mediaType": MEDIA_TYPE_OCI_CONFIG, "digest": config_digest, "size": len(config)},
            "layers": layers,
        }
    ).encode()
    return await put(content, manifest)
