"""The Diff service: an active snapshot's changes as a layer with OCI whiteouts, committed under its
chain id, and round-tripping through the unpacker into the same filesystem."""

from __future__ import annotations

import gzip
import io
import os
import shutil
import tarfile
from pathlib import Path
from typing import Any

import pytest

from tests.integration.containerd import layers as L
from tests.integration.containerd.conftest import LocalPlugins, SupervisorProcess, run
from wharf import errdefs
from wharf.containerd.mount import mount_all, unmount
from wharf.containerd.plugins.diff_walking import WalkingDiffer
from wharf.containerd.plugins.unpack.unpacker import chain_ids
from wharf.containerd.proxy import connect
from wharf.oci.image import MEDIA_TYPE_OCI_LAYER, MEDIA_TYPE_OCI_LAYER_GZIP

BASE = L.tar(
    L.directory("etc"),
    L.file("etc/keep", b"keep"),
    L.file("etc/gone", b"gone"),
    L.directory("data"),
    L.file("data/old1", b"1"),
    L.file("data/old2", b"2"),
    L.directory("tree"),
    L.file("tree/leaf", b"leaf"),
)


def _change(root: Path) -> None:
    """Edits made through the overlay mount, as a RUN step would."""
    (root / "etc/gone").unlink()  # -> whiteout
    shutil.rmtree(root / "data")
    (root / "data").mkdir()  # -> opaque dir
    (root / "data/new").write_bytes(b"new")
    shutil.rmtree(root / "tree")  # -> whiteout of a directory
    (root / "etc/keep").write_bytes(b"changed")
    (root / "added").write_bytes(b"added")
    os.chmod(root / "added", 0o751)
    os.chown(root / "added", 1234, 5678)
    os.link(root / "added", root / "added-link")
    os.symlink("added", root / "added-sym")


def _tree(root: Path) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for path in sorted(root.rglob("*")):
        st = os.lstat(path)
        rel = str(path.relative_to(root))
        if path.is_symlink():
            out[rel] = ("link", os.readlink(path))
        elif path.is_dir():
            out[rel] = ("dir", st.st_mode & 0o7777)
        else:
            out[rel] = ("file", path.read_bytes(), st.st_mode & 0o7777, st.st_uid, st.st_gid)
    return out


def _mounted(mounts: list[Any], target: Path) -> Path:
    target.mkdir(exist_ok=True)
    mount_all(mounts, target)
    return target


def _members(blob: bytes) -> dict[str, tarfile.TarInfo]:
    if blob[:2] == b"\x1f\x8b":
        blob = gzip.decompress(blob)
    with tarfile.open(fileobj=io.BytesIO(blob)) as archive:
        return {m.name: m for m in archive.getmembers()}


def test_diff_writes_whiteouts_and_commits_by_chain_id(local: LocalPlugins, base_dir: Path) -> None:
    differ = WalkingDiffer(local.root, local.content, local.snapshots)

    async def scenario() -> tuple[Any, dict[str, Any], str]:
        base_chain = await local.unpacker.unpack(await L.import_image(local.content, [BASE]))
        mounts = await local.snapshots.prepare("work", base_chain)
        root = _mounted(mounts, base_dir / "mnt")
        try:
            _change(root)
            expected = _tree(root)
        finally:
            unmount(root)
        result = await differ.diff("work", commit=True)
        return result, expected, base_chain

    result, expected, base_chain = run(scenario())
    blob = run(local.content.read(result.layer.digest))
    assert result.layer.media_type == MEDIA_TYPE_OCI_LAYER
    assert result.diff_id == L.sha256(blob)
    assert result.chain_id == chain_ids([L.sha256(BASE), result.diff_id])[-1]
    members = _members(blob)
    assert {"etc/.wh.gone", ".wh.tree", "data/.wh..wh..opq", "data/new", "added"} <= set(members)
    assert "data/old1" not in members and "etc/gone" not in members
    assert members["added"].mode == 0o751 and (members["added"].uid, members["added"].gid) == (1234, 5678)
    assert members["added-link"].islnk() and members["added-link"].linkname == "added"
    assert members["added-sym"].issym() and members["added-sym"].linkname == "added"
    assert members["etc/keep"].size == len(b"changed")
    info = run(local.snapshots.stat(result.chain_id))
    assert info.kind.value == "committed" and info.parent == base_chain
    with pytest.raises(errdefs.NotFound):
        run(local.snapshots.stat("work"))

    # Round trip: a fresh store unpacks base + the diff into the same filesystem.
    other_root = base_dir / "other"
    from wharf.containerd.plugins.content_local import LocalContentStore
    from wharf.containerd.plugins.metadata_sqlite import open_db
    from wharf.containerd.plugins.snapshots_overlay import OverlaySnapshotter
    from wharf.containerd.plugins.unpack import SnapshotUnpacker

    db = open_db(other_root / "wharf.db")
    content = LocalContentStore(other_root, db)
    snapshots = OverlaySnapshotter(other_root, db)
    unpacker = SnapshotUnpacker(content, snapshots)

    async def round_trip() -> dict[str, Any]:
        chain = await unpacker.unpack(await L.import_image(content, [BASE, blob]))
        assert chain == result.chain_id
        root = _mounted(await snapshots.view("check", chain), base_dir / "mnt2")
        try:
            return _tree(root)
        finally:
            unmount(root)

    try:
        assert run(round_trip()) == expected
    finally:
        db.close()


def test_diff_of_an_identical_change_keeps_the_existing_chain(local: LocalPlugins, base_dir: Path) -> None:
    differ = WalkingDiffer(local.root, local.content, local.snapshots)

    async def scenario() -> tuple[str, str]:
        chains = []
        for key in ("one", "two"):
            root = _mounted(await local.snapshots.prepare(key, ""), base_dir / key)
            try:
                (root / "f").write_bytes(b"same")
                os.utime(root / "f", (1_600_000_000, 1_600_000_000))
            finally:
                unmount(root)
            chains.append((await differ.diff(key, commit=True)).chain_id)
        await local.snapshots.stat("two")  # left active: the chain id was already committed
        return chains[0], chains[1]

    first, second = run(scenario())
    assert first == second


def test_diff_refuses_committed_and_unknown_snapshots(local: LocalPlugins) -> None:
    differ = WalkingDiffer(local.root, local.content, local.snapshots)
    chain = run(local.unpacker.unpack(run(L.import_image(local.content, [BASE]))))
    with pytest.raises(errdefs.FailedPrecondition):
        run(differ.diff(chain))
    with pytest.raises(errdefs.NotFound):
        run(differ.diff("no-such-key"))


def test_diff_over_grpc_gzip(supervisor: SupervisorProcess, base_dir: Path) -> None:
    async def scenario() -> tuple[Any, bytes]:
        client = await connect(str(supervisor.address))
        try:
            base_chain = await client.unpacker.unpack(await L.import_image(client.content, [BASE]))
            root = _mounted(await client.snapshots.prepare("grpc-work", base_chain), base_dir / "gm")
            try:
                (root / "etc/gone").unlink()
                (root / "hello").write_bytes(b"hello")
            finally:
                unmount(root)
            assert client.diff is not None
            result = await client.diff.diff("grpc-work", compress=True, commit=True)
            blob = await client.content.read(result.layer.digest)
            await client.snapshots.stat(result.chain_id)
            with pytest.raises(errdefs.NotFound):
                await client.diff.diff("grpc-missing")
            return result, blob
        finally:
            await client.close()

    result, blob = run(scenario())
    assert result.layer.media_type == MEDIA_TYPE_OCI_LAYER_GZIP
    assert result.diff_id == L.sha256(gzip.decompress(blob))
    assert {"etc/.wh.gone", "hello"} <= set(_members(blob))
