"""ImageUnpacker: a manifest's layers, in order, become committed snapshots named by chain id.

chainID(1) = diffID(1); chainID(n) = sha256(chainID(n-1) + " " + diffID(n)) (OCI image spec, config.md).
A layer whose chain id is already committed is skipped, so unpacking is idempotent and shares layers
between images. A layer is extracted into a fresh active snapshot, its diff id checked against the
config's rootfs.diff_ids, then committed under the chain id: a half-applied layer is never visible."""

from __future__ import annotations

import asyncio
import contextlib
import json
import platform
import secrets
from typing import Any

from wharf import errdefs
from wharf.containerd.core.snapshots import SnapshotKind
from wharf.containerd.plugins.content_local import LocalContentStore
from wharf.containerd.plugins.snapshots_overlay import OverlaySnapshotter
from wharf.containerd.plugins.unpack.apply_layer import apply_layer
from wharf.oci.digest import sha256_of
from wharf.oci.image import INDEX_TYPES, LAYER_TYPES

EXTRACT_PREFIX = "extract-"
"""Key prefix of the active snapshot a layer is extracted into before it is committed."""


def chain_ids(diff_ids: list[str]) -> list[str]:
    out: list[str] = []
    for diff_id in diff_ids:
        out.append(diff_id if not out else sha256_of(f"{out[-1]} {diff_id}".encode()))
    return out


_GOARCH = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "ppc64le": "ppc64le", "s390x": "s390x"}


def _host_platform_manifest(index_digest: str, index: dict[str, Any]) -> str:
    """For an index given instead of a manifest: the entry for this host's platform."""
    arch = _GOARCH.get(platform.machine(), platform.machine())
    for entry in index.get("manifests") or []:
        entry_platform = entry.get("platform") or {}
        if entry_platform.get("os") == "linux" and entry_platform.get("architecture") == arch:
            return str(entry["digest"])
    raise errdefs.NotFound(f"index {index_digest}: no manifest for linux/{arch}")


class SnapshotUnpacker:
    def __init__(self, content: LocalContentStore, snapshots: OverlaySnapshotter) -> None:
        self._content = content
        self._snapshots = snapshots
        self._lock = asyncio.Lock()  # one unpack at a time: two images sharing layers don't race

    async def _read_json(self, digest: str) -> dict[str, Any]:
        try:
            data = json.loads(await self._content.read(digest))
        except ValueError as err:
            raise errdefs.InvalidArgument(f"content {digest}: not JSON: {err}") from err
        if not isinstance(data, dict):
            raise errdefs.InvalidArgument(f"content {digest}: not a JSON object")
        return data

    async def unpack(self, manifest_digest: str) -> str:
        manifest = await self._read_json(manifest_digest)
        if manifest.get("mediaType") in INDEX_TYPES or "manifests" in manifest:
            manifest_digest = _host_platform_manifest(manifest_digest, manifest)
            manifest = await self._read_json(manifest_digest)
        try:
            layers = [(layer["digest"], layer.get("mediaType", "")) for layer in manifest["layers"]]
            config = await self._read_json(manifest["config"]["digest"])
            diff_ids = list(config["rootfs"]["diff_ids"])
        except (KeyError, TypeError) as err:
            raise errdefs.InvalidArgument(f"manifest {manifest_digest}: missing {err}") from err
        if len(layers) != len(diff_ids):
            raise errdefs.InvalidArgument(
                f"manifest {manifest_digest}: {len(layers)} layers but {len(diff_ids)} diff ids in the config"
            )
        for _digest, media_type in layers:
            if media_type and media_type not in LAYER_TYPES:
                raise errdefs.InvalidArgument(f"manifest {manifest_digest}: unsupported layer type {media_type}")
        async with self._lock:
            parent = ""
            for (layer_digest, _media_type), diff_id, chain_id in zip(layers, diff_ids, chain_ids(diff_ids), strict=True):
                await self._apply(layer_digest, diff_id, chain_id, parent)
                parent = chain_id
        if not parent:
            raise errdefs.InvalidArgument(f"manifest {manifest_digest}: no layers")
        return parent

    async def remove_interrupted(self) -> None:
        """Drop the extraction snapshots a killed supervisor left (never committed, so never used)."""
        for info in await self._snapshots.list():
            if info.name.startswith(EXTRACT_PREFIX) and info.kind != SnapshotKind.COMMITTED:
                with contextlib.suppress(errdefs.WharfError):
                    await self._snapshots.remove(info.name)

    async def _apply(self, layer_digest: str, diff_id: str, chain_id: str, parent: str) -> None:
        with contextlib.suppress(errdefs.NotFound):
            await self._snapshots.stat(chain_id)
            self._snapshots.hold(chain_id)  # reused: the unpack's lease keeps it until the image is named
            return
        blob = self._content.blob_path(layer_digest)
        if not blob.exists():
            raise errdefs.NotFound(f"layer {layer_digest}: not in the content store")
        key = f"{EXTRACT_PREFIX}{secrets.token_hex(8)} {chain_id}"
        await self._snapshots.prepare(key, parent)
        try:
            upper, lowers = self._snapshots.upper_and_lowers(key)
            actual = await asyncio.to_thread(apply_layer, blob, upper, lowers)
            if actual != diff_id:
                raise errdefs.InvalidArgument(f"layer {layer_digest}: diff id {actual} does not match {diff_id}")
            await self._snapshots.commit(chain_id, key)
        except BaseException:
            with contextlib.suppress(errdefs.WharfError):
                await self._snapshots.remove(key)
            raise
