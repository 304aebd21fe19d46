"""Garbage collection under the real docker CLI: what is in use stays (a running container whose
image was `rmi -f`'d, a build's image, its cache, a loaded image), what nothing references goes,
and the store stays consistent (fsck) throughout. The supervisor runs with no grace period
(WHARF_GC_GRACE=0), so only references and leases protect anything."""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import require_binary
from tests.fixtures.daemon import WharfDaemon, started_with_busybox
from wharf.containerd.fsck import check_store


class _NoGraceDaemon(WharfDaemon):
    @property
    def env(self) -> dict[str, str]:
        return {**super().env, "WHARF_GC_GRACE": "0"}


@pytest.fixture
def daemon() -> Iterator[_NoGraceDaemon]:
    require_binary("docker")
    wharf = _NoGraceDaemon()
    with started_with_busybox(wharf):
        yield wharf


def _root(daemon: WharfDaemon) -> Path:
    return Path(daemon.data_root) / "containerd"


def _blobs(daemon: WharfDaemon) -> set[str]:
    return set(os.listdir(_root(daemon) / "content" / "blobs" / "sha256"))


def _snapshots(daemon: WharfDaemon) -> set[str]:
    return set(os.listdir(_root(daemon) / "snapshots"))


def _settle() -> None:
    """Past the collector's debounce after a deletion."""
    time.sleep(1.5)


def _plant_orphan_blob(daemon: WharfDaemon) -> str:
    """A valid blob nothing references (what an interrupted pull leaves once its lease is gone)."""
    data = os.urandom(64)
    name = hashlib.sha256(data).hexdigest()
    (_root(daemon) / "content" / "blobs" / "sha256" / name).write_bytes(data)
    return name


def test_running_container_keeps_its_rootfs_after_rmi_force(daemon: _NoGraceDaemon) -> None:
    name = f"gc-run-{os.getpid()}"
    orphan = _plant_orphan_blob(daemon)
    daemon.docker("run", "-d", "--name", name, "busybox", "sleep", "300", check=True)
    daemon.docker("rmi", "-f", "busybox", check=True)
    _settle()
    assert orphan not in _blobs(daemon), "the deletion ran a collection"
    assert daemon.docker("exec", name, "ls", "/bin/busybox", check=True).stdout.strip() == "/bin/busybox"
    assert daemon.docker("exec", name, "sh", "-c", "echo hi > /written && cat /written").stdout == "hi\n"
    assert check_store(_root(daemon)) == []
    daemon.docker("rm", "-f", name, check=True)
    daemon.docker("image", "prune", "-a", "-f", check=True)
    _settle()
    assert _blobs(daemon) == set() and _snapshots(daemon) == set()
    assert check_store(_root(daemon)) == []


def test_build_commit_and_load_survive_collections(daemon: _NoGraceDaemon, tmp_path: Path) -> None:
    context = tmp_path / "ctx"
    context.mkdir()
    (context / "Dockerfile").write_text("FROM busybox\nRUN echo built > /built\nCOPY file /file\n")
    (context / "file").write_text("copied\n")
    daemon.docker("build", "-t", "gc/built:1", str(context), check=True, timeout=120)
    _settle()
    assert daemon.docker("run", "--rm", "gc/built:1", "cat", "/built", "/file", check=True).stdout == "built\ncopied\n"

    # Collections in between (triggered by deleting an unrelated image) keep the cache's steps.
    daemon.docker("tag", "busybox", "gc/other:1", check=True)
    daemon.docker("rmi", "gc/other:1", check=True)
    _settle()
    again = daemon.docker("build", "-t", "gc/built:2", str(context), check=True, timeout=120)
    assert "Using cache" in again.stdout or "CACHED" in again.stdout + again.stderr, again.stdout

    name = f"gc-commit-{os.getpid()}"
    daemon.docker("run", "--name", name, "gc/built:1", "sh", "-c", "echo committed > /committed", check=True)
    daemon.docker("commit", name, "gc/committed:1", check=True)
    daemon.docker("rm", name, check=True)  # a deletion: a collection runs
    _settle()
    assert daemon.docker("run", "--rm", "gc/committed:1", "cat", "/committed").stdout == "committed\n"

    archive = tmp_path / "built.tar"
    daemon.docker("save", "-o", str(archive), "gc/built:1", check=True)
    daemon.docker("rmi", "gc/built:1", "gc/built:2", check=True)
    _settle()
    loaded = daemon.docker("load", "-i", str(archive), check=True)
    assert "Loaded image: gc/built:1" in loaded.stdout
    _settle()
    assert daemon.docker("run", "--rm", "gc/built:1", "cat", "/built").stdout == "built\n"
    assert check_store(_root(daemon)) == []
