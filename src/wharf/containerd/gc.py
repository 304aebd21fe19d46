"""Garbage collection of content blobs and snapshots: mark from the roots, sweep the rest.

Roots (what is kept, with everything it reaches):
- every image record: its target blob; an index's manifests, a manifest's config and layers (read
  from the blobs themselves), plus containerd's `containerd.io/gc.ref.content*` labels on any kept
  blob; the snapshot named by the chain id of each manifest's config (`rootfs.diff_ids`);
- every container record: its snapshot (`snapshot_key`);
- every live lease (core/leases.py): the blobs and snapshots it references; an expired lease
  (`containerd.io/gc.expire` passed) is deleted by the collector and protects nothing;
- blobs and snapshots labelled `containerd.io/gc.root`, and those labelled
  `containerd.io/gc.ref.snapshot.*` / `containerd.io/gc.ref.content*` from a kept one;
- a kept snapshot keeps its parents, up to the bottom layer.

Never swept, whatever the roots say:
- what was made after the collection started, or less than `grace` seconds before (clients that
  don't hold a lease between making a resource and recording it, e.g. a container's snapshot prepared
  just before the container is stored);
- a snapshot whose directory appears in a mount of this mount namespace (/proc/self/mountinfo):
  the collector unmounts nothing.

The mark and the decisions are made in one step of the event loop (no await), as are the record
removals, so no RPC of this process interleaves with them; only the directory removal of snapshots
already unrecorded runs in a thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wharf.containerd.core.leases import CONTENT, SNAPSHOTS, expires_at
from wharf.containerd.plugins.content_local import LocalContentStore
from wharf.containerd.plugins.metadata_sqlite import MetadataDB, SqliteLeaseManager
from wharf.containerd.plugins.snapshots_overlay import OverlaySnapshotter
from wharf.containerd.plugins.unpack.unpacker import chain_ids
from wharf.oci.image import INDEX_TYPES, MANIFEST_TYPES

log = logging.getLogger(__name__)

ROOT_LABEL = "containerd.io/gc.root"
CONTENT_REF_PREFIX = "containerd.io/gc.ref.content"
SNAPSHOT_REF_PREFIX = "containerd.io/gc.ref.snapshot."
DEFAULT_GRACE = 60.0
DEFAULT_DELAY = 0.5
_MAX_DOCUMENT = 16 << 20
"""Blobs larger than this are never read as manifests or configs (layers, not JSON)."""


@dataclass
class Collection:
    """What one collection removed."""

    content: list[str] = field(default_factory=list)
    snapshots: list[str] = field(default_factory=list)
    leases: list[str] = field(default_factory=list)


_ANY_DIGEST = "sha256:" + "0" * 64


@dataclass
class Marks:
    """What the roots reach: blob digests and snapshot keys/names."""

    content: set[str] = field(default_factory=set)
    snapshots: set[str] = field(default_factory=set)


class GarbageCollector:
    def __init__(self, db: MetadataDB, content: LocalContentStore, snapshots: OverlaySnapshotter,
                 leases: SqliteLeaseManager, grace: float = DEFAULT_GRACE, delay: float = DEFAULT_DELAY) -> None:  # fmt: skip
        self._db = db
        self._content = content
        self._snapshots = snapshots
        self._leases = leases
        self.grace = grace
        self._delay = delay
        self._timer: asyncio.TimerHandle | None = None
        self._expiry_timer: asyncio.TimerHandle | None = None
        self._running: asyncio.Task[Collection] | None = None
        self._again = False

    # -- scheduling ---------------------------------------------------------------------------

    def schedule(self) -> None:
        """A collection soon: deletions come in bursts (rmi of many tags, prune), one pass serves them."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop (a synchronous tool using the stores): nothing to schedule on
        if self._running is not None and not self._running.done():
            self._again = True
            return
        if self._timer is None:
            self._timer = loop.call_later(self._delay, self._start)

    def _start(self) -> None:
        self._timer = None
        self._running = asyncio.ensure_future(self.collect())
        self._running.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[Collection]) -> None:
        if not task.cancelled() and task.exception() is not None:
            log.error("garbage collection failed", exc_info=task.exception())
        if self._again:
            self._again = False
            self.schedule()

    async def wait_idle(self) -> None:
        """Until no collection is pending or running (for tests and shutdown)."""
        while self._timer is not None or (self._running is not None and not self._running.done()):
            await asyncio.sleep(0.05)

    def close(self) -> None:
        for timer in (self._timer, self._expiry_timer):
            if timer is not None:
                timer.cancel()
        self._timer = self._expiry_timer = None
        if self._running is not None:
            self._running.cancel()

    def _schedule_expiry(self, next_expiry: float | None) -> None:
        """A collection when the next lease expires (or spared garbage comes of age)."""
        if self._expiry_timer is not None:
            self._expiry_timer.cancel()
            self._expiry_timer = None
        if next_expiry is None:
            return
        with contextlib.suppress(RuntimeError):
            loop = asyncio.get_running_loop()
            # call_later takes seconds; cap it so a far expiry doesn't overflow the loop's clock math.
            delay = min(max(next_expiry - time.time(), 0.0) + 0.1, 86400.0)
            self._expiry_timer = loop.call_later(delay, self.schedule)

    # -- the collection -----------------------------------------------------------------------

    async def collect(self) -> Collection:
        started = time.time_ns()
        keep_after = started - int(self.grace * 1e9)
        result = Collection()
        # Everything from here to the snapshot records' removal runs without an await.
        next_expiry = self._drop_expired_leases(result)
        marks = mark(self._db, self._content.blob_path(_ANY_DIGEST).parent)
        unmarked = [digest for digest in self._blob_digests() if digest not in marks.content]
        doomed_content = [digest for digest in unmarked if not self._young_blob(digest, keep_after)]
        doomed_snapshots, young_snapshots = self._doomed_snapshots(marks, keep_after)
        if len(doomed_content) < len(unmarked) or young_snapshots:
            # Garbage spared only for being young: look again once the grace is over.
            next_expiry = min(next_expiry or float("inf"), time.time() + self.grace)
        for digest in doomed_content:
            with contextlib.suppress(FileNotFoundError):
                self._content.blob_path(digest).unlink()
            self._db.execute("DELETE FROM content WHERE digest = ?", (digest,))
            result.content.append(digest)
        dirs: list[Path] = []
        for snapshot_id, key in doomed_snapshots:
            self._db.execute("DELETE FROM snapshots WHERE id = ?", (snapshot_id,))
            self._db.execute("DELETE FROM lease_resources WHERE type = ? AND id = ?", (SNAPSHOTS, key))
            dirs.append(self._snapshots.dir_of(snapshot_id))
            result.snapshots.append(key)
        self._schedule_expiry(next_expiry)
        for path in dirs:
            await asyncio.to_thread(shutil.rmtree, path, True)
        if result.content or result.snapshots or result.leases:
            log.info("garbage collection removed %d blobs, %d snapshots, %d expired leases",
                     len(result.content), len(result.snapshots), len(result.leases))  # fmt: skip
        return result

    def _drop_expired_leases(self, result: Collection) -> float | None:
        now = time.time()
        next_expiry: float | None = None
        for row in self._db.execute("SELECT id, labels FROM leases").fetchall():
            at = expires_at(json.loads(row["labels"]))
            if at is None:
                continue
            if at <= now:
                with contextlib.suppress(Exception):
                    self._leases.delete_now(row["id"])
                    result.leases.append(row["id"])
            elif next_expiry is None or at < next_expiry:
                next_expiry = at
        return next_expiry

    # -- the sweep ----------------------------------------------------------------------------

    def _blob_digests(self) -> list[str]:
        blobs = self._content.blob_path(_ANY_DIGEST).parent
        try:
            names = os.listdir(blobs)
        except FileNotFoundError:
            return []
        return ["sha256:" + name for name in names if len(name) == 64]

    def _young_blob(self, digest: str, keep_after: int) -> bool:
        """Published at or after `keep_after` (ctime: the rename into place sets it)."""
        try:
            st = self._content.blob_path(digest).stat()
        except FileNotFoundError:
            return True  # gone already
        row = self._db.execute("SELECT created_at FROM content WHERE digest = ?", (digest,)).fetchone()
        newest = max(st.st_ctime_ns, st.st_mtime_ns, row["created_at"] if row else 0)
        return newest >= keep_after

    def _doomed_snapshots(self, marks: Marks, keep_after: int) -> tuple[list[tuple[int, str]], bool]:
        """Unmarked, old enough, not mounted; children before parents (ids grow from parent to child).
        A snapshot whose child stays is kept too. Also says whether garbage was spared for its youth."""
        mounted = _mounted_paths()
        rows = self._db.execute("SELECT id, key, parent, created_at FROM snapshots ORDER BY id DESC").fetchall()
        kept_parents: set[str] = set()
        doomed: list[tuple[int, str]] = []
        young = False
        for row in rows:
            key = row["key"]
            base = self._snapshots.dir_of(row["id"])
            referenced = key in marks.snapshots or key in kept_parents
            young = young or (not referenced and row["created_at"] >= keep_after)
            keep = (
                referenced
                or row["created_at"] >= keep_after
                or any(str(base) == m or m.startswith(f"{base}/") for m in mounted)
            )
            if keep:
                if row["parent"]:
                    kept_parents.add(row["parent"])
            else:
                doomed.append((row["id"], key))
        return doomed, young


def mark(db: MetadataDB, blob_dir: Path) -> Marks:
    """Everything the roots reach (see the module's doc). Reads only: fsck uses it on a live store.
    Rows are read by position, so any sqlite3 connection will do."""
    now = time.time()
    marks = Marks()
    pending: list[tuple[str, str]] = []  # (digest, media type if known)
    for (target_json,) in db.execute("SELECT target FROM images"):
        target = json.loads(target_json)
        pending.append((str(target.get("digest", "")), str(target.get("mediaType", ""))))
    for (snapshot_key,) in db.execute("SELECT snapshot_key FROM containers"):
        marks.snapshots.add(snapshot_key)
    live: set[str] = set()
    tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    has_leases = "leases" in tables  # a store not yet migrated (fsck opens read-only) has none
    for lease_id, labels in db.execute("SELECT id, labels FROM leases") if has_leases else ():
        at = expires_at(json.loads(labels))
        if at is None or at > now:
            live.add(lease_id)
    resources = db.execute("SELECT lease_id, type, id FROM lease_resources") if has_leases else ()
    for lease_id, resource_type, resource_id in resources:
        if lease_id not in live:
            continue
        if resource_type == CONTENT:
            pending.append((resource_id, ""))
        elif resource_type == SNAPSHOTS:
            marks.snapshots.add(resource_id)
    content_labels = {digest: json.loads(labels) for digest, labels in db.execute("SELECT digest, labels FROM content")}
    pending += [(digest, "") for digest, labels in content_labels.items() if ROOT_LABEL in labels]
    snapshot_labels = {key: json.loads(labels) for key, labels in db.execute("SELECT key, labels FROM snapshots")}
    marks.snapshots |= {key for key, labels in snapshot_labels.items() if ROOT_LABEL in labels}

    documents = _Documents(blob_dir)
    while pending:
        digest, media_type = pending.pop()
        if digest in marks.content or not digest.startswith("sha256:"):
            continue
        marks.content.add(digest)
        for name, value in content_labels.get(digest, {}).items():
            if name.startswith(CONTENT_REF_PREFIX):
                pending.append((value, ""))
            elif name.startswith(SNAPSHOT_REF_PREFIX):
                marks.snapshots.add(value)
        children, snapshot = documents.references(digest, media_type)
        pending += children
        if snapshot:
            marks.snapshots.add(snapshot)

    # A kept snapshot keeps its parents (and what their labels reference).
    parents = dict(db.execute("SELECT key, parent FROM snapshots").fetchall())
    for key in list(marks.snapshots):
        parent = parents.get(key, "")
        while parent and parent not in marks.snapshots:
            marks.snapshots.add(parent)
            for name, value in snapshot_labels.get(parent, {}).items():
                if name.startswith(SNAPSHOT_REF_PREFIX):
                    marks.snapshots.add(value)
            parent = parents.get(parent, "")
    return marks


class _Documents:
    """Manifests, indexes and configs read from the blob directory, for what they reference."""

    def __init__(self, blob_dir: Path) -> None:
        self._dir = blob_dir

    def references(self, digest: str, media_type: str) -> tuple[list[tuple[str, str]], str]:
        """What a manifest or index blob points at: (child blobs, the chain id of its rootfs)."""
        if media_type and media_type not in MANIFEST_TYPES and media_type not in INDEX_TYPES:
            return [], ""
        document = self._read(digest)
        if document is None:
            return [], ""
        kind = str(document.get("mediaType") or media_type)
        if kind in INDEX_TYPES or "manifests" in document:
            entries = [e for e in document.get("manifests") or [] if isinstance(e, dict)]
            return [(str(e.get("digest", "")), str(e.get("mediaType", ""))) for e in entries], ""
        config = document.get("config")
        layers = document.get("layers")
        if not isinstance(config, dict) or not isinstance(layers, list):
            return [], ""
        config_digest = str(config.get("digest", ""))
        children = [(config_digest, "config")]
        children += [(str(layer.get("digest", "")), "layer") for layer in layers if isinstance(layer, dict)]
        return children, self._chain_id_of(config_digest)

    def _chain_id_of(self, config_digest: str) -> str:
        config = self._read(config_digest)
        if config is None:
            return ""
        try:
            diff_ids = [str(d) for d in config["rootfs"]["diff_ids"]]
        except (KeyError, TypeError):
            return ""
        chain = chain_ids(diff_ids)
        return chain[-1] if chain else ""

    def _read(self, digest: str) -> dict[str, Any] | None:
        hex_part = digest.removeprefix("sha256:")
        if len(hex_part) != 64 or not all(c in "0123456789abcdef" for c in hex_part):
            return None
        path = self._dir / hex_part
        try:
            if path.stat().st_size > _MAX_DOCUMENT:
                return None
            document = json.loads(path.read_bytes())
        except (OSError, ValueError):  # absent, or not JSON: references nothing
            return None
        return document if isinstance(document, dict) else None


def _mounted_paths() -> set[str]:
    """Every path a mount of this namespace is at or made of (overlay's lower/upper/work dirs)."""
    paths: set[str] = set()
    try:
        with open("/proc/self/mountinfo") as mountinfo:
            lines = mountinfo.read().splitlines()
    except OSError:
        return paths
    for line in lines:
        fields = line.split()
        if len(fields) < 5:
            continue
        paths.add(_unescape(fields[3]))  # a bind mount's source, relative to its filesystem's root
        paths.add(_unescape(fields[4]))
        if " - " in line:
            super_options = line.split(" - ", 1)[1].split()
            if len(super_options) >= 3:
                for option in super_options[2].split(","):
                    name, _, value = option.partition("=")
                    if name in ("lowerdir", "upperdir", "workdir"):
                        paths.update(_unescape(p) for p in value.split(":") if p)
    return paths


def _unescape(path: str) -> str:
    return path.replace("\\040", " ").replace("\\011", "\t").replace("\\012", "\n").replace("\\134", "\\")
