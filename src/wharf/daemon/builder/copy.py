"""COPY and ADD on files: sources (from the context or another stage's rootfs) into a mounted
rootfs, with Docker's destination rules, and the checksum of what is copied (for the cache).

Blocking I/O: call from a thread. Source paths resolve inside their root (`strict` for the build
context: a link leaving it is an error); destination paths resolve inside the target rootfs, whose
absolute symlinks are the image's own and so point inside it.

Destination rules (Docker's): a destination ending in `/`, or several sources, is a directory;
a single file source copied onto an existing directory goes inside it; a directory source copies
its contents, not itself; new parent directories are 0755, owned by the `--chown` user (else root).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import posixpath
import shutil
import stat
import tarfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from wharf import errdefs
from wharf.daemon.builder.context import OutsideContext, clean_relative, resolve_in_root

_CHUNK = 1 << 20


@dataclass
class CopyOptions:
    uid: int | None = None
    gid: int | None = None
    mode: int | None = None
    extract_archives: bool = False
    """ADD: a local tar archive (plain, gzip, bzip2, xz) is unpacked into the destination."""


@dataclass
class SourceEntry:
    top: str
    """The source as matched (`src/app`), relative to its root."""
    host_path: str
    inside: str
    """The path below `top` ("" for `top` itself)."""
    st: os.stat_result


Skip = Callable[[str], bool]


def _never(_: str) -> bool:
    return False


def walk_sources(
    root: str, sources: list[str], strict: bool, skip: Skip = _never, reenter: Skip = _never
) -> Iterator[SourceEntry]:
    """Every entry that COPY would read, in a stable order. Missing sources are errors. A skipped
    directory for which `reenter` says yes is not read, but what is below it is walked."""
    for top in sources:
        try:
            resolved = resolve_in_root(root, top, strict=strict)
        except OutsideContext:
            raise
        skipped_dir = bool(top) and skip(top) and reenter(top) and os.path.isdir(resolved)
        if (top and skip(top) and not skipped_dir) or not os.path.lexists(resolved):
            raise errdefs.NotFound(
                f"file not found in build context or excluded by .dockerignore: stat {top or '.'}: "
                "file does not exist"
            )
        st = os.lstat(resolved)
        yield SourceEntry(top, resolved, "", st)
        if stat.S_ISDIR(st.st_mode):
            yield from _walk_dir(resolved, top, "", skip, reenter)


def _walk_dir(directory: str, top: str, inside: str, skip: Skip, reenter: Skip) -> Iterator[SourceEntry]:
    for name in sorted(os.listdir(directory)):
        below = f"{inside}/{name}" if inside else name
        relative = f"{top}/{below}" if top else below
        path = os.path.join(directory, name)
        if skip(relative):
            if reenter(relative) and os.path.isdir(path) and not os.path.islink(path):
                yield from _walk_dir(path, top, below, skip, reenter)
            continue
        st = os.lstat(path)
        yield SourceEntry(top, path, below, st)
        if stat.S_ISDIR(st.st_mode):
            yield from _walk_dir(path, top, below, skip, reenter)


def checksum(entries: Iterator[SourceEntry]) -> str:
    """Content, name, mode and ownership of every entry: equal checksums mean an equal copy."""
    digest = hashlib.sha256()
    for entry in entries:
        st = entry.st
        digest.update(f"{entry.top}\0{entry.inside}\0{st.st_mode:o}\0{st.st_uid}:{st.st_gid}\0".encode())
        if stat.S_ISREG(st.st_mode):
            digest.update(_file_digest(entry.host_path).encode())
        elif stat.S_ISLNK(st.st_mode):
            digest.update(os.readlink(entry.host_path).encode())
        digest.update(b"\n")
    return "sha256:" + digest.hexdigest()


def _file_digest(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb", buffering=0) as source:
        while chunk := source.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


# ---- writing into the rootfs --------------------------------------------------------------------


def make_dirs(rootfs: str, path: str, uid: int, gid: int) -> str:
    """mkdir -p inside the rootfs; new dirs get 0755 and the owner. Returns the host path."""
    current = ""
    for part in [p for p in path.split("/") if p]:
        host = resolve_in_root(rootfs, f"{current}/{part}")
        if not os.path.lexists(host):
            os.mkdir(host, 0o755)
            os.chmod(host, 0o755)
            os.lchown(host, uid, gid)
        elif not os.path.isdir(host):
            raise errdefs.InvalidArgument(f"cannot copy to {path}: /{os.path.relpath(host, rootfs)} is not a directory")
        current = os.path.relpath(host, rootfs)
    return resolve_in_root(rootfs, path)


def _clear(target: str, keep_dir: bool) -> None:
    if not os.path.lexists(target):
        return
    if os.path.isdir(target) and not os.path.islink(target):
        if keep_dir:
            return
        shutil.rmtree(target)
    else:
        os.unlink(target)


def _owner(st: os.stat_result, options: CopyOptions) -> tuple[int, int]:
    return (options.uid if options.uid is not None else 0, options.gid if options.gid is not None else 0)


def _place(entry_path: str, st: os.stat_result, target: str, options: CopyOptions) -> None:
    uid, gid = _owner(st, options)
    if stat.S_ISDIR(st.st_mode):
        _clear(target, keep_dir=True)
        if not os.path.lexists(target):
            os.mkdir(target)
        os.chmod(target, options.mode if options.mode is not None else stat.S_IMODE(st.st_mode))
    elif stat.S_ISLNK(st.st_mode):
        _clear(target, keep_dir=False)
        os.symlink(os.readlink(entry_path), target)
    elif stat.S_ISREG(st.st_mode):
        _clear(target, keep_dir=False)
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        with os.fdopen(fd, "wb") as out, open(entry_path, "rb") as source:
            shutil.copyfileobj(source, out, _CHUNK)
        os.chmod(target, options.mode if options.mode is not None else stat.S_IMODE(st.st_mode))
    else:
        return  # fifos and devices are not copied
    os.lchown(target, uid, gid)
    with contextlib.suppress(OSError):
        os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns), follow_symlinks=False)


def _is_archive(path: str) -> bool:
    try:
        return tarfile.is_tarfile(path)
    except OSError:
        return False


def copy_into(
    rootfs: str, src_root: str, sources: list[str], dest: str, options: CopyOptions, strict: bool,
    skip: Skip = _never, reenter: Skip = _never,
) -> None:  # fmt: skip
    """Copy `sources` (relative to `src_root`) to `dest` (absolute, in the rootfs)."""
    owner = _owner(os.stat(rootfs), options)
    dest_is_dir = dest.endswith("/") or len(sources) > 1
    dest_clean = posixpath.normpath("/" + dest)
    if len(sources) > 1 and not dest.endswith("/"):
        raise errdefs.InvalidArgument(
            "When using COPY with more than one source file, the destination must be a directory and end with a /"
        )
    for entry in walk_sources(src_root, sources, strict, skip, reenter):
        if entry.inside == "":
            if stat.S_ISDIR(entry.st.st_mode):
                target = make_dirs(rootfs, dest_clean, *owner)
                if options.mode is not None:
                    os.chmod(target, options.mode)
                continue
            if options.extract_archives and stat.S_ISREG(entry.st.st_mode) and _is_archive(entry.host_path):
                extract_archive(entry.host_path, make_dirs(rootfs, dest_clean, *owner), rootfs, options)
                continue
            existing = resolve_in_root(rootfs, dest_clean)
            if dest_is_dir or os.path.isdir(existing):
                base = posixpath.basename(entry.top) or posixpath.basename(entry.host_path)
                target_dir = make_dirs(rootfs, dest_clean, *owner)
                target = os.path.join(target_dir, base)
            else:
                parent = make_dirs(rootfs, posixpath.dirname(dest_clean), *owner)
                target = os.path.join(parent, posixpath.basename(dest_clean))
            _place(entry.host_path, entry.st, target, options)
            continue
        top_dir = resolve_in_root(rootfs, dest_clean)
        parent_rel, name = posixpath.split(entry.inside)
        parent = resolve_in_root(rootfs, os.path.relpath(os.path.join(top_dir, parent_rel), rootfs))
        if not os.path.isdir(parent):  # below a directory .dockerignore left out (an exception)
            parent = make_dirs(rootfs, os.path.relpath(parent, rootfs), *owner)
        _place(entry.host_path, entry.st, os.path.join(parent, name), options)


def extract_archive(archive_path: str, target_dir: str, rootfs: str, options: CopyOptions) -> None:
    """ADD of a local archive: members land under `target_dir`, never outside the rootfs."""
    base = os.path.relpath(target_dir, rootfs)
    with tarfile.open(archive_path, mode="r:*") as archive:
        for member in archive:
            try:
                name = clean_relative(member.name.lstrip("/"))
            except errdefs.InvalidArgument:
                continue  # climbing names are dropped
            if not name:
                continue
            parent_rel, leaf = posixpath.split(name)
            parent = make_dirs(rootfs, f"{base}/{parent_rel}", 0, 0)
            target = os.path.join(parent, leaf)
            if member.isdir():
                _clear(target, keep_dir=True)
                if not os.path.lexists(target):
                    os.mkdir(target)
            elif member.isreg():
                _clear(target, keep_dir=False)
                source = archive.extractfile(member)
                assert source is not None
                fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
                with os.fdopen(fd, "wb") as out:
                    shutil.copyfileobj(source, out, _CHUNK)
            elif member.issym():
                _clear(target, keep_dir=False)
                os.symlink(member.linkname, target)
            elif member.islnk():
                link_source = resolve_in_root(rootfs, f"{base}/{clean_relative(member.linkname)}", follow_final=False)
                if os.path.isfile(link_source) and not os.path.islink(link_source):
                    _clear(target, keep_dir=False)
                    os.link(link_source, target)
                continue
            else:
                continue
            if not member.issym():
                os.chmod(target, stat.S_IMODE(member.mode))
            uid = options.uid if options.uid is not None else member.uid
            gid = options.gid if options.gid is not None else member.gid
            os.lchown(target, uid, gid)
            with contextlib.suppress(OSError):
                os.utime(target, (member.mtime, member.mtime), follow_symlinks=False)
