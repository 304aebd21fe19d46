"""`docker save` and `docker load`: images to and from the docker-archive format.

Save writes what Docker 25+ writes: an OCI image layout (`oci-layout`, `index.json`, `blobs/sha256/…`)
with uncompressed layer tars, plus Docker's `manifest.json` and `repositories`, so older Docker
engines, skopeo (`oci-archive:`) and umoci all read it. Load accepts that, the older docker-archive
and plain OCI layouts (see image_archive_reader), streamed into the content store as they arrive
(image_archive_stream), verifies everything, then unpacks and names.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import tarfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

from wharf import errdefs
from wharf.containerd.core.images import Image
from wharf.containerd.proxy.leases import leased
from wharf.daemon.backend.image_archive_reader import ArchivePlan, LoadedImage, plan_members
from wharf.daemon.backend.image_archive_stream import StreamedArchive, new_archive, receive
from wharf.daemon.backend.images import DANGLING_PREFIX, ImageService, LocalImage, chain_ids
from wharf.daemon.backend.layer_codec import GZIP_MAGIC, ZSTD_MAGIC
from wharf.daemon.backend.supervisor import Supervisor
from wharf.oci import image as oci
from wharf.oci import reference

log = logging.getLogger(__name__)

Send = Callable[[dict[str, Any]], Awaitable[None]]
_CHUNK = 1 << 20
LOAD_CONCURRENCY = 3
"""Blobs stored at once on load (separate streams to the content store)."""
_BLOCK = 512


def _tar_header(name: str, size: int, directory: bool = False) -> bytes:
    info = tarfile.TarInfo(name)
    info.size = 0 if directory else size
    info.type = tarfile.DIRTYPE if directory else tarfile.REGTYPE
    info.mode = 0o755 if directory else 0o644
    info.mtime = 0
    return info.tobuf(format=tarfile.PAX_FORMAT)


def _padding(size: int) -> bytes:
    return b"\0" * (-size % _BLOCK)


def _blob_name(digest: str) -> str:
    return "blobs/sha256/" + digest.removeprefix("sha256:")


def _json_bytes(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


class ImageArchives:
    def __init__(self, supervisor: Supervisor, images: ImageService, scratch_dir: str) -> None:
        self._supervisor = supervisor
        self._images = images
        self._scratch = Path(scratch_dir)
        self._uncompressed_sizes: dict[str, int] = {}
        """diff id → uncompressed size (a diff id names exactly one byte stream: never stale)."""
        if self._scratch.is_dir():  # spools of loads a crash cut short (loads spooled before they streamed)
            for leftover in self._scratch.glob("load-*"):
                leftover.unlink(missing_ok=True)

    # -- save ---------------------------------------------------------------------------------

    async def selection(self, names: list[str]) -> list[tuple[LocalImage, list[str]]]:
        """The images to save, each with the familiar tags to record (none when named by id).
        A repository name without tag selects all its tags, as Docker does."""
        if not names:
            raise errdefs.InvalidArgument("no image names given")
        chosen: dict[str, tuple[LocalImage, list[str]]] = {}
        for name in names:
            for image, tag in await self._expand(name):
                entry = chosen.setdefault(image.id, (image, []))
                if tag and tag not in entry[1]:
                    entry[1].append(tag)
        return list(chosen.values())

    async def _expand(self, name: str) -> list[tuple[LocalImage, str]]:
        try:
            parsed = reference.parse(name)
        except reference.InvalidReference:
            parsed = None
        if parsed is not None and not parsed.tag and not parsed.digest:
            tagged = [(image, ref.familiar()) for image in await self._images.list()
                      for ref in image.references if ref.tag and ref.name == parsed.name]
            if tagged:
                return tagged
        image = await self._images.resolve(name)
        if parsed is not None and (parsed.tag or not parsed.digest):
            ref = parsed.with_default_tag()
            if str(ref) in image.names:
                return [(image, ref.familiar())]
        return [(image, "")]

    async def save(self, selection: list[tuple[LocalImage, list[str]]]) -> AsyncIterator[bytes]:
        """The archive as a tar stream."""
        written: set[str] = set()
        index_entries: list[dict[str, Any]] = []
        docker_manifest: list[dict[str, Any]] = []
        repositories: dict[str, dict[str, str]] = {}
        for directory in ("blobs/", "blobs/sha256/"):
            yield _tar_header(directory, 0, directory=True)
        for image, tags in selection:
            config = await self._supervisor.content.read(image.id)
            if image.id not in written:
                written.add(image.id)
                yield _tar_header(_blob_name(image.id), len(config)) + config + _padding(len(config))
            diff_ids = (image.config.get("rootfs") or {}).get("diff_ids") or []
            if len(diff_ids) != len(image.layers):
                raise errdefs.System(f"image {image.id}: {len(image.layers)} layers for {len(diff_ids)} diff ids")
            layer_descriptors = []
            for layer, diff_id in zip(image.layers, diff_ids, strict=True):
                size = await self._layer_size(layer, diff_id)
                if diff_id not in written:
                    written.add(diff_id)
                    async for chunk in self._uncompressed_layer_entry(layer, diff_id, size):
                        yield chunk
                layer_descriptors.append({"mediaType": oci.MEDIA_TYPE_OCI_LAYER, "digest": diff_id, "size": size})
            manifest = _json_bytes({
                "schemaVersion": 2, "mediaType": oci.MEDIA_TYPE_OCI_MANIFEST,
                "config": {"mediaType": oci.MEDIA_TYPE_OCI_CONFIG, "digest": image.id, "size": len(config)},
                "layers": layer_descriptors,
            })  # fmt: skip
            manifest_digest = "sha256:" + hashlib.sha256(manifest).hexdigest()
            if manifest_digest not in written:
                written.add(manifest_digest)
                yield _tar_header(_blob_name(manifest_digest), len(manifest)) + manifest + _padding(len(manifest))
            descriptor = {"mediaType": oci.MEDIA_TYPE_OCI_MANIFEST, "digest": manifest_digest, "size": len(manifest)}
            for tag in tags:
                ref = reference.parse_normalized_tagged(tag)
                index_entries.append({**descriptor, "annotations": {
                    "io.containerd.image.name": str(ref), "org.opencontainers.image.ref.name": ref.tag}})
                if diff_ids:
                    repositories.setdefault(ref.familiar_name, {})[ref.tag] = diff_ids[-1].removeprefix("sha256:")
            if not tags:
                index_entries.append(descriptor)
            docker_manifest.append({"Config": _blob_name(image.id), "RepoTags": tags or None,
                                    "Layers": [_blob_name(d) for d in diff_ids]})
        for name, data in (
            ("index.json", _json_bytes({"schemaVersion": 2, "mediaType": oci.MEDIA_TYPE_OCI_INDEX,
                                        "manifests": index_entries})),
            ("manifest.json", _json_bytes(docker_manifest)),
            ("oci-layout", _json_bytes({"imageLayoutVersion": "1.0.0"})),
            ("repositories", _json_bytes(repositories)),
        ):
            yield _tar_header(name, len(data)) + data + _padding(len(data))
        yield b"\0" * (2 * _BLOCK)

    async def _layer_size(self, layer: oci.Descriptor, diff_id: str) -> int:
        """The uncompressed size, which the tar header needs before the bytes."""
        if layer.digest == diff_id:
            return layer.size
        known = self._uncompressed_sizes.get(diff_id)
        if known is not None:
            return known
        size = 0
        async for chunk in self._decompressed_chunks(layer):
            size += len(chunk)
        self._uncompressed_sizes[diff_id] = size
        return size

    async def _uncompressed_layer_entry(self, layer: oci.Descriptor, diff_id: str, size: int
                                        ) -> AsyncIterator[bytes]:
        yield _tar_header(_blob_name(diff_id), size)
        hasher = hashlib.sha256()
        sent = 0
        source = (self._supervisor.content.read_chunks(layer.digest, _CHUNK) if layer.digest == diff_id
                  else self._decompressed_chunks(layer))
        async for chunk in source:
            hasher.update(chunk)
            sent += len(chunk)
            yield chunk
        if sent != size or "sha256:" + hasher.hexdigest() != diff_id:
            # The tar is already half sent: all we can do is break it, loudly.
            raise errdefs.System(f"layer {layer.digest} does not decompress to {diff_id}")
        yield _padding(size)

    async def _decompressed_chunks(self, layer: oci.Descriptor) -> AsyncIterator[bytes]:
        """The plain tar of a stored layer blob, decompressed in a worker thread."""
        chunks = self._supervisor.content.read_chunks(layer.digest, _CHUNK)
        first = await anext(chunks, b"")
        if first.startswith(GZIP_MAGIC):
            decompress: Callable[[bytes], bytes] = _streaming_gunzip()
        elif first.startswith(ZSTD_MAGIC):
            import zstandard

            decompress = zstandard.ZstdDecompressor().decompressobj().decompress
        else:
            decompress = bytes
        if first:
            if data := await asyncio.to_thread(decompress, first):
                yield data
        async for chunk in chunks:
            if data := await asyncio.to_thread(decompress, chunk):
                yield data

    # -- load ---------------------------------------------------------------------------------

    async def load(self, body: AsyncIterator[bytes], send: Send) -> None:
        """Stream the body (decompressed if gzip'd) into the content store as it arrives, under a
        lease; verify it all; then unpack and name. A refused archive leaves nothing it brought."""
        content = self._supervisor.content
        async with leased(self._supervisor, purpose="load"):
            archive = new_archive(content)
            added: list[str] = []
            new_layers: list[str] = []
            """Chain ids this load unpacks first: a failed load removes them again (top first)."""
            started = time.monotonic()
            try:
                await receive(_plain_archive(body), content, archive)
                received = time.monotonic()
                plan = await asyncio.to_thread(_plan, archive)
                prepared = await self._prepare(plan, archive, added, new_layers)
                log.debug("load: %d members received in %.2f s, planned, stored and unpacked in %.2f s",
                         len(archive.stored), received - started, time.monotonic() - received)  # fmt: skip
            except BaseException:
                await self._forget([*archive.new_digests(), *added], new_layers)
                raise
            for image, manifest_descriptor in prepared:
                await self._name(image, manifest_descriptor, send)
            await self._drop_unused(archive, prepared)

    async def _prepare(self, plan: ArchivePlan, archive: StreamedArchive, added: list[str], new_layers: list[str]
                       ) -> list[tuple[LoadedImage, oci.Descriptor]]:  # fmt: skip
        """Check the stored layers are what the plan says, store manifests and configs, unpack."""
        for source in plan.blobs.values():
            stored = archive.stored_member(source.member)
            if stored.digest != source.digest:
                raise errdefs.InvalidArgument(f"invalid archive: {source.member}: unexpected commit digest "
                                              f"{stored.digest}, expected {source.digest}")
        prepared = [await self._store_image(image, added) for image in plan.images]
        for image, manifest_descriptor in prepared:
            chains = chain_ids(list(json.loads(image.config)["rootfs"]["diff_ids"]))
            new_layers += [chain for chain in chains if not await self._has_snapshot(chain)]
            try:
                await self._supervisor.unpacker.unpack(manifest_descriptor.digest)
            except errdefs.InvalidArgument as err:
                raise errdefs.InvalidArgument(f"invalid archive: {err}") from None
        return prepared

    async def _drop_unused(self, archive: StreamedArchive, prepared: list[tuple[LoadedImage, oci.Descriptor]]) -> None:
        """Members stored only because they might have been blobs (legacy `<id>/json`, `VERSION`…)."""
        used = {digest for image, manifest in prepared
                for digest in (manifest.digest, image.config_digest, *(layer.digest for layer in image.layers))}
        for digest in archive.new_digests():
            if digest not in used:
                with contextlib.suppress(errdefs.WharfError):
                    await self._supervisor.content.delete(digest)

    async def _store_image(self, image: LoadedImage, added: list[str]) -> tuple[LoadedImage, oci.Descriptor]:
        if image.manifest is None:
            manifest = _json_bytes({
                "schemaVersion": 2, "mediaType": oci.MEDIA_TYPE_OCI_MANIFEST,
                "config": {"mediaType": oci.MEDIA_TYPE_OCI_CONFIG, "digest": image.config_digest,
                           "size": len(image.config)},
                "layers": [layer.to_json() for layer in image.layers],
            })  # fmt: skip
            media_type = oci.MEDIA_TYPE_OCI_MANIFEST
        else:
            manifest, media_type = image.manifest, image.manifest_media_type
        for data in (image.config, manifest):
            digest = "sha256:" + hashlib.sha256(data).hexdigest()
            if not await self._has_blob(digest):
                await self._supervisor.content.write(_one_chunk(data), expected=digest)
                added.append(digest)
        return image, oci.Descriptor(media_type, "sha256:" + hashlib.sha256(manifest).hexdigest(), len(manifest))

    async def _name(self, image: LoadedImage, target: oci.Descriptor, send: Send) -> None:
        for name in image.names:
            await self._orphan_previous_holder(name, image.config_digest)
            await self._supervisor.images.update(Image(name=name, target=target))
            familiar = reference.parse(name).familiar()
            self._images.publish("load", image.config_digest, familiar)
            await send({"stream": f"Loaded image: {familiar}\n"})
        if not image.names:
            try:
                await self._images.resolve(image.config_digest)
            except errdefs.NotFound:
                await self._supervisor.images.update(Image(name=DANGLING_PREFIX + image.config_digest, target=target))
            self._images.publish("load", image.config_digest, "")
            await send({"stream": f"Loaded image ID: {image.config_digest}\n"})

    async def _orphan_previous_holder(self, name: str, new_id: str) -> None:
        """A tag moving to the loaded image leaves its old image dangling, not lost (as Docker)."""
        try:
            previous = await self._images.resolve(name)
        except (errdefs.NotFound, errdefs.InvalidArgument):
            return
        if previous.id != new_id and not [n for n in previous.names if n != name]:
            await self._supervisor.images.update(Image(name=DANGLING_PREFIX + previous.id, target=previous.manifest))

    async def _has_blob(self, digest: str) -> bool:
        try:
            await self._supervisor.content.info(digest)
            return True
        except errdefs.NotFound:
            return False

    async def _has_snapshot(self, key: str) -> bool:
        try:
            await self._supervisor.snapshots.stat(key)
            return True
        except errdefs.NotFound:
            return False

    async def _forget(self, digests: list[str], snapshots: list[str]) -> None:
        for key in reversed(snapshots):
            with contextlib.suppress(errdefs.WharfError):
                await self._supervisor.snapshots.remove(key)
        for digest in digests:
            with contextlib.suppress(errdefs.WharfError):
                await self._supervisor.content.delete(digest)


def _plan(archive: StreamedArchive) -> ArchivePlan:
    try:
        return plan_members(archive)
    except (tarfile.TarError, EOFError) as err:
        raise errdefs.InvalidArgument(f"invalid archive: {err}") from None


def _streaming_gunzip() -> Callable[[bytes], bytes]:
    try:
        from isal import isal_zlib

        return isal_zlib.decompressobj(wbits=47).decompress  # type: ignore[no-any-return]
    except ImportError:
        import zlib

        return zlib.decompressobj(wbits=47).decompress


async def _plain_archive(body: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """`docker load` takes the archive plain or gzip'd (as `docker save | gzip`)."""
    decompress: Callable[[bytes], bytes] | None = None
    gzipped = False
    async for chunk in body:
        if decompress is None:
            gzipped = chunk.startswith(GZIP_MAGIC)
            decompress = _streaming_gunzip() if gzipped else bytes
        yield await asyncio.to_thread(decompress, chunk) if gzipped else chunk


async def _one_chunk(data: bytes) -> AsyncIterator[bytes]:
    yield data
