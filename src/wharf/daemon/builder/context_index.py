"""An index of the build context tar, made in one pass without writing a file: names, types,
modes, owners, content digests. COPY/ADD checksums (the cache) and source matching use it, so
a build whose steps all hit the cache never unpacks its context; the context is extracted only
when a step really copies from it.

Names resolve as they would on disk after extraction (`context.extract_context`): a member's
parent path follows symlinks inside the context, `..` stops at its root; with `strict`, a link
leaving the context is an error (`OutsideContext`)."""

from __future__ import annotations

import hashlib
import posixpath
import stat
import tarfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from fnmatch import fnmatchcase

from wharf import errdefs
from wharf.daemon.builder.context import clean_relative, resolve_links

_CHUNK = 1 << 20


@dataclass
class IndexEntry:
    mode: int
    """As lstat gives it: type bits and permissions."""
    uid: int = 0
    gid: int = 0
    size: int = 0
    digest: str = ""
    linkname: str = ""
    offset: int = -1
    """Where the content starts in the (uncompressed) tar stream."""
    children: set[str] = field(default_factory=set)

    @property
    def is_dir(self) -> bool:
        return stat.S_ISDIR(self.mode)

    @property
    def is_symlink(self) -> bool:
        return stat.S_ISLNK(self.mode)

    @property
    def is_file(self) -> bool:
        return stat.S_ISREG(self.mode)


@dataclass
class IndexedSource:
    top: str
    inside: str
    entry: IndexEntry


class ContextIndex:
    def __init__(self) -> None:
        self.entries: dict[str, IndexEntry] = {"": IndexEntry(stat.S_IFDIR | 0o755)}

    # ---- building ---------------------------------------------------------------------------

    @classmethod
    def from_archive(cls, path: str) -> ContextIndex:
        index = cls()
        try:
            with tarfile.open(path, mode="r:*") as archive:
                for member in archive:
                    index._add(archive, member)
        except tarfile.ReadError as err:
            import os

            if os.path.getsize(path) == 0:
                return index
            raise errdefs.InvalidArgument(f"the build context is not a valid tar archive: {err}") from None
        return index

    def _mkdir_p(self, key: str) -> None:
        parts = [p for p in key.split("/") if p]
        current = ""
        for part in parts:
            child = f"{current}/{part}" if current else part
            entry = self.entries.get(child)
            if entry is None:
                self.entries[child] = IndexEntry(stat.S_IFDIR | 0o755)
                self.entries[current].children.add(part)
            elif not entry.is_dir:
                raise errdefs.InvalidArgument(f"build context: {child!r} is not a directory")
            current = child

    def _remove(self, key: str) -> None:
        entry = self.entries.get(key)
        if entry is None:
            return
        for child in list(entry.children):
            self._remove(f"{key}/{child}")
        del self.entries[key]
        parent, base = posixpath.split(key)
        self.entries[parent].children.discard(base)

    def _add(self, archive: tarfile.TarFile, member: tarfile.TarInfo) -> None:
        name = clean_relative(member.name)
        if not name:
            return
        parent, base = posixpath.split(name)
        parent_key = self.resolve(parent)
        self._mkdir_p(parent_key)
        key = f"{parent_key}/{base}" if parent_key else base
        existing = self.entries.get(key)
        perms = stat.S_IMODE(member.mode)
        if member.isdir():
            if existing is not None and existing.is_dir:
                existing.mode, existing.uid, existing.gid = stat.S_IFDIR | perms, member.uid, member.gid
                return
            self._remove(key)
            entry = IndexEntry(stat.S_IFDIR | perms, member.uid, member.gid)
        elif member.isreg():
            source = archive.extractfile(member)
            assert source is not None
            digest = hashlib.sha256()
            while chunk := source.read(_CHUNK):
                digest.update(chunk)
            self._remove(key)
            entry = IndexEntry(stat.S_IFREG | perms, member.uid, member.gid, member.size, digest.hexdigest(),
                               offset=member.offset_data)  # fmt: skip
        elif member.issym():
            self._remove(key)
            entry = IndexEntry(stat.S_IFLNK | 0o777, member.uid, member.gid, linkname=member.linkname)
        elif member.islnk():
            target = self.entries.get(self.resolve(clean_relative(member.linkname), follow_final=False))
            if target is None or not target.is_file:
                raise errdefs.InvalidArgument(f"build context: hardlink {member.name!r} to a missing file")
            self._remove(key)
            entry = IndexEntry(stat.S_IFREG | perms, member.uid, member.gid, target.size, target.digest,
                               offset=target.offset)  # fmt: skip
        else:
            return  # devices and fifos have no place in a build context (extraction drops them too)
        self.entries[key] = entry
        self.entries[parent_key].children.add(base)

    # ---- lookups ----------------------------------------------------------------------------

    def resolve(self, path: str, follow_final: bool = True, strict: bool = False) -> str:
        """The key of `path` with symlinks followed inside the context (see context.resolve_links)."""
        def read_link(parts: list[str]) -> str | None:
            entry = self.entries.get("/".join(parts))
            return entry.linkname if entry is not None and entry.is_symlink else None

        return "/".join(resolve_links(path, read_link, follow_final, strict))

    def get(self, path: str, strict: bool = False) -> IndexEntry | None:
        return self.entries.get(self.resolve(path, strict=strict))

    def listdir(self, path: str) -> list[str]:
        entry = self.get(path)
        return sorted(entry.children) if entry is not None and entry.is_dir else []

    def glob(self, pattern: str) -> list[str]:
        """COPY source matching over the index (as context.source_paths does on disk)."""
        cleaned = posixpath.normpath(pattern)
        if cleaned == ".." or cleaned.startswith("../"):
            raise errdefs.InvalidArgument(f"forbidden path outside the build context: {pattern} ()")
        relative = posixpath.normpath("/" + pattern).lstrip("/")
        if not any(ch in relative for ch in "*?["):
            return [relative]
        matches: list[str] = []
        self._glob("", relative.split("/"), matches)
        return sorted(matches)

    def _glob(self, prefix: str, parts: list[str], out: list[str]) -> None:
        if not parts:
            if self.get(prefix) is not None:
                out.append(prefix)
            return
        head, rest = parts[0], parts[1:]
        if not any(ch in head for ch in "*?["):
            self._glob(f"{prefix}/{head}" if prefix else head, rest, out)
            return
        for name in self.listdir(prefix):
            if fnmatchcase(name, head):
                self._glob(f"{prefix}/{name}" if prefix else name, rest, out)

    def walk(self, sources: list[str], strict: bool, skip: Callable[[str], bool],
             reenter: Callable[[str], bool] = lambda _: False) -> Iterator[IndexedSource]:  # fmt: skip
        """As copy.walk_sources, over the index."""
        for top in sources:
            key = self.resolve(top, strict=strict)
            entry = self.entries.get(key)
            skipped_dir = bool(top) and skip(top) and reenter(top) and entry is not None and entry.is_dir
            if (top and skip(top) and not skipped_dir) or entry is None:
                raise errdefs.NotFound(
                    f"file not found in build context or excluded by .dockerignore: stat {top or '.'}: "
                    "file does not exist"
                )
            yield IndexedSource(top, "", entry)
            if entry.is_dir:
                yield from self._walk_dir(key, top, "", skip, reenter)

    def _walk_dir(self, key: str, top: str, inside: str, skip: Callable[[str], bool],
                  reenter: Callable[[str], bool]) -> Iterator[IndexedSource]:  # fmt: skip
        # Depth first in sorted order, with a stack rather than recursion: a hostile context may
        # nest directories thousands deep.
        stack = [(key, inside, iter(sorted(self.entries[key].children)))]
        while stack:
            key, inside, names = stack[-1]
            name = next(names, None)
            if name is None:
                stack.pop()
                continue
            below = f"{inside}/{name}" if inside else name
            relative = f"{top}/{below}" if top else below
            child_key = f"{key}/{name}" if key else name
            entry = self.entries[child_key]
            if skip(relative):
                if entry.is_dir and reenter(relative):  # not taken, but exceptions may be below
                    stack.append((child_key, below, iter(sorted(entry.children))))
                continue
            yield IndexedSource(top, below, entry)
            if entry.is_dir:
                stack.append((child_key, below, iter(sorted(entry.children))))


def index_checksum(sources: Iterator[IndexedSource]) -> str:
    """Content, name, mode and ownership of every entry COPY would read."""
    digest = hashlib.sha256()
    for source in sources:
        entry = source.entry
        digest.update(f"{source.top}\0{source.inside}\0{entry.mode:o}\0{entry.uid}:{entry.gid}\0".encode())
        digest.update((entry.digest if entry.is_file else entry.linkname if entry.is_symlink else "").encode())
        digest.update(b"\n")
    return "sha256:" + digest.hexdigest()


def read_member(archive_path: str, entry: IndexEntry, limit: int = 16 << 20) -> bytes:
    """The content of an indexed file (the Dockerfile, .dockerignore)."""
    if entry.size > limit:
        raise errdefs.InvalidArgument(f"file too large: {entry.size} bytes")
    with tarfile.open(archive_path, mode="r:*") as archive:
        stream = archive.fileobj
        assert stream is not None
        stream.seek(entry.offset)
        return bytes(stream.read(entry.size))
