"""The build context: the request body (a tar, maybe compressed) unpacked into a private temp dir.

Untrusted input: member names are cleaned and may not be absolute or climb with `..`; hardlinks
must name a file already extracted; devices are dropped; symlinks are stored as they are but never
followed out of the context: every path is resolved with `resolve_in_root`, which treats the
context dir as `/` (an absolute or climbing link target stays inside it), as Docker's
FollowSymlinkInScope does.
"""

from __future__ import annotations

import contextlib
import errno
import os
import posixpath
import shutil
import stat
import tarfile
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from wharf import errdefs
from wharf.daemon.builder.dockerignore import IgnoreMatcher

if TYPE_CHECKING:
    from wharf.daemon.builder.context_index import ContextIndex

MAX_SYMLINKS = 255
DEFAULT_DOCKERFILE = "Dockerfile"


def clean_relative(name: str) -> str:
    """`./a//b/` → `a/b`; "" is the root. InvalidArgument for absolute or climbing names."""
    if name.startswith("/"):
        raise errdefs.InvalidArgument(f"build context: absolute path {name!r} in the archive")
    parts = [part for part in name.split("/") if part not in ("", ".")]
    if ".." in parts:
        raise errdefs.InvalidArgument(f"build context: path {name!r} climbs out of the context")
    return "/".join(parts)


class OutsideContext(errdefs.InvalidArgument):
    pass


def resolve_links(path: str, read_link: Callable[[list[str]], str | None], follow_final: bool = True,
                  strict: bool = False) -> list[str]:
    """The parts of `path` with every symlink resolved inside a root: `..` stops at the root,
    absolute targets start again at it. `read_link(parts)` is the target of the entry those parts
    name when it is a symlink, else None. With `strict` (paths of the build context), a link that
    would leave the root is an error instead."""
    pending = [part for part in path.split("/") if part]
    resolved: list[str] = []
    followed = 0
    while pending:
        part = pending.pop(0)
        if part == ".":
            continue
        if part == "..":
            if resolved:
                resolved.pop()
            elif strict:
                raise OutsideContext(f"forbidden path outside the build context: {path}")
            continue
        target = read_link([*resolved, part]) if (pending or follow_final) else None
        if target is None:
            resolved.append(part)
            continue
        followed += 1
        if followed > MAX_SYMLINKS:
            raise errdefs.InvalidArgument(f"too many levels of symbolic links: {path}")
        if target.startswith("/"):
            if strict:
                raise OutsideContext(f"forbidden path outside the build context: {path} (a symlink to {target})")
            resolved = []
        pending = [p for p in target.split("/") if p] + pending
    return resolved


def resolve_in_root(root: str, path: str, follow_final: bool = True, strict: bool = False) -> str:
    """The host path of `path` (relative to `root`, or absolute meaning `root`), symlinks resolved
    inside `root` (see resolve_links)."""
    def read_link(parts: list[str]) -> str | None:
        candidate = os.path.join(root, *parts)
        return os.readlink(candidate) if os.path.islink(candidate) else None

    return os.path.join(root, *resolve_links(path, read_link, follow_final, strict))


@dataclass
class BuildContext:
    root: str
    """Where the context is unpacked (private to this build), once a step needs its files."""
    dockerfile_text: bytes
    ignore: IgnoreMatcher = field(default_factory=lambda: IgnoreMatcher([]))
    archive: str = ""
    """The context tar as received ("" when `root` was filled some other way)."""
    index: ContextIndex | None = None
    extracted: bool = True

    def excluded(self, relative: str) -> bool:
        return bool(relative) and self.ignore.excluded(relative)

    def reaches_below(self, relative: str) -> bool:
        """An excluded directory an exception pattern may re-include files from."""
        return bool(relative) and self.ignore.reaches_below(relative)

    def ensure_extracted(self) -> None:
        """Unpack the archive into `root` (blocking; once)."""
        if not self.extracted:
            extract_context(self.archive, self.root)
            self.extracted = True

    def close(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


MAX_DEPTH = 256
_CONTEXT_FAULTS = {errno.ENAMETOOLONG, errno.EPERM, errno.ENOTDIR, errno.EISDIR, errno.ELOOP, errno.EEXIST,
                   errno.ENOTEMPTY, errno.EINVAL, errno.EXDEV, errno.ENOENT}


def _extract_member(root: str, archive: tarfile.TarFile, member: tarfile.TarInfo) -> None:
    name = clean_relative(member.name)
    if not name:
        return
    if name.count("/") >= MAX_DEPTH:  # such trees could not be walked or removed (recursive rmtree)
        raise errdefs.InvalidArgument(f"build context: {name[:200]!r}…: more than {MAX_DEPTH} levels deep")
    parent, base = posixpath.split(name)
    parent_path = resolve_in_root(root, parent)
    os.makedirs(parent_path, mode=0o755, exist_ok=True)
    target = os.path.join(parent_path, base)
    if not member.isdir():
        with contextlib.suppress(FileNotFoundError):
            if os.path.isdir(target) and not os.path.islink(target):
                shutil.rmtree(target)
            else:
                os.unlink(target)
    if member.isdir():
        if os.path.islink(target) or (os.path.exists(target) and not os.path.isdir(target)):
            os.unlink(target)
        os.makedirs(target, exist_ok=True)
    elif member.isreg():
        source = archive.extractfile(member)
        assert source is not None
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        with os.fdopen(fd, "wb") as out:
            shutil.copyfileobj(source, out, 1 << 20)
    elif member.issym():
        os.symlink(member.linkname, target)
    elif member.islnk():
        link_source = resolve_in_root(root, clean_relative(member.linkname), follow_final=False)
        if not os.path.isfile(link_source) or os.path.islink(link_source):
            raise errdefs.InvalidArgument(f"build context: hardlink {member.name!r} to a missing file")
        os.link(link_source, target)
        return
    else:
        return  # devices and fifos have no place in a build context
    if not member.issym():
        os.chmod(target, stat.S_IMODE(member.mode))
    os.lchown(target, member.uid, member.gid)
    with contextlib.suppress(OSError):
        os.utime(target, (member.mtime, member.mtime), follow_symlinks=False)


def extract_context(archive_path: str, dest: str) -> None:
    """Unpack the context tar (plain, gzip, bzip2 or xz) into `dest` (blocking; run in a thread)."""
    try:
        with tarfile.open(archive_path, mode="r:*") as archive:
            for member in archive:
                _extract_member(dest, archive, member)
    except tarfile.ReadError as err:
        if os.path.getsize(archive_path) == 0:
            return  # an empty body: an empty context (the Dockerfile may come by `remote`)
        raise errdefs.InvalidArgument(f"the build context is not a valid tar archive: {err}") from None
    except OSError as err:
        if err.errno not in _CONTEXT_FAULTS:
            raise
        # A name too long, a hardlink to a directory, a path through a file: the context is bad.
        raise errdefs.InvalidArgument(f"cannot extract the build context: {err.strerror or err}") from err


def load_context(archive: str, root: str, dockerfile: str) -> BuildContext:
    """Index the context tar and read its Dockerfile (a path inside the context) and .dockerignore;
    the files are unpacked into `root` only when a step copies from them."""
    from wharf.daemon.builder.context_index import ContextIndex, read_member

    index = ContextIndex.from_archive(archive)
    name = dockerfile or DEFAULT_DOCKERFILE
    if name.startswith("..") or "/../" in "/" + name:
        raise errdefs.InvalidArgument(f"the Dockerfile ({name}) must be within the build context")
    candidates = [name] if dockerfile else [DEFAULT_DOCKERFILE, "dockerfile"]
    entry = None
    for candidate in candidates:
        entry = index.get(posixpath.normpath("/" + candidate).lstrip("/"))
        if entry is not None and entry.is_file:
            break
        entry = None
    if entry is None:
        raise errdefs.InvalidArgument(f"Cannot locate specified Dockerfile: {name}")
    text = read_member(archive, entry)
    ignore = IgnoreMatcher([])
    ignore_entry = index.get(".dockerignore")
    if ignore_entry is not None and ignore_entry.is_file:
        try:
            ignore = IgnoreMatcher.from_file_text(read_member(archive, ignore_entry).decode("utf-8", "replace"))
        except ValueError as err:
            raise errdefs.InvalidArgument(f"invalid .dockerignore: {err}") from None
    return BuildContext(root, text, ignore, archive, index, extracted=False)


def source_paths(context_root: str, pattern: str) -> list[str]:
    """Relative paths in the context matching a COPY source (a path or a glob). Climbing out of the
    context is refused with Docker's message."""
    cleaned = posixpath.normpath("/" + pattern)
    if posixpath.normpath(pattern).startswith("../") or posixpath.normpath(pattern) == "..":
        raise errdefs.InvalidArgument(f"forbidden path outside the build context: {pattern} ()")
    relative = cleaned.lstrip("/")
    if not any(ch in relative for ch in "*?["):
        return [relative]
    matches: list[str] = []
    parts = relative.split("/")
    _glob(context_root, "", parts, matches)
    return sorted(matches)


def _glob(root: str, prefix: str, parts: list[str], out: list[str]) -> None:
    from fnmatch import fnmatchcase

    if not parts:
        if os.path.lexists(resolve_in_root(root, prefix)):
            out.append(prefix)
        return
    head, rest = parts[0], parts[1:]
    directory = resolve_in_root(root, prefix) if prefix else root
    if not any(ch in head for ch in "*?["):
        _glob(root, f"{prefix}/{head}" if prefix else head, rest, out)
        return
    try:
        entries = sorted(os.listdir(directory))
    except OSError:
        return
    for entry in entries:
        if fnmatchcase(entry, head):
            _glob(root, f"{prefix}/{entry}" if prefix else entry, rest, out)
