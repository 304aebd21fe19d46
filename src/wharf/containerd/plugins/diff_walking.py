"""The Differ over the overlay snapshotter: walk an active snapshot's upper dir into a layer tar.

overlayfs records a deletion as a char device 0/0 and a replaced directory as the xattr
`trusted.overlay.opaque=y`; the tar carries them as OCI whiteouts. Entries are written in sorted
order with numeric owners only, so the same changes give the same bytes (and the same diff id).
The tar is spooled to a temp file (hashing the uncompressed stream for the diff id), then moved
into the content store, which verifies the digest."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import hashlib
import os
import stat
import tarfile
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import IO

from wharf import errdefs
from wharf.containerd.core.diff import DiffResult
from wharf.containerd.core.snapshots import SnapshotKind
from wharf.containerd.plugins.content_local import LocalContentStore
from wharf.containerd.plugins.snapshots_overlay import OverlaySnapshotter
from wharf.oci.digest import sha256_of
from wharf.oci.image import MEDIA_TYPE_OCI_LAYER, MEDIA_TYPE_OCI_LAYER_GZIP, Descriptor

WHITEOUT_PREFIX = ".wh."
OPAQUE_WHITEOUT = ".wh..wh..opq"
_OPAQUE_XATTR = "trusted.overlay.opaque"
_KEPT_XATTR_PREFIXES = ("security.capability", "user.")
_CHUNK = 1 << 20


class _HashingWriter:
    """A write-only stream that hashes what passes through it (the diff id is of the plain tar)."""

    def __init__(self, inner: IO[bytes]) -> None:
        self._inner = inner
        self.hasher = hashlib.sha256()

    def write(self, data: bytes) -> int:
        self.hasher.update(data)
        return self._inner.write(data)

    def flush(self) -> None:
        self._inner.flush()


def _is_whiteout(st: os.stat_result) -> bool:
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == 0


def _is_opaque(path: str) -> bool:
    try:
        return os.getxattr(path, _OPAQUE_XATTR, follow_symlinks=False) == b"y"
    except OSError:
        return False


def _xattrs(path: str) -> dict[str, str]:
    found: dict[str, str] = {}
    try:
        names = os.listxattr(path, follow_symlinks=False)
    except OSError:
        return found
    for name in names:
        if name.startswith(_KEPT_XATTR_PREFIXES):
            with contextlib.suppress(OSError):
                found["SCHILY.xattr." + name] = os.getxattr(path, name, follow_symlinks=False).decode(
                    "utf-8", "surrogateescape"
                )
    return found


class _LayerWriter:
    def __init__(self, upper: str, tar: tarfile.TarFile) -> None:
        self.upper = upper
        self.tar = tar
        self.links: dict[tuple[int, int], str] = {}

    def _info(self, path: str, name: str, st: os.stat_result) -> tarfile.TarInfo:
        info = tarfile.TarInfo(name)
        info.mode = stat.S_IMODE(st.st_mode)
        info.uid, info.gid = st.st_uid, st.st_gid
        info.uname = info.gname = ""
        info.mtime = int(st.st_mtime)
        pax = _xattrs(path)
        if pax:
            info.pax_headers = pax
        return info

    def _whiteout(self, name: str, st: os.stat_result) -> None:
        parent, _, base = name.rpartition("/")
        info = tarfile.TarInfo(f"{parent}/{WHITEOUT_PREFIX}{base}" if parent else WHITEOUT_PREFIX + base)
        info.mtime = int(st.st_mtime)
        self.tar.addfile(info)

    def add(self, path: str, name: str) -> None:
        st = os.lstat(path)
        if _is_whiteout(st):
            self._whiteout(name, st)
            return
        info = self._info(path, name, st)
        if stat.S_ISDIR(st.st_mode):
            info.type = tarfile.DIRTYPE
            self.tar.addfile(info)
            if _is_opaque(path):
                opaque = tarfile.TarInfo(f"{name}/{OPAQUE_WHITEOUT}")
                opaque.mtime = info.mtime
                self.tar.addfile(opaque)
            for entry in sorted(os.listdir(path)):
                self.add(os.path.join(path, entry), f"{name}/{entry}")
            return
        if stat.S_ISREG(st.st_mode):
            if st.st_nlink > 1:
                first = self.links.get((st.st_dev, st.st_ino))
                if first is not None:
                    info.type, info.linkname = tarfile.LNKTYPE, first
                    self.tar.addfile(info)
                    return
                self.links[(st.st_dev, st.st_ino)] = name
            info.size = st.st_size
            with open(path, "rb") as source:
                self.tar.addfile(info, source)
        elif stat.S_ISLNK(st.st_mode):
            info.type, info.linkname = tarfile.SYMTYPE, os.readlink(path)
            self.tar.addfile(info)
        elif stat.S_ISFIFO(st.st_mode):
            info.type = tarfile.FIFOTYPE
            self.tar.addfile(info)
        elif stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
            info.type = tarfile.CHRTYPE if stat.S_ISCHR(st.st_mode) else tarfile.BLKTYPE
            info.devmajor, info.devminor = os.major(st.st_rdev), os.minor(st.st_rdev)
            self.tar.addfile(info)
        # sockets are not carried by layers (as Docker's archiver)


def write_layer(upper: Path, out: IO[bytes], compress: bool) -> str:
    """The tar of `upper`'s changes into `out`; returns the diff id."""
    sink: IO[bytes] = gzip.GzipFile(fileobj=out, mode="wb", mtime=0) if compress else out  # type: ignore[assignment]
    hashing = _HashingWriter(sink)
    with tarfile.open(fileobj=hashing, mode="w|", format=tarfile.PAX_FORMAT) as tar:  # type: ignore[call-overload]
        writer = _LayerWriter(str(upper), tar)
        for entry in sorted(os.listdir(upper)):
            writer.add(os.path.join(upper, entry), entry)
    if compress:
        sink.close()
    return "sha256:" + hashing.hasher.hexdigest()


async def _file_chunks(path: str) -> AsyncIterator[bytes]:
    with open(path, "rb") as source:
        while chunk := await asyncio.to_thread(source.read, _CHUNK):
            yield chunk


class WalkingDiffer:
    def __init__(self, root: Path, content: LocalContentStore, snapshots: OverlaySnapshotter) -> None:
        self._spool = root / "diff-tmp"
        self._spool.mkdir(parents=True, exist_ok=True)
        for leftover in self._spool.iterdir():  # spools of diffs a crash interrupted
            with contextlib.suppress(OSError):
                leftover.unlink()
        self._content = content
        self._snapshots = snapshots

    async def diff(self, key: str, compress: bool = False, commit: bool = False) -> DiffResult:
        info = await self._snapshots.stat(key)
        if info.kind is not SnapshotKind.ACTIVE:
            raise errdefs.FailedPrecondition(f"snapshot {key}: only an active snapshot can be diffed")
        upper, _lowers = self._snapshots.upper_and_lowers(key)
        fd, spool = tempfile.mkstemp(dir=self._spool, prefix="layer-")
        try:
            with os.fdopen(fd, "wb") as out:
                diff_id = await asyncio.to_thread(write_layer, upper, out, compress)
            written = await self._content.write(_file_chunks(spool))
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(spool)
        media_type = MEDIA_TYPE_OCI_LAYER_GZIP if compress else MEDIA_TYPE_OCI_LAYER
        chain_id = ""
        if commit:
            chain_id = diff_id if not info.parent else sha256_of(f"{info.parent} {diff_id}".encode())
            try:
                await self._snapshots.stat(chain_id)
            except errdefs.NotFound:
                await self._snapshots.commit(chain_id, key)
        return DiffResult(Descriptor(media_type, written.digest, written.size), diff_id, chain_id)
