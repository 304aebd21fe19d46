"""The image service: images as the Engine API sees them, over the supervisor's image and content
stores. An image's id is the digest of its config; names (tags) point at its manifest."""

from __future__ import annotations

import functools
import json
import platform
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from wharf import errdefs
from wharf.containerd.core.images import Image
from wharf.containerd.proxy.leases import leased
from wharf.daemon.backend.events import EventBus
from wharf.daemon.backend.image_changes import apply_changes
from wharf.daemon.backend.layers import decompressed
from wharf.daemon.backend.supervisor import Supervisor
from wharf.daemon.backend.timefmt import now_ns, parse_rfc3339, rfc3339nano
from wharf.oci import image as oci
from wharf.oci import reference
from wharf.oci.digest import sha256_of

DANGLING_PREFIX = "wharf-dangling@"
"""Store name of an image without a tag (kept so the store holds it, hidden from RepoTags)."""
REPO_DIGEST_LABEL = "io.wharf.image.repo-digest"
PARENT_LABEL = "io.wharf.image.parent"
"""The image a commit was made on (Docker's local `Parent`; not part of the image's config)."""
"""On a name's record: the digest the registry knows it by (set by pull and push: Docker shows
RepoDigests only for names that came from or went to a registry)."""


def chain_ids(diff_ids: list[str]) -> list[str]:
    """The image spec's chain ids: the snapshot names of an image's layers, bottom first."""
    out: list[str] = []
    for diff_id in diff_ids:
        out.append(diff_id if not out else sha256_of(f"{out[-1]} {diff_id}".encode()))
    return out


@dataclass
class LocalImage:
    id: str
    """`sha256:` digest of the config."""
    manifest: oci.Descriptor
    config: dict[str, Any]
    layers: list[oci.Descriptor]
    names: list[str] = field(default_factory=list)
    """Full store names that point at it (`docker.io/library/busybox:latest`)."""
    target_digest: str = ""
    """What the name points at: the manifest, or the index a pull resolved (the RepoDigest)."""
    target: oci.Descriptor | None = None
    """The whole descriptor `target_digest` is the digest of (media type and size too)."""
    registry_digests: dict[str, str] = field(default_factory=dict)
    """Store name → digest in its registry, for names pulled or pushed."""
    last_tag_time: int = 0
    """Unix ns of the last time a name was bound to it (0: never tagged locally)."""
    parent: str = ""
    """The image it was committed on, when it was made here."""
    created: int = 0
    """Unix ns of the config's `created`."""

    def absorb_record(self, record: Image) -> None:
        """Take what a store record (one name) says about the image."""
        if record.labels.get(REPO_DIGEST_LABEL):
            self.registry_digests[record.name] = record.labels[REPO_DIGEST_LABEL]
        if record.labels.get(PARENT_LABEL):
            self.parent = record.labels[PARENT_LABEL]
        if not record.name.startswith(DANGLING_PREFIX):
            self.last_tag_time = max(self.last_tag_time, record.updated_at or record.created_at)

    @property
    def short_id(self) -> str:
        return self.id.split(":", 1)[1][:12]

    @property
    def size(self) -> int:
        return sum(layer.size for layer in self.layers)

    @property
    def references(self) -> list[reference.Reference]:
        refs = []
        for name in self.names:
            if name.startswith(DANGLING_PREFIX):
                continue
            try:
                refs.append(_parsed_name(name))
            except reference.InvalidReference:
                continue
        return refs

    @property
    def repo_tags(self) -> list[str]:
        return [ref.familiar() for ref in self.references if ref.tag]

    @property
    def repo_digests(self) -> list[str]:
        digests = set()
        for name, digest in self.registry_digests.items():
            try:
                digests.add(f"{_parsed_name(name).familiar_name}@{digest}")
            except reference.InvalidReference:
                continue
        return sorted(digests)

    @property
    def diff_ids(self) -> list[str]:
        return list((self.config.get("rootfs") or {}).get("diff_ids") or [])

    @property
    def labels(self) -> dict[str, str]:
        return (self.config.get("config") or {}).get("Labels") or {}


@functools.lru_cache(maxsize=4096)
def _parsed_name(name: str) -> reference.Reference:
    """A store name parsed (References are immutable; every listing shows every name)."""
    return reference.parse(name)


@dataclass(frozen=True)
class _TargetContent:
    """What an image record's target determines. Content is addressed by digest, so this never goes
    stale: listings reuse it instead of rebuilding every image from its blobs."""

    manifest: oci.Descriptor
    config_digest: str
    config: dict[str, Any]
    layers: list[oci.Descriptor]
    created: int


def parse_reference(ref: str) -> reference.Reference:
    try:
        return reference.parse_normalized_tagged(ref)
    except reference.InvalidReference as err:
        raise errdefs.InvalidArgument(str(err)) from None


def familiar_tagged(ref: str) -> str:
    """`busybox` → `busybox:latest` (how Docker names a missing image)."""
    try:
        return reference.parse_normalized_tagged(ref).familiar()
    except reference.InvalidReference:
        return ref


class ImageService:
    def __init__(self, supervisor: Supervisor, events: EventBus) -> None:
        self._supervisor = supervisor
        self._events = events
        self._blob_cache: dict[str, dict[str, Any]] = {}
        self._snapshot_sizes: dict[str, int] = {}
        self._target_contents: dict[tuple[str, str], _TargetContent] = {}
        """By the (media type, digest) of the targets the store named at the last listing."""
        self.image_users: Callable[[str], Awaitable[list[str]]] | None = None
        """Ids of the containers using an image (set by the daemon once containers exist)."""
        self.running_image_users: Callable[[str], Awaitable[list[str]]] | None = None
        """Of those, the running ones: they block deleting the image by its ID, forced or not."""
        self.image_use_counts: Callable[[], dict[str, int]] | None = None
        """Image id → how many containers (running or not) were made from it (set likewise)."""

    def publish(self, action: str, image_id: str, name: str) -> None:
        self._events.publish("image", action, image_id, {"name": name})

    async def _json_blob(self, digest: str) -> dict[str, Any]:
        cached = self._blob_cache.get(digest)
        if cached is None:
            cached = json.loads(await self._supervisor.content.read(digest))
            self._blob_cache[digest] = cached
        return cached

    async def _manifest_of(self, target: oci.Descriptor) -> oci.Descriptor:
        """The linux/amd64 (or only) manifest of a target that may be an index."""
        if target.media_type not in oci.INDEX_TYPES:
            return target
        index = await self._json_blob(target.digest)
        candidates = [oci.Descriptor.from_json(m) for m in index.get("manifests", [])]
        arch = host_architecture()
        for candidate in candidates:
            plat = candidate.platform or {}
            if plat.get("os") == "linux" and plat.get("architecture") == arch:
                return candidate
        if candidates:
            return candidates[0]
        raise errdefs.NotFound(f"no manifest in index {target.digest}")

    async def _read_target(self, target: oci.Descriptor) -> _TargetContent:
        manifest_descriptor = await self._manifest_of(target)
        manifest = await self._json_blob(manifest_descriptor.digest)
        config_descriptor = oci.Descriptor.from_json(manifest["config"])
        config = await self._json_blob(config_descriptor.digest)
        layers = [oci.Descriptor.from_json(layer) for layer in manifest.get("layers", [])]
        created = parse_rfc3339(config.get("created", ""))
        return _TargetContent(manifest_descriptor, config_descriptor.digest, config, layers, created)

    async def list(self) -> list[LocalImage]:
        by_id: dict[str, LocalImage] = {}
        named: dict[tuple[str, str], _TargetContent] = {}
        for image in await self._supervisor.images.list():
            key = (image.target.media_type, image.target.digest)
            content = named.get(key) or self._target_contents.get(key)
            if content is None:
                try:
                    content = await self._read_target(image.target)
                except errdefs.NotFound:
                    continue  # content missing: not a usable image
            named[key] = content
            local = LocalImage(content.config_digest, content.manifest, content.config, list(content.layers),
                               [image.name], image.target.digest, target=image.target, created=content.created)
            local.absorb_record(image)
            known = by_id.get(local.id)
            if known is None:
                by_id[local.id] = local
            else:
                known.names.append(image.name)
                known.absorb_record(image)
        self._target_contents = named  # what the store no longer names is forgotten
        return sorted(by_id.values(), key=lambda img: img.created, reverse=True)

    async def resolve(self, ref: str) -> LocalImage:
        """By name (tag or digest), by id (`sha256:…`, full hex) or by unique id prefix."""
        if not ref:
            raise errdefs.InvalidArgument("invalid reference format")
        images = await self.list()
        candidate_id = ref if ref.startswith("sha256:") else None
        if candidate_id is None and len(ref) == 64 and all(c in "0123456789abcdef" for c in ref):
            candidate_id = "sha256:" + ref
        if candidate_id is not None:
            for image in images:
                if image.id == candidate_id:
                    return image
            if ref.startswith("sha256:") and len(ref) == 71:
                raise errdefs.NotFound(f"No such image: {ref}")
        try:
            parsed = reference.parse_normalized_tagged(ref)
        except reference.InvalidReference:
            parsed = None
        if parsed is not None:
            wanted = str(parsed)
            for image in images:
                if wanted in image.names:
                    return image
            if parsed.digest:
                for image in images:
                    if image.manifest.digest == parsed.digest and any(
                        n.startswith(parsed.name + ":") or n.startswith(parsed.name + "@") for n in image.names
                    ):
                        return image
        short = ref.removeprefix("sha256:")
        if short and all(c in "0123456789abcdef" for c in short):
            matches = [image for image in images if image.id.removeprefix("sha256:").startswith(short)]
            if len(matches) == 1:
                return matches[0]
        if parsed is None:
            raise errdefs.InvalidArgument("invalid reference format")
        raise errdefs.NotFound(f"No such image: {familiar_tagged(ref) if not parsed.digest else ref}")

    async def chain_id(self, image: LocalImage) -> str:
        """Unpack (idempotent) and return the top snapshot's name, the rootfs's parent."""
        return await self._supervisor.unpacker.unpack(image.manifest.digest)

    async def import_tar(
        self,
        body: AsyncIterator[bytes],
        repo: str,
        tag: str,
        changes: list[str],
        message: str,
        platform_text: str,
    ) -> LocalImage:
        """`docker import`: the body is a rootfs tar (maybe compressed): one layer, one image."""
        target_ref = None
        if repo:
            target_ref = parse_reference(repo)
            if tag:
                if not reference.valid_tag(tag):
                    raise errdefs.InvalidArgument(f"invalid tag format: {tag}")
                target_ref = target_ref.with_tag(tag)
        # Under a lease: the blobs and snapshots are garbage until the image record names them.
        async with leased(self._supervisor, purpose="import"):
            layer_info = await self._supervisor.content.write(decompressed(body))
            os_name, arch = "linux", host_architecture()
            if platform_text:
                parts = platform_text.split("/")
                os_name = parts[0] or os_name
                if len(parts) > 1 and parts[1]:
                    arch = parts[1]
            created = rfc3339nano(now_ns())
            config = {
                "architecture": arch,
                "os": os_name,
                "created": created,
                "config": apply_changes({}, changes),
                "rootfs": {"type": "layers", "diff_ids": [layer_info.digest]},
                "history": [{"created": created, "comment": message or "Imported from -"}],
            }
            config_bytes = json.dumps(config, separators=(",", ":")).encode()
            config_info = await self._write_blob(config_bytes)
            manifest = {
                "schemaVersion": 2,
                "mediaType": oci.MEDIA_TYPE_OCI_MANIFEST,
                "config": {"mediaType": oci.MEDIA_TYPE_OCI_CONFIG, "digest": config_info, "size": len(config_bytes)},
                "layers": [
                    {"mediaType": oci.MEDIA_TYPE_OCI_LAYER, "digest": layer_info.digest, "size": layer_info.size}
                ],
            }
            manifest_bytes = json.dumps(manifest, separators=(",", ":")).encode()
            manifest_digest = await self._write_blob(manifest_bytes)
            target = oci.Descriptor(oci.MEDIA_TYPE_OCI_MANIFEST, manifest_digest, len(manifest_bytes))
            await self._supervisor.unpacker.unpack(manifest_digest)  # as Docker: a bad tar fails the import
            name = str(target_ref) if target_ref else DANGLING_PREFIX + config_info
            await self._supervisor.images.update(Image(name=name, target=target))
        self._events.publish("image", "import", config_info, {"name": target_ref.familiar() if target_ref else ""})
        return await self.resolve(config_info)

    async def _write_blob(self, data: bytes) -> str:
        digest = sha256_of(data)

        async def one_chunk() -> AsyncIterator[bytes]:
            yield data

        await self._supervisor.content.write(one_chunk(), expected=digest)
        return digest

    async def tag(self, source: str, repo: str, tag: str) -> None:
        image = await self.resolve(source)
        if not repo:
            raise errdefs.InvalidArgument("repository name must have at least one component")
        target = parse_reference(repo)
        if tag:
            if not reference.valid_tag(tag):
                raise errdefs.InvalidArgument(f"invalid tag format: {tag}")
            target = target.with_tag(tag)
        if target.digest:
            raise errdefs.InvalidArgument("refusing to create a tag with a digest reference")
        image_record = await self._store_record(image)
        kept = {PARENT_LABEL: image.parent} if image.parent else {}
        await self._supervisor.images.update(Image(name=str(target), target=image_record.target, labels=kept))
        for name in image.names:
            if name.startswith(DANGLING_PREFIX):
                await self._supervisor.images.delete(name)
        self._events.publish("image", "tag", image.id, {"name": target.familiar()})

    async def _store_record(self, image: LocalImage) -> Image:
        return await self._supervisor.images.get(image.names[0])

    async def delete(self, ref: str, force: bool) -> list[dict[str, str]]:
        """Untag `ref`, deleting the image once no name is left. Containers using the image
        (`image_users`) block deleting it unless forced."""
        report, _freed = await self.delete_reclaiming(ref, force)
        return report

    async def delete_reclaiming(self, ref: str, force: bool) -> tuple[list[dict[str, str]], int]:
        """`delete`, and the bytes it freed on disk (blobs and layer snapshots)."""
        image = await self.resolve(ref)
        by_name = self._name_matching(image, ref)
        report: list[dict[str, str]] = []
        in_use = await self.image_users(image.id) if self.image_users else []
        if by_name is not None:
            remaining = [n for n in image.names if n != by_name and not n.startswith(DANGLING_PREFIX)]
            if not remaining and in_use and not force:
                raise errdefs.Conflict(
                    f'conflict: unable to remove repository reference "{ref}" (must force) - container '
                    f"{in_use[0][:12]} is using its referenced image {image.short_id}"
                )
            await self._supervisor.images.delete(by_name)
            report.append({"Untagged": reference.parse(by_name).familiar()})
            self._events.publish("image", "untag", image.id, {"name": reference.parse(by_name).familiar()})
            if remaining:
                return report, 0
            if in_use:
                # Forced while containers use it: the image stays, untagged.
                await self._supervisor.images.update(
                    Image(name=DANGLING_PREFIX + image.id, target=image.manifest)
                )
                return report, 0
        else:
            running = await self.running_image_users(image.id) if self.running_image_users else []
            if running:
                raise errdefs.Conflict(
                    f"conflict: unable to delete {image.short_id} (cannot be forced) - image is being used "
                    f"by running container {running[0][:12]}"
                )
            tagged = [n for n in image.names if not n.startswith(DANGLING_PREFIX)]
            if len(tagged) > 1 and not force:
                raise errdefs.Conflict(
                    f"conflict: unable to delete {image.short_id} (must be forced) - image is referenced "
                    "in multiple repositories"
                )
            if in_use and not force:
                raise errdefs.Conflict(
                    f"conflict: unable to delete {image.short_id} (cannot be forced) - image is being used "
                    f"by stopped container {in_use[0][:12]}"
                )
            for name in image.names:
                await self._supervisor.images.delete(name)
                if not name.startswith(DANGLING_PREFIX):
                    report.append({"Untagged": reference.parse(name).familiar()})
        freed = await self._delete_unshared_content(image)
        report.append({"Deleted": image.id})
        self._events.publish("image", "delete", image.id, {"name": ref})
        return report, freed

    async def prune(self, all_unused: bool) -> list[dict[str, str]]:
        """Remove dangling images (or, with `all_unused`, every image no container uses)."""
        report, _reclaimed = await self.prune_reclaiming(all_unused)
        return report

    async def prune_reclaiming(self, all_unused: bool, keep: Callable[[LocalImage], bool] | None = None
                               ) -> tuple[list[dict[str, str]], int]:
        """`prune`, sparing the images `keep` says to keep; also returns the bytes freed."""
        report: list[dict[str, str]] = []
        reclaimed = 0
        for image in await self.list():
            if image.repo_tags and not all_unused:
                continue
            if keep is not None and keep(image):
                continue
            if self.image_users is not None and await self.image_users(image.id):
                continue
            deleted, freed = await self.delete_reclaiming(image.id, force=True)
            report += deleted
            reclaimed += freed
        return report, reclaimed

    async def layer_sizes(self, image: LocalImage) -> list[int]:
        """Each layer's size on disk (its snapshot), bottom first; the blob's size when not unpacked."""
        sizes = []
        for layer, chain_id in zip(image.layers, chain_ids(image.diff_ids), strict=False):
            size = self._snapshot_sizes.get(chain_id)
            if size is None:
                try:
                    size = await self._supervisor.snapshots.usage(chain_id)
                    self._snapshot_sizes[chain_id] = size  # committed snapshots never change
                except errdefs.NotFound:
                    size = layer.size
            sizes.append(size)
        return sizes

    def container_counts(self) -> dict[str, int]:
        """Image id → how many containers (running or not) were made from it; one pass for a listing."""
        return self.image_use_counts() if self.image_use_counts else {}

    async def disk_size(self, image: LocalImage) -> int:
        """What `docker images` shows as SIZE: all the image's layers as unpacked on disk."""
        return sum(await self.layer_sizes(image))

    @staticmethod
    def _name_matching(image: LocalImage, ref: str) -> str | None:
        try:
            parsed = reference.parse_normalized_tagged(ref)
        except reference.InvalidReference:
            return None
        return str(parsed) if str(parsed) in image.names else None

    async def _delete_unshared_content(self, image: LocalImage) -> int:
        """Blobs and layer snapshots no other image needs; returns the bytes freed. A snapshot that
        a container's rootfs (or another layer) sits on stays: the snapshotter refuses to remove it."""
        still_used: set[str] = set()
        chains_used: set[str] = set()
        for other in await self.list():
            still_used.update({other.target_digest, other.manifest.digest, other.id,
                               *(layer.digest for layer in other.layers)})
            chains_used.update(chain_ids(other.diff_ids))
        freed = 0
        digests = [image.target_digest, image.manifest.digest, image.id, *(layer.digest for layer in image.layers)]
        for digest in dict.fromkeys(d for d in digests if d):
            if digest not in still_used:
                try:
                    size = (await self._supervisor.content.info(digest)).size
                    await self._supervisor.content.delete(digest)
                    freed += size
                except errdefs.NotFound:
                    pass
        for chain_id in reversed(chain_ids(image.diff_ids)):
            if chain_id in chains_used:
                break  # shared from here down
            try:
                size = await self._supervisor.snapshots.usage(chain_id)
                await self._supervisor.snapshots.remove(chain_id)
            except errdefs.NotFound:
                continue
            except errdefs.WharfError:
                break  # a container or another snapshot still sits on it
            self._snapshot_sizes.pop(chain_id, None)
            freed += size
        return freed


def host_architecture() -> str:
    machine = platform.machine()
    return {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "i686": "386"}.get(machine, machine)


def image_config_for_api(image: LocalImage) -> dict[str, Any]:
    """The image's `config` as moby's image config type shows it: only the fields the config sets
    (every field is omitted when empty). Older API versions add defaults on top (the router)."""
    config = image.config.get("config") or {}
    shown = {key: config[key] for key in _IMAGE_CONFIG_FIELDS if config.get(key)}
    if config.get("Healthcheck") is not None:  # a pointer in moby: `{}` is still shown
        shown["Healthcheck"] = config["Healthcheck"]
    return shown


_IMAGE_CONFIG_FIELDS = ("User", "ExposedPorts", "Env", "Entrypoint", "Cmd", "Volumes", "WorkingDir", "Labels",
                        "StopSignal", "ArgsEscaped", "OnBuild", "Shell")
"""The OCI image config's fields and Docker's extensions to it (bar Healthcheck), in moby's order."""

_CONTAINER_CONFIG_DEFAULTS = {
    "Hostname": "", "Domainname": "", "User": "", "AttachStdin": False, "AttachStdout": False,
    "AttachStderr": False, "Tty": False, "OpenStdin": False, "StdinOnce": False, "Env": None, "Cmd": None,
    "Image": "", "Volumes": None, "WorkingDir": "", "Entrypoint": None, "OnBuild": None, "Labels": None,
}  # fmt: skip
"""A container config's fields moby always shows, with the value shown when unset."""
_CONTAINER_CONFIG_OPTIONAL = ("ExposedPorts", "Healthcheck", "ArgsEscaped", "NetworkDisabled",
                              "StopSignal", "StopTimeout", "Shell")
"""The ones it shows only when set (Healthcheck and StopTimeout are pointers: set even when empty)."""


def container_config_for_api(image: LocalImage) -> dict[str, Any]:
    """The config's legacy `container_config` (the container a commit or a classic build step ran)
    as moby shows it to API < 1.45: a container config, all defaults when the image has none."""
    raw = image.config.get("container_config") or {}
    shown = {key: default if raw.get(key) is None else raw[key] for key, default in _CONTAINER_CONFIG_DEFAULTS.items()}
    for key in _CONTAINER_CONFIG_OPTIONAL:
        value = raw.get(key)
        if value or (key in ("Healthcheck", "StopTimeout") and value is not None):
            shown[key] = value
    return shown
