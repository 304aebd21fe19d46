"""The build cache, as Docker's classic builder keeps it: a step is a hit when its parent image,
its instruction text (after substitution, with the build args RUN sees) and, for COPY/ADD, the
checksum of the copied files all match a step built before.

The index is a JSON file under `<data-root>/builder/`, rewritten atomically, so it survives a
restart of wharfd. Entries only name content (the resulting image's manifest digest); a hit whose
content is gone is a miss."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import threading


def cache_key(parent_id: str, instruction: str, files_checksum: str = "") -> str:
    text = json.dumps([parent_id, instruction, files_checksum])
    return hashlib.sha256(text.encode()).hexdigest()


class BuildCache:
    def __init__(self, directory: str) -> None:
        os.makedirs(directory, mode=0o700, exist_ok=True)
        self._path = os.path.join(directory, "cache.json")
        self._lock = threading.Lock()
        self._entries: dict[str, str] = self._load()

    def _load(self) -> dict[str, str]:
        try:
            with open(self._path) as source:
                data = json.load(source)
        except (FileNotFoundError, ValueError):
            return {}
        return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}

    def get(self, key: str) -> str | None:
        """The manifest digest of the image a step made, or None."""
        return self._entries.get(key)

    def manifests(self) -> set[str]:
        """Every manifest digest the cache names (kept from garbage collection by a lease)."""
        with self._lock:
            return set(self._entries.values())

    def put(self, key: str, manifest_digest: str) -> None:
        with self._lock:
            self._entries[key] = manifest_digest
            self._save()

    def forget(self, key: str) -> None:
        with self._lock:
            if self._entries.pop(key, None) is not None:
                self._save()

    def clear(self) -> int:
        with self._lock:
            count = len(self._entries)
            self._entries = {}
            self._save()
            return count

    def _save(self) -> None:
        directory = os.path.dirname(self._path)
        fd, temp = tempfile.mkstemp(dir=directory, prefix=".cache-")
        try:
            with os.fdopen(fd, "w") as out:
                json.dump(self._entries, out)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temp, self._path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp)
            raise
