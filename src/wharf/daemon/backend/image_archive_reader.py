"""Reading an image archive (`docker load` input), untrusted, before anything is stored.

Three shapes are accepted:
- Docker 25+'s: an OCI image layout (`oci-layout`, `index.json`, `blobs/sha256/…`) plus Docker's
  `manifest.json` (`[{Config, RepoTags, Layers}]`) and `repositories`;
- the older docker-archive: `manifest.json` naming `<id>.json` configs and `<id>/layer.tar` layers;
- a plain OCI image layout (no `manifest.json`): `index.json` → manifests → config and layers.

Everything is checked first (paths, sizes, JSON, every blob's digest, every layer's diff id), so a bad
archive is refused before the content store sees a byte of it. Runs in a worker thread (blocking I/O).
"""

from __future__ import annotations

import hashlib
import json
import platform
import posixpath
import re
import tarfile
from dataclasses import dataclass, field
from typing import IO, Any

from wharf import errdefs
from wharf.daemon.backend.layer_codec import GZIP_MAGIC, ZSTD_MAGIC, open_decompressed
from wharf.oci import image as oci
from wharf.oci import reference

MAX_JSON_BYTES = 8 << 20
"""Manifests, configs and indexes are small; a larger one is hostile (or broken)."""
MAX_SYMLINK_HOPS = 16
_BLOB_PATH = re.compile(r"^blobs/sha256/([0-9a-f]{64})$")
_LEGACY_CONFIG_PATH = re.compile(r"^([0-9a-f]{64})\.json$")
_CHUNK = 1 << 20
_STRICT_FILES = ("manifest.json", "index.json", "oci-layout", "repositories")
"""Members that must be regular files: a symlink there could point the loader anywhere."""


@dataclass
class BlobSource:
    """A blob to store: where it is in the archive, and what it was verified to be."""

    member: str
    digest: str
    size: int
    info: tarfile.TarInfo | None = None
    """The tar entry holding the bytes (symlinks resolved)."""


@dataclass
class LoadedImage:
    config: bytes
    config_digest: str
    layers: list[oci.Descriptor]
    """Layer descriptors as they will be stored (digest of the blob as found in the archive)."""
    manifest: bytes | None = None
    """The archive's own manifest (OCI layout), kept as is; None → the loader writes one."""
    manifest_media_type: str = oci.MEDIA_TYPE_OCI_MANIFEST
    names: list[str] = field(default_factory=list)
    """Normalised references to tag (`docker.io/library/busybox:latest`)."""


@dataclass
class ArchivePlan:
    images: list[LoadedImage]
    blobs: dict[str, BlobSource]
    """Layer blobs by digest."""


def _safe_name(name: str) -> str:
    """The member name relative to the archive root; absolute or `..` names are refused."""
    if name.startswith("/"):
        raise errdefs.InvalidArgument(f"invalid archive: absolute path {name!r}")
    parts = [part for part in name.split("/") if part not in ("", ".")]
    if ".." in parts:
        raise errdefs.InvalidArgument(f"invalid archive: path {name!r} leaves the archive")
    return "/".join(parts)


def _link_target(name: str, linkname: str) -> str:
    """Where a symlink member points, inside the archive (`ccc/layer.tar -> ../aaa/layer.tar`)."""
    if linkname.startswith("/"):
        raise errdefs.InvalidArgument(f"invalid archive: {name!r} links to an absolute path")
    target = posixpath.normpath(posixpath.join(posixpath.dirname(name), linkname))
    if target == ".." or target.startswith("../"):
        raise errdefs.InvalidArgument(f"invalid archive: {name!r} links out of the archive")
    return _safe_name(target)


class ArchiveReader:
    """Random access to the members of a spooled archive, with symlinks resolved inside it."""

    def __init__(self, tar: tarfile.TarFile) -> None:
        self._tar = tar
        self._members: dict[str, tarfile.TarInfo] = {}
        for member in tar.getmembers():
            name = _safe_name(member.name)
            if member.issym() or member.islnk():
                if member.linkname.startswith("/"):
                    raise errdefs.InvalidArgument(f"invalid archive: {name!r} links to an absolute path")
            if name:
                self._members[name] = member

    def has(self, name: str) -> bool:
        return name in self._members

    def _resolve(self, name: str) -> tarfile.TarInfo:
        name = _safe_name(name)
        for _ in range(MAX_SYMLINK_HOPS):
            member = self._members.get(name)
            if member is None:
                raise errdefs.InvalidArgument(f"invalid archive: {name!r} is missing")
            if name in _STRICT_FILES and not member.isreg():
                raise errdefs.InvalidArgument(f"invalid archive: {name} is not a regular file")
            if member.issym():
                name = _link_target(name, member.linkname)
                continue
            if member.islnk():
                name = _safe_name(member.linkname)
                continue
            if not member.isreg():
                raise errdefs.InvalidArgument(f"invalid archive: {name!r} is not a regular file")
            return member
        raise errdefs.InvalidArgument(f"invalid archive: too many symlinks at {name!r}")

    def open(self, name: str) -> tuple[IO[bytes], int]:
        member = self._resolve(name)
        stream = self._tar.extractfile(member)
        if stream is None:
            raise errdefs.InvalidArgument(f"invalid archive: {name!r} is not a regular file")
        return stream, member.size

    def read_json(self, name: str) -> Any:
        stream, size = self.open(name)
        if size > MAX_JSON_BYTES:
            raise errdefs.InvalidArgument(f"invalid archive: {name} is too large ({size} bytes)")
        data = stream.read()
        try:
            return json.loads(data)
        except (ValueError, UnicodeDecodeError) as err:
            raise errdefs.InvalidArgument(f"invalid archive: {name} is not valid JSON: {err}") from None

    def read_bytes(self, name: str) -> bytes:
        stream, size = self.open(name)
        if size > MAX_JSON_BYTES:
            raise errdefs.InvalidArgument(f"invalid archive: {name} is too large ({size} bytes)")
        return stream.read()

    def looks_compressed(self, name: str) -> bool:
        stream, _size = self.open(name)
        head = stream.read(4)
        return head.startswith(GZIP_MAGIC) or head == ZSTD_MAGIC

    def entry(self, name: str) -> tarfile.TarInfo:
        return self._resolve(name)

    def resolved_name(self, name: str) -> str:
        member = self._resolve(name)
        return _safe_name(member.name)

    def hash_layer(self, name: str) -> tuple[str, int, str, str]:
        """(blob digest, blob size, diff id, media type) of a layer, read once."""
        stream, size = self.open(name)
        raw_hash = hashlib.sha256()
        diff_hash = hashlib.sha256()
        hashing = _HashingStream(stream, raw_hash)
        plain, compression = open_decompressed(hashing)
        try:
            if compression:
                while chunk := plain.read(_CHUNK):
                    diff_hash.update(chunk)
            while hashing.read(_CHUNK):  # the rest (all of it, for a plain tar)
                pass
        except (OSError, EOFError, ValueError, *_codec_errors()) as err:
            raise errdefs.InvalidArgument(f"invalid archive: layer {name}: {err}") from None
        if not compression:
            diff_hash = raw_hash
        media_type = {
            "gzip": oci.MEDIA_TYPE_OCI_LAYER_GZIP, "zstd": oci.MEDIA_TYPE_OCI_LAYER_ZSTD,
        }.get(compression, oci.MEDIA_TYPE_OCI_LAYER)
        return "sha256:" + raw_hash.hexdigest(), size, "sha256:" + diff_hash.hexdigest(), media_type


class _HashingStream:
    def __init__(self, inner: IO[bytes], hasher: Any) -> None:
        self._inner = inner
        self._hasher = hasher

    def read(self, size: int = -1) -> bytes:
        data = self._inner.read(size)
        self._hasher.update(data)
        return data


def _codec_errors() -> tuple[type[Exception], ...]:
    errors: list[type[Exception]] = []
    try:
        from isal import isal_zlib

        errors.append(isal_zlib.error)
    except ImportError:
        pass
    try:
        import zstandard

        errors.append(zstandard.ZstdError)
    except ImportError:
        pass
    return tuple(errors)


def _check_path_digest(path: str, digest: str) -> None:
    """A blob named by its digest (`blobs/sha256/<hex>`, `<hex>.json`) must hash to it."""
    match = _BLOB_PATH.match(path) or _LEGACY_CONFIG_PATH.match(path)
    if match and "sha256:" + match.group(1) != digest:
        raise errdefs.InvalidArgument(f"invalid archive: {path} has digest {digest}")


def _diff_ids(config: Any, where: str) -> list[str]:
    try:
        diff_ids = config["rootfs"]["diff_ids"]
        if not isinstance(diff_ids, list) or not all(isinstance(d, str) for d in diff_ids):
            raise TypeError
        return list(diff_ids)
    except (KeyError, TypeError):
        raise errdefs.InvalidArgument(f"invalid archive: {where} has no rootfs.diff_ids") from None


def _normalised_tag(text: str) -> str:
    try:
        return str(reference.parse_normalized_tagged(text))
    except reference.InvalidReference:
        raise errdefs.InvalidArgument(f"invalid archive: invalid reference {text!r}") from None


class _Planner:
    def __init__(self, reader: ArchiveReader) -> None:
        self.reader = reader
        self.blobs: dict[str, BlobSource] = {}
        self._hashed: dict[str, tuple[str, int, str, str]] = {}

    def layer(self, path: str, expected_diff_id: str, expected_digest: str = "") -> oci.Descriptor:
        resolved = self.reader.resolved_name(path)
        named = _BLOB_PATH.match(resolved)
        if (named and "sha256:" + named.group(1) == expected_diff_id == (expected_digest or expected_diff_id)
                and not self.reader.looks_compressed(resolved)):
            # A plain tar named by its diff id (what Docker writes): hashing it here would be a
            # pass over the whole layer for nothing; the content store refuses it unless it hashes
            # to that name, and the unpacker checks the diff id again, before anything is named.
            entry = self.reader.entry(resolved)
            self.blobs[expected_diff_id] = BlobSource(resolved, expected_diff_id, entry.size, entry)
            return oci.Descriptor(oci.MEDIA_TYPE_OCI_LAYER, expected_diff_id, entry.size)
        if resolved not in self._hashed:
            self._hashed[resolved] = self.reader.hash_layer(resolved)
        digest, size, diff_id, media_type = self._hashed[resolved]
        _check_path_digest(resolved, digest)
        if expected_digest and digest != expected_digest:
            raise errdefs.InvalidArgument(f"invalid archive: layer {path} has digest {digest}, "
                                          f"expected {expected_digest}")
        if diff_id != expected_diff_id:
            raise errdefs.InvalidArgument(f"invalid archive: layer {path} has diff id {diff_id}, "
                                          f"the config says {expected_diff_id}")
        self.blobs[digest] = BlobSource(resolved, digest, size, self.reader.entry(resolved))
        return oci.Descriptor(media_type, digest, size)

    def config(self, path: str, expected_digest: str = "") -> tuple[bytes, str, list[str]]:
        data = self.reader.read_bytes(path)
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        _check_path_digest(self.reader.resolved_name(path), digest)
        if expected_digest and digest != expected_digest:
            raise errdefs.InvalidArgument(f"invalid archive: config {path} has digest {digest}, "
                                          f"expected {expected_digest}")
        try:
            config = json.loads(data)
        except (ValueError, UnicodeDecodeError):
            raise errdefs.InvalidArgument(f"invalid archive: config {path} is not JSON") from None
        return data, digest, _diff_ids(config, path)

    def docker_images(self, manifest: Any) -> list[LoadedImage]:
        if not isinstance(manifest, list) or not manifest:
            raise errdefs.InvalidArgument("invalid archive: manifest.json is not a list of images")
        images = []
        for entry in manifest:
            if not isinstance(entry, dict) or not isinstance(entry.get("Config"), str):
                raise errdefs.InvalidArgument("invalid archive: manifest.json entry without Config")
            config, config_digest, diff_ids = self.config(entry["Config"])
            layer_paths = entry.get("Layers") or []
            if not isinstance(layer_paths, list) or len(layer_paths) != len(diff_ids):
                raise errdefs.InvalidArgument(
                    f"invalid archive: {len(layer_paths) if isinstance(layer_paths, list) else 'no'} layers "
                    f"for {len(diff_ids)} diff ids in {entry['Config']}")
            layers = [self.layer(str(path), diff_id) for path, diff_id in zip(layer_paths, diff_ids, strict=True)]
            tags = entry.get("RepoTags") or []
            if not isinstance(tags, list):
                raise errdefs.InvalidArgument("invalid archive: RepoTags is not a list")
            images.append(LoadedImage(config, config_digest, layers, names=[_normalised_tag(str(t)) for t in tags]))
        return images

    def oci_images(self, index: Any) -> list[LoadedImage]:
        if not isinstance(index, dict) or not isinstance(index.get("manifests"), list):
            raise errdefs.InvalidArgument("invalid archive: index.json has no manifests")
        images: list[LoadedImage] = []
        for entry in index["manifests"]:
            descriptor = _descriptor(entry)
            name = _name_of(descriptor)
            manifest_bytes, descriptor = self._platform_manifest(descriptor)
            manifest = json.loads(manifest_bytes)
            config_descriptor = _descriptor(manifest.get("config"))
            config, config_digest, diff_ids = self.config(_blob_path(config_descriptor.digest),
                                                          config_descriptor.digest)
            layer_entries = manifest.get("layers") or []
            if not isinstance(layer_entries, list) or len(layer_entries) != len(diff_ids):
                raise errdefs.InvalidArgument(f"invalid archive: manifest {descriptor.digest}: layers and "
                                              "diff ids differ in number")
            for layer_entry, diff_id in zip(layer_entries, diff_ids, strict=True):
                layer = _descriptor(layer_entry)
                if layer.media_type not in oci.LAYER_TYPES:
                    raise errdefs.InvalidArgument(f"invalid archive: unsupported layer type {layer.media_type}")
                self.layer(_blob_path(layer.digest), diff_id, layer.digest)
            known = next((image for image in images if image.config_digest == config_digest), None)
            if known is not None:
                known.names += [name] if name else []
                continue
            images.append(LoadedImage(config, config_digest, [_descriptor(e) for e in layer_entries],
                                      manifest=manifest_bytes, manifest_media_type=descriptor.media_type,
                                      names=[name] if name else []))
        if not images:
            raise errdefs.InvalidArgument("invalid archive: index.json lists no image")
        return images

    def _platform_manifest(self, descriptor: oci.Descriptor) -> tuple[bytes, oci.Descriptor]:
        for _ in range(4):
            data = self.reader.read_bytes(_blob_path(descriptor.digest))
            digest = "sha256:" + hashlib.sha256(data).hexdigest()
            if digest != descriptor.digest:
                raise errdefs.InvalidArgument(f"invalid archive: blob {descriptor.digest} has digest {digest}")
            try:
                document = json.loads(data)
            except (ValueError, UnicodeDecodeError):
                raise errdefs.InvalidArgument(f"invalid archive: manifest {digest} is not JSON") from None
            if not isinstance(document, dict):
                raise errdefs.InvalidArgument(f"invalid archive: manifest {digest} is not an object")
            if descriptor.media_type in oci.INDEX_TYPES or "manifests" in document:
                descriptor = _host_entry(document, digest)
                continue
            return data, descriptor
        raise errdefs.InvalidArgument("invalid archive: indexes nested too deep")


def _descriptor(entry: Any) -> oci.Descriptor:
    try:
        descriptor = oci.Descriptor.from_json(entry)
    except (KeyError, TypeError, ValueError, AttributeError):
        raise errdefs.InvalidArgument(f"invalid archive: malformed descriptor {str(entry)[:200]}") from None
    if not re.fullmatch(r"sha256:[0-9a-f]{64}", descriptor.digest):
        raise errdefs.InvalidArgument(f"invalid archive: unsupported digest {descriptor.digest[:80]!r}")
    return descriptor


def _blob_path(digest: str) -> str:
    return "blobs/sha256/" + digest.removeprefix("sha256:")


def _name_of(descriptor: oci.Descriptor) -> str:
    """The image name an index entry carries: containerd's annotation, or a full ref.name."""
    full = descriptor.annotations.get("io.containerd.image.name", "")
    if full:
        return _normalised_tag(full)
    ref_name = descriptor.annotations.get("org.opencontainers.image.ref.name", "")
    if ref_name and (":" in ref_name or "/" in ref_name):
        try:
            return str(reference.parse_normalized_tagged(ref_name))
        except reference.InvalidReference:
            return ""
    return ""


_GOARCH = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm"}


def _host_entry(index: dict[str, Any], digest: str) -> oci.Descriptor:
    arch = _GOARCH.get(platform.machine(), platform.machine())
    entries = [_descriptor(entry) for entry in index.get("manifests") or []]
    for entry in entries:
        plat = entry.platform or {}
        if plat.get("os") == "linux" and plat.get("architecture") == arch:
            return entry
    if len(entries) == 1 and not entries[0].platform:
        return entries[0]
    raise errdefs.InvalidArgument(f"invalid archive: index {digest} has no image for linux/{arch}")


def plan_archive(tar: tarfile.TarFile) -> ArchivePlan:
    """Read and verify the whole archive; InvalidArgument names the first problem found."""
    return plan_members(ArchiveReader(tar))


def plan_members(reader: ArchiveReader) -> ArchivePlan:
    """`plan_archive` over any reader of the members (a spooled tar, or a streamed archive)."""
    planner = _Planner(reader)
    if reader.has("manifest.json"):
        images = planner.docker_images(reader.read_json("manifest.json"))
    elif reader.has("index.json"):
        images = planner.oci_images(reader.read_json("index.json"))
    else:
        raise errdefs.InvalidArgument("invalid archive: no manifest.json or index.json: not an image archive")
    return ArchivePlan(images, planner.blobs)
