"""Where COPY/ADD and `RUN --mount=type=bind` read from: the build context (answered from its index
until files are really needed, then unpacked) or a directory (a stage's or an image's rootfs,
mounted read-only). Both give the same answers: matching names, checksums, kinds."""

from __future__ import annotations

import os
from typing import Protocol

from wharf import errdefs
from wharf.daemon.builder.context import BuildContext, resolve_in_root, source_paths
from wharf.daemon.builder.context_index import index_checksum
from wharf.daemon.builder.copy import Skip, checksum, walk_sources


class CopySource(Protocol):
    root: str
    strict: bool

    def skip(self, relative: str) -> bool: ...

    def reenter(self, relative: str) -> bool:
        """A skipped directory to walk into anyway (.dockerignore exceptions below it)."""

    def glob(self, pattern: str) -> list[str]: ...

    def checksum(self, sources: list[str]) -> str:
        """Blocking (hashes files)."""

    def is_dir(self, source: str) -> bool: ...

    def prepare(self) -> None:
        """Blocking: make the files exist under `root`."""


class ContextSource:
    strict = True

    def __init__(self, context: BuildContext) -> None:
        self._context = context
        self.root = context.root

    def skip(self, relative: str) -> bool:
        return self._context.excluded(relative)

    def reenter(self, relative: str) -> bool:
        return self._context.reaches_below(relative)

    def glob(self, pattern: str) -> list[str]:
        if self._context.index is None:
            return source_paths(self.root, pattern)
        return self._context.index.glob(pattern)

    def checksum(self, sources: list[str]) -> str:
        if self._context.index is None:
            return checksum(walk_sources(self.root, sources, True, self.skip, self.reenter))
        return index_checksum(self._context.index.walk(sources, True, self.skip, self.reenter))

    def is_dir(self, source: str) -> bool:
        if self._context.index is None:
            return os.path.isdir(resolve_in_root(self.root, source, strict=True))
        entry = self._context.index.get(source, strict=True)
        return entry is not None and entry.is_dir

    def prepare(self) -> None:
        self._context.ensure_extracted()


class DirectorySource:
    strict = False

    def __init__(self, root: str, skip: Skip | None = None) -> None:
        self.root = root
        self._skip = skip

    def skip(self, relative: str) -> bool:
        return bool(self._skip and self._skip(relative))

    def reenter(self, relative: str) -> bool:
        return False

    def glob(self, pattern: str) -> list[str]:
        return source_paths(self.root, pattern)

    def checksum(self, sources: list[str]) -> str:
        return checksum(walk_sources(self.root, sources, False, self.skip))

    def is_dir(self, source: str) -> bool:
        return os.path.isdir(resolve_in_root(self.root, source))

    def prepare(self) -> None:
        if not os.path.isdir(self.root):
            raise errdefs.NotFound(f"source directory {self.root} is gone")
