"""The image a build stage is at: config + layers, written to the content store after every step
(each step's result is an image, as in Docker's classic builder; its id is the config's digest)."""

from __future__ import annotations

import copy
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from wharf import errdefs
from wharf.containerd.core.content import ContentStore
from wharf.containerd.core.images import ImageUnpacker
from wharf.daemon.backend.images import host_architecture
from wharf.daemon.backend.timefmt import now_ns, rfc3339nano
from wharf.oci import image as oci
from wharf.oci.digest import sha256_of

DEFAULT_PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


@dataclass
class ImageState:
    config: dict[str, Any]
    """The whole OCI image config (architecture, os, config, rootfs, history…)."""
    layers: list[dict[str, Any]] = field(default_factory=list)
    """The manifest's layer descriptors (JSON)."""
    image_id: str = ""
    manifest_digest: str = ""
    manifest_size: int = 0

    @property
    def run_config(self) -> dict[str, Any]:
        """The `config` section (Docker's container config keys), created on demand."""
        section = self.config.get("config")
        if section is None:
            section = self.config["config"] = {}
        return section  # type: ignore[no-any-return]

    @property
    def short_id(self) -> str:
        return self.image_id.removeprefix("sha256:")[:12]

    def child(self) -> ImageState:
        """A copy to change for the next step."""
        return ImageState(copy.deepcopy(self.config), list(self.layers))

    def env_map(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for entry in self.run_config.get("Env") or []:
            key, _, value = entry.partition("=")
            out[key] = value
        return out

    def set_env(self, key: str, value: str) -> None:
        env = [e for e in self.run_config.get("Env") or [] if e.partition("=")[0] != key]
        env.append(f"{key}={value}")
        self.run_config["Env"] = env

    def add_history(self, created_by: str, empty_layer: bool, comment: str = "") -> None:
        entry: dict[str, Any] = {"created": rfc3339nano(now_ns()), "created_by": created_by}
        if comment:
            entry["comment"] = comment
        if empty_layer:
            entry["empty_layer"] = True
        self.config.setdefault("history", []).append(entry)
        self.config["created"] = entry["created"]

    def add_layer(self, descriptor: oci.Descriptor, diff_id: str) -> None:
        self.layers.append(descriptor.to_json())
        rootfs = self.config.setdefault("rootfs", {"type": "layers", "diff_ids": []})
        rootfs.setdefault("diff_ids", []).append(diff_id)


def scratch() -> ImageState:
    return ImageState(
        {
            "architecture": host_architecture(),
            "os": "linux",
            "config": {"Env": [DEFAULT_PATH_ENV]},
            "rootfs": {"type": "layers", "diff_ids": []},
            "history": [],
        }
    )


async def _one(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def write_blob(content: ContentStore, data: bytes) -> str:
    digest = sha256_of(data)
    try:
        await content.info(digest)
    except errdefs.NotFound:
        await content.write(_one(data), expected=digest)
    return digest


async def save(content: ContentStore, state: ImageState) -> None:
    """Write config and manifest; sets the state's image id and manifest digest."""
    config_bytes = json.dumps(state.config, separators=(",", ":")).encode()
    config_digest = await write_blob(content, config_bytes)
    manifest = {
        "schemaVersion": 2,
        "mediaType": oci.MEDIA_TYPE_OCI_MANIFEST,
        "config": {"mediaType": oci.MEDIA_TYPE_OCI_CONFIG, "digest": config_digest, "size": len(config_bytes)},
        "layers": state.layers,
    }
    manifest_bytes = json.dumps(manifest, separators=(",", ":")).encode()
    state.manifest_digest = await write_blob(content, manifest_bytes)
    state.manifest_size = len(manifest_bytes)
    state.image_id = config_digest


async def load(content: ContentStore, manifest_digest: str) -> ImageState:
    """The state a manifest in the content store describes (NotFound if any piece is gone)."""
    manifest_bytes = await content.read(manifest_digest)
    manifest = json.loads(manifest_bytes)
    config_digest = manifest["config"]["digest"]
    config = json.loads(await content.read(config_digest))
    for layer in manifest.get("layers") or []:
        await content.info(layer["digest"])
    return ImageState(config, list(manifest.get("layers") or []), config_digest, manifest_digest, len(manifest_bytes))


def manifest_descriptor(state: ImageState) -> oci.Descriptor:
    return oci.Descriptor(oci.MEDIA_TYPE_OCI_MANIFEST, state.manifest_digest, state.manifest_size)


async def chain_of(unpacker: ImageUnpacker, state: ImageState) -> str:
    """The committed snapshot of the state's rootfs ("" for no layers), unpacked if needed."""
    if not state.layers:
        return ""
    return await unpacker.unpack(state.manifest_digest)
