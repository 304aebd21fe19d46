"""Extract one image layer (a tar, gzip or plain) into a snapshot's layer dir, safely.

Runs in a worker thread (blocking I/O). Safety rules, for untrusted layers:
- names are made relative and `..` is clamped at the root (as containerd does): `/etc/x`, `../../x`
  land inside the layer dir;
- every parent dir is opened with openat2(RESOLVE_IN_ROOT), so symlinks (including ones the layer just
  made) resolve inside the root; the final component is created relative to that fd and never followed;
- hardlinks must name an entry inside the root (resolved the same way, never through a final symlink);
- the layer can't set `trusted.overlay.*` xattrs (that would forge overlay redirects and whiteouts).
Whiteouts become overlayfs whiteouts (`.wh.x` -> char device 0/0 `x`, `.wh..wh..opq` -> xattr
`trusted.overlay.opaque=y`) when there are lower layers, and are dropped on the bottom layer.
Returns the diff id: the sha256 of the uncompressed tar stream."""

from __future__ import annotations

import contextlib
import errno
import gzip
import hashlib
import os
import posixpath
import shutil
import stat
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from wharf import errdefs
from wharf.linux.openat2 import open_in_root

WHITEOUT_PREFIX = ".wh."
OPAQUE_WHITEOUT = ".wh..wh..opq"
_GZIP_MAGIC = b"\x1f\x8b"
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_XATTR_PAX_PREFIX = "SCHILY.xattr."
_FORBIDDEN_XATTR_PREFIX = "trusted.overlay."
_CHUNK = 1 << 20
_LAYER_FAULTS = frozenset({errno.EPERM, errno.EEXIST, errno.ENOTDIR, errno.EISDIR, errno.ELOOP, errno.ENAMETOOLONG,
                           errno.EXDEV, errno.EINVAL, errno.ENOENT, errno.EMLINK, errno.ENOTEMPTY})


class _HashingReader:
    """A read-only stream that hashes what passes through it."""

    def __init__(self, inner: IO[bytes]) -> None:
        self._inner = inner
        self.hasher = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = self._inner.read(size)
        self.hasher.update(data)
        return data

    def drain(self) -> None:
        while self.read(_CHUNK):
            pass


MAX_DEPTH = 256
"""Deeper trees are refused: no real image needs them, and recursive tools (rmtree) cannot remove them."""


def clean_name(name: str) -> str:
    """The member name as a path relative to the root, `..` clamped: "" is the root itself."""
    return posixpath.normpath("/" + name).lstrip("/")


@dataclass
class _Extractor:
    root_fd: int
    lower_fds: list[int]
    dir_times: list[tuple[str, int]] = field(default_factory=list)

    # -- directories --------------------------------------------------------------------------

    def open_dir(self, rel: str) -> int:
        """An O_PATH fd of directory `rel`, created (with its lower layers' owner and mode) if missing."""
        # A loop, not recursion: a hostile layer may name directories thousands deep.
        missing: list[str] = []
        current = rel
        while True:
            try:
                fd = open_in_root(self.root_fd, current, os.O_PATH | os.O_DIRECTORY)
                break
            except FileNotFoundError:
                if not current:
                    raise
                current, base = posixpath.split(current)
                missing.append(base)
            except NotADirectoryError as err:
                raise errdefs.InvalidArgument(f"layer: {current!r} is not a directory") from err
        for base in reversed(missing):
            current = posixpath.join(current, base) if current else base
            try:
                try:
                    os.mkdir(base, 0o755, dir_fd=fd)
                except FileExistsError as err:  # a dangling symlink in the way
                    raise errdefs.InvalidArgument(f"layer: cannot create directory {current!r}") from err
                self._copy_up_metadata(current, base, fd)
            finally:
                os.close(fd)
            fd = open_in_root(self.root_fd, current, os.O_PATH | os.O_DIRECTORY)
        return fd

    def _copy_up_metadata(self, rel: str, base: str, parent_fd: int) -> None:
        """A dir implied by a layer takes the owner and mode it has below, as overlay's copy-up would."""
        for lower_fd in self.lower_fds:
            try:
                fd = open_in_root(lower_fd, rel, os.O_PATH | os.O_DIRECTORY)
            except OSError:
                continue
            try:
                st = os.fstat(fd)
            finally:
                os.close(fd)
            os.chown(base, st.st_uid, st.st_gid, dir_fd=parent_fd, follow_symlinks=False)
            os.chmod(base, stat.S_IMODE(st.st_mode), dir_fd=parent_fd)
            return

    # -- entries ------------------------------------------------------------------------------

    def _remove(self, parent_fd: int, base: str, keep_dir: bool) -> None:
        try:
            st = os.stat(base, dir_fd=parent_fd, follow_symlinks=False)
        except FileNotFoundError:
            return
        if stat.S_ISDIR(st.st_mode):
            if not keep_dir:
                shutil.rmtree(base, dir_fd=parent_fd)
        else:
            os.unlink(base, dir_fd=parent_fd)

    def apply(self, tar: tarfile.TarFile, member: tarfile.TarInfo) -> None:
        rel = clean_name(member.name)
        if not rel:
            return  # the root's own entry: the snapshot dir keeps its mode
        if rel.count("/") >= MAX_DEPTH:
            raise errdefs.InvalidArgument(f"layer: {member.name[:200]!r}…: more than {MAX_DEPTH} levels deep")
        parent, base = posixpath.split(rel)
        if base.startswith(WHITEOUT_PREFIX):
            self._whiteout(parent, base)
            return
        parent_fd = self.open_dir(parent)
        try:
            self._remove(parent_fd, base, keep_dir=member.isdir())
            if member.isreg():
                self._regular(tar, member, parent_fd, base)
            elif member.isdir():
                self._directory(member, parent_fd, base, rel)
            elif member.issym():
                os.symlink(member.linkname, base, dir_fd=parent_fd)
                self._owner_and_times(member, parent_fd, base)
            elif member.islnk():
                self._hardlink(member, parent_fd, base)
            elif member.ischr() or member.isblk() or member.isfifo():
                kind = stat.S_IFCHR if member.ischr() else stat.S_IFBLK if member.isblk() else stat.S_IFIFO
                os.mknod(base, kind | 0o600, os.makedev(member.devmajor, member.devminor), dir_fd=parent_fd)
                os.chown(base, member.uid, member.gid, dir_fd=parent_fd, follow_symlinks=False)
                os.chmod(base, member.mode & 0o7777, dir_fd=parent_fd)
                self._owner_and_times(member, parent_fd, base)
            # other types (e.g. GNU volume headers) carry nothing to extract
        finally:
            os.close(parent_fd)

    def _whiteout(self, parent: str, base: str) -> None:
        if not self.lower_fds:
            return  # nothing below to hide
        parent_fd = self.open_dir(parent)
        try:
            if base == OPAQUE_WHITEOUT:
                dir_fd = open_in_root(self.root_fd, parent, os.O_RDONLY | os.O_DIRECTORY)
                try:
                    os.setxattr(dir_fd, "trusted.overlay.opaque", b"y")
                finally:
                    os.close(dir_fd)
                return
            hidden = base[len(WHITEOUT_PREFIX):]
            if hidden in ("", ".", "..") or "/" in hidden:
                raise errdefs.InvalidArgument(f"layer: invalid whiteout {base!r}")
            self._remove(parent_fd, hidden, keep_dir=False)
            os.mknod(hidden, stat.S_IFCHR | 0o000, os.makedev(0, 0), dir_fd=parent_fd)
        finally:
            os.close(parent_fd)

    def _regular(self, tar: tarfile.TarFile, member: tarfile.TarInfo, parent_fd: int, base: str) -> None:
        fd = os.open(base, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600, dir_fd=parent_fd)
        with os.fdopen(fd, "wb") as out:
            source = tar.extractfile(member)
            if source is not None:
                shutil.copyfileobj(source, out, _CHUNK)
            out.flush()
            self._metadata_by_fd(member, out.fileno())
            os.utime(out.fileno(), ns=(int(member.mtime * 10**9), int(member.mtime * 10**9)))

    def _directory(self, member: tarfile.TarInfo, parent_fd: int, base: str, rel: str) -> None:
        with contextlib.suppress(FileExistsError):
            os.mkdir(base, 0o700, dir_fd=parent_fd)
        fd = os.open(base, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=parent_fd)
        try:
            self._metadata_by_fd(member, fd)
        finally:
            os.close(fd)
        self.dir_times.append((rel, member.mtime))  # set last: later entries change a dir's mtime

    def _hardlink(self, member: tarfile.TarInfo, parent_fd: int, base: str) -> None:
        target = clean_name(member.linkname)
        target_parent, target_base = posixpath.split(target)
        if not target_base:
            raise errdefs.InvalidArgument(f"layer: hardlink {member.name!r} to the root")
        try:
            target_parent_fd = open_in_root(self.root_fd, target_parent, os.O_PATH | os.O_DIRECTORY)
        except OSError as err:
            raise errdefs.InvalidArgument(f"layer: hardlink {member.name!r} to missing {member.linkname!r}") from err
        try:
            os.link(target_base, base, src_dir_fd=target_parent_fd, dst_dir_fd=parent_fd, follow_symlinks=False)
        except FileNotFoundError as err:
            raise errdefs.InvalidArgument(f"layer: hardlink {member.name!r} to missing {member.linkname!r}") from err
        finally:
            os.close(target_parent_fd)

    def _metadata_by_fd(self, member: tarfile.TarInfo, fd: int) -> None:
        os.fchown(fd, member.uid, member.gid)
        os.fchmod(fd, member.mode & 0o7777)  # after chown, which clears set-id bits
        for key, value in member.pax_headers.items():
            if not key.startswith(_XATTR_PAX_PREFIX):
                continue
            name = key[len(_XATTR_PAX_PREFIX):]
            if name.startswith(_FORBIDDEN_XATTR_PREFIX):
                continue
            try:
                os.setxattr(fd, name, value.encode("utf-8", "surrogateescape"))
            except OSError as err:
                if err.errno not in (errno.ENOTSUP, errno.EOPNOTSUPP):
                    raise

    def _owner_and_times(self, member: tarfile.TarInfo, parent_fd: int, base: str) -> None:
        os.chown(base, member.uid, member.gid, dir_fd=parent_fd, follow_symlinks=False)
        mtime = int(member.mtime * 10**9)
        os.utime(base, ns=(mtime, mtime), dir_fd=parent_fd, follow_symlinks=False)

    def finish(self) -> None:
        for rel, mtime in reversed(self.dir_times):
            try:
                fd = open_in_root(self.root_fd, rel, os.O_RDONLY | os.O_DIRECTORY)
            except OSError:
                continue  # replaced by a later entry
            try:
                os.utime(fd, ns=(int(mtime * 10**9), int(mtime * 10**9)))
            finally:
                os.close(fd)


def _open_uncompressed(blob: IO[bytes]) -> IO[bytes]:
    magic = blob.read(4)
    blob.seek(0)
    if magic.startswith(_GZIP_MAGIC):
        try:
            from isal import igzip  # ISA-L inflate: several times zlib's speed (bench/pull_push.py)
        except ImportError:
            return gzip.GzipFile(fileobj=blob, mode="rb")
        return igzip.IGzipFile(fileobj=blob, mode="rb")  # type: ignore[no-any-return]
    if magic == _ZSTD_MAGIC:
        try:
            import zstandard
        except ImportError:
            raise errdefs.NotImplementedYet("zstd-compressed layers need the zstandard module") from None
        return zstandard.ZstdDecompressor().stream_reader(blob, read_across_frames=True)  # type: ignore[return-value]
    return blob


def _codec_errors() -> tuple[type[Exception], ...]:
    """What the optional decompressors raise on corrupt input."""
    errors: list[type[Exception]] = []
    with contextlib.suppress(ImportError):
        from isal import isal_zlib

        errors.append(isal_zlib.error)
    with contextlib.suppress(ImportError):
        import zstandard

        errors.append(zstandard.ZstdError)
    return tuple(errors)


def apply_layer(blob_path: Path, upper: Path, lowers: list[Path]) -> str:
    """Extract the layer blob into `upper` (over `lowers`, nearest first); return its diff id."""
    root_fd = os.open(upper, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    lower_fds = [os.open(lower, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC) for lower in lowers]
    try:
        with open(blob_path, "rb") as blob:
            reader = _HashingReader(_open_uncompressed(blob))
            extractor = _Extractor(root_fd, lower_fds)
            try:
                with tarfile.open(fileobj=reader, mode="r|") as tar:  # type: ignore[call-overload]
                    for member in tar:
                        try:
                            extractor.apply(tar, member)
                        except OSError as err:
                            # A hardlink to a directory (EPERM), a name too long, a path through a file:
                            # the layer is bad. Anything else (a full disk…) is the host's fault.
                            category = errdefs.InvalidArgument if err.errno in _LAYER_FAULTS else errdefs.System
                            raise category(
                                f"layer {blob_path.name}: cannot extract {member.name!r}: {err.strerror or err}"
                            ) from err
                reader.drain()  # the diff id covers the tar's trailing padding too
            except (tarfile.TarError, EOFError, gzip.BadGzipFile, UnicodeError, *_codec_errors()) as err:
                raise errdefs.InvalidArgument(f"layer {blob_path.name}: not a valid tar: {err}") from err
            extractor.finish()
            return "sha256:" + reader.hasher.hexdigest()
    finally:
        for fd in (root_fd, *lower_fds):
            os.close(fd)
