"""A consistency check of a supervisor root (`--root`): what "no half image is visible" means, as code.

For every image record: its target blob is present and hashes to its digest; a manifest's config and
every layer are present and verified; an index has at least the manifests it points at that are
present verified, and at least one. Every committed snapshot's parent exists and its directory is there.
Every blob in the store hashes to its name; nothing stray sits among the blobs.

Reads the database read-only, so it can run beside a live supervisor or after a crash.
`python -m wharf.containerd.fsck ROOT` prints the problems and exits 1 if there are any; with
`--unreferenced` it also lists the blobs and snapshots no image, container or live lease reaches
(what the next garbage collection removes, unless they are new or mounted): not problems.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wharf.oci import image as oci

_CHUNK = 1 << 20


@dataclass(frozen=True)
class Problem:
    subject: str
    """What is wrong: an image name, a blob digest, a snapshot key."""
    detail: str

    def __str__(self) -> str:
        return f"{self.subject}: {self.detail}"


class _Blobs:
    def __init__(self, root: Path) -> None:
        self.dir = root / "content" / "blobs" / "sha256"
        self.verified: dict[str, str | None] = {}
        """digest → None when whole and correct, else what is wrong."""

    def check(self, digest: str, size: int | None = None) -> str | None:
        if not digest.startswith("sha256:") or len(digest) != 71:
            return f"unsupported digest {digest!r}"
        if digest not in self.verified:
            self.verified[digest] = self._verify(digest)
        problem = self.verified[digest]
        if problem is None and size is not None and (self.dir / digest[7:]).stat().st_size != size:
            return f"size differs from the descriptor's {size}"
        return problem

    def _verify(self, digest: str) -> str | None:
        path = self.dir / digest[7:]
        hasher = hashlib.sha256()
        try:
            with open(path, "rb") as blob:
                while chunk := blob.read(_CHUNK):
                    hasher.update(chunk)
        except FileNotFoundError:
            return "missing"
        actual = "sha256:" + hasher.hexdigest()
        return None if actual == digest else f"content hashes to {actual}"

    def json(self, digest: str) -> Any:
        try:
            return json.loads((self.dir / digest[7:]).read_bytes())
        except (OSError, ValueError):
            return None


def _check_manifest(blobs: _Blobs, subject: str, descriptor: dict[str, Any], problems: list[Problem]) -> None:
    manifest = blobs.json(descriptor["digest"])
    if not isinstance(manifest, dict) or not isinstance(manifest.get("config"), dict):
        problems.append(Problem(subject, f"manifest {descriptor['digest']} is not a manifest"))
        return
    for part in [manifest["config"], *(manifest.get("layers") or [])]:
        digest = part.get("digest", "") if isinstance(part, dict) else ""
        problem = blobs.check(digest, part.get("size") if isinstance(part, dict) else None)
        if problem is not None:
            problems.append(Problem(subject, f"blob {digest}: {problem}"))


def _check_image(blobs: _Blobs, name: str, target: dict[str, Any], problems: list[Problem]) -> None:
    digest = str(target.get("digest", ""))
    problem = blobs.check(digest, target.get("size"))
    if problem is not None:
        problems.append(Problem(name, f"target {digest}: {problem}"))
        return
    document = blobs.json(digest)
    if not isinstance(document, dict):
        problems.append(Problem(name, f"target {digest} is not JSON"))
        return
    if target.get("mediaType") in oci.INDEX_TYPES or "manifests" in document:
        present = [entry for entry in document.get("manifests") or []
                   if isinstance(entry, dict) and blobs.check(str(entry.get("digest", ""))) != "missing"]
        if not present:
            problems.append(Problem(name, f"index {digest}: none of its manifests is present"))
        for entry in present:
            problem = blobs.check(entry["digest"], entry.get("size"))
            if problem is not None:
                problems.append(Problem(name, f"manifest {entry['digest']}: {problem}"))
            else:
                _check_manifest(blobs, name, entry, problems)
        return
    _check_manifest(blobs, name, target, problems)


def _check_snapshots(root: Path, db: sqlite3.Connection, problems: list[Problem]) -> None:
    rows = db.execute("SELECT id, key, parent, kind FROM snapshots").fetchall()
    keys = {row[1] for row in rows}
    for snapshot_id, key, parent, _kind in rows:
        if parent and parent not in keys:
            problems.append(Problem(f"snapshot {key}", f"parent {parent} is missing"))
        if not (root / "snapshots" / str(snapshot_id) / "fs").is_dir():
            problems.append(Problem(f"snapshot {key}", "its directory is missing"))


def check_store(root: Path, all_blobs: bool = True) -> list[Problem]:
    """Every problem found in the store at `root` (empty: consistent)."""
    db_path = root / "wharf.db"
    if not db_path.exists():
        return [Problem(str(root), "no wharf.db")]
    db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        problems: list[Problem] = []
        blobs = _Blobs(root)
        for name, target_json in db.execute("SELECT name, target FROM images ORDER BY name"):
            try:
                target = json.loads(target_json)
            except ValueError:
                problems.append(Problem(name, "target is not JSON"))
                continue
            _check_image(blobs, name, target, problems)
        _check_snapshots(root, db, problems)
    finally:
        db.close()
    if all_blobs and blobs.dir.is_dir():
        for entry in sorted(blobs.dir.iterdir()):
            if len(entry.name) != 64 or not entry.is_file():
                problems.append(Problem(f"blobs/sha256/{entry.name}", "stray entry among the blobs"))
                continue
            problem = blobs.check("sha256:" + entry.name)
            if problem is not None:
                problems.append(Problem("sha256:" + entry.name, problem))
    return problems


def unreferenced(root: Path) -> tuple[list[str], list[str]]:
    """(blob digests, snapshot keys) that nothing the garbage collector counts as a root reaches."""
    from wharf.containerd.gc import mark  # the collector's own marking, so the two can't disagree

    db = sqlite3.connect(f"file:{root / 'wharf.db'}?mode=ro", uri=True)
    try:
        blob_dir = root / "content" / "blobs" / "sha256"
        marks = mark(db, blob_dir)
        snapshots = [key for (key,) in db.execute("SELECT key FROM snapshots ORDER BY id")]
    finally:
        db.close()
    blobs = sorted("sha256:" + name for name in os.listdir(blob_dir) if len(name) == 64) if blob_dir.is_dir() else []
    return ([d for d in blobs if d not in marks.content], [k for k in snapshots if k not in marks.snapshots])


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    show_unreferenced = "--unreferenced" in args
    args = [arg for arg in args if arg != "--unreferenced"]
    if len(args) != 1:
        print("usage: python -m wharf.containerd.fsck [--unreferenced] ROOT", file=sys.stderr)
        return 2
    problems = check_store(Path(args[0]))
    for problem in problems:
        print(problem)
    if show_unreferenced and (Path(args[0]) / "wharf.db").exists():
        blobs, snapshots = unreferenced(Path(args[0]))
        for digest in blobs:
            print(f"unreferenced blob {digest}")
        for key in snapshots:
            print(f"unreferenced snapshot {key}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
