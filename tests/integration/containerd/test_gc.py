"""Leases and garbage collection: what the collector keeps (images, containers, leases, mounts) and
what it removes, in process and through a real wharf-containerd killed mid-pull."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fixtures.registry import Registry
from tests.integration.containerd import layers as L
from tests.integration.containerd.conftest import SupervisorProcess, run
from wharf import errdefs
from wharf.containerd.core.containers import Container
from wharf.containerd.core.distribution import PullOutcome
from wharf.containerd.core.images import Image
from wharf.containerd.core.leases import CONTENT, SNAPSHOTS, LeaseResource, expiry_label, using_lease
from wharf.containerd.gc import Collection
from wharf.containerd.mount import mount_all, unmount
from wharf.containerd.proxy import connect
from wharf.containerd.proxy.leases import leased
from wharf.containerd.server import LocalSupervisor, SupervisorConfig, build
from wharf.oci.image import MEDIA_TYPE_OCI_MANIFEST, Descriptor


def _blobs(root: Path) -> set[str]:
    return {"sha256:" + name for name in os.listdir(root / "content" / "blobs" / "sha256")}


def _snapshot_dirs(root: Path) -> set[str]:
    return set(os.listdir(root / "snapshots"))


async def _supervisor(base: Path, grace: float = 0.0) -> LocalSupervisor:
    config = SupervisorConfig(address=base / "c.sock", root=base / "root", state=base / "state", gc_grace=grace)
    return await build(config)


def _fsck(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "wharf.containerd.fsck", str(root)],
                          capture_output=True, text=True, check=False)  # fmt: skip


def test_roots_keep_what_they_reference_and_the_rest_is_collected(base_dir: Path) -> None:
    async def scenario() -> None:
        sup = await _supervisor(base_dir)
        assert sup.gc is not None and sup.leases is not None
        root = base_dir / "root"
        try:
            lease = await sup.leases.create("", expiry_label(600))
            with using_lease(lease.id):
                manifest = await L.import_image(sup.content, [L.tar(L.file("a", b"1")), L.tar(L.file("b", b"2"))])
                chain = await sup.unpacker.unpack(manifest)
            stored = _blobs(root)
            assert len(stored) == 4 and len(_snapshot_dirs(root)) == 2
            resources = await sup.leases.resources(lease.id)
            assert LeaseResource(CONTENT, manifest) in resources and LeaseResource(SNAPSHOTS, chain) in resources

            assert (await sup.gc.collect()).content == []  # the lease holds everything
            target = Descriptor(MEDIA_TYPE_OCI_MANIFEST, manifest, 1)
            await sup.images.create(Image("example.com/gc:1", target))
            await sup.leases.delete(lease.id)
            assert await sup.gc.collect() == Collection()  # the image holds it now
            assert _blobs(root) == stored

            await sup.snapshots.prepare("ctr-1", chain)
            await sup.containers.create(Container("ctr-1", "example.com/gc:1", "runc", {}, "ctr-1"))
            await sup.images.delete("example.com/gc:1")  # rmi -f under a container
            removed = await sup.gc.collect()
            assert set(removed.content) == stored and removed.snapshots == []
            assert len(_snapshot_dirs(root)) == 3  # the container's snapshot and both layers below it
            assert _fsck(root).returncode == 0

            await sup.containers.delete("ctr-1")
            removed = await sup.gc.collect()
            assert removed.snapshots == ["ctr-1", chain, removed.snapshots[2]]  # children first
            assert _snapshot_dirs(root) == set() and _blobs(root) == set()
            assert _fsck(root).returncode == 0
        finally:
            await sup.close()

    run(scenario())


def test_grace_expiry_and_mounts_protect(base_dir: Path) -> None:
    async def scenario() -> None:
        sup = await _supervisor(base_dir, grace=60)
        assert sup.gc is not None and sup.leases is not None
        root = base_dir / "root"
        try:
            young = await L.put(sup.content, b"unreferenced but new")
            assert young not in (await sup.gc.collect()).content
            listed = subprocess.run([sys.executable, "-m", "wharf.containerd.fsck", "--unreferenced", str(root)],
                                    capture_output=True, text=True, check=False)  # fmt: skip
            assert listed.returncode == 0 and f"unreferenced blob {young}" in listed.stdout
            sup.gc.grace = 0
            assert (await sup.gc.collect()).content == [young]

            expired = await sup.leases.create("", expiry_label(-1))
            with using_lease(expired.id):
                blob = await L.put(sup.content, b"held by an expired lease")
            removed = await sup.gc.collect()
            assert removed.leases == [expired.id] and removed.content == [blob]
            with pytest.raises(errdefs.NotFound), using_lease(expired.id):
                await L.put(sup.content, b"under a lease that is gone")

            mounts = await sup.snapshots.prepare("mounted", "")
            target = base_dir / "mnt"
            target.mkdir()
            mount_all(mounts, target)
            try:
                assert (await sup.gc.collect()).snapshots == []  # in use: never unmounted or removed
            finally:
                unmount(target)
            assert (await sup.gc.collect()).snapshots == ["mounted"]
            assert _snapshot_dirs(root) == set()
        finally:
            await sup.close()

    run(scenario())


def test_deletions_schedule_a_collection(base_dir: Path) -> None:
    async def scenario() -> None:
        sup = await _supervisor(base_dir)
        assert sup.gc is not None and sup.leases is not None
        try:
            lease = await sup.leases.create()
            with using_lease(lease.id):
                digest = await L.put(sup.content, b"leased, then let go")
            await sup.leases.delete(lease.id)
            await asyncio.sleep(0.1)
            await sup.gc.wait_idle()
            assert digest not in _blobs(base_dir / "root")
        finally:
            await sup.close()

    run(scenario())


def _pull_until_first_layer(address: Path, reference: str, lease_expiry: float) -> str:
    """Start a pull under a client lease and return (its id) once layers are being fetched."""

    async def scenario() -> str:
        client = await connect(str(address))
        try:
            lease = await client.leases.create("", expiry_label(lease_expiry))
            with using_lease(lease.id):
                async for item in client.distribution.pull(reference):
                    if not isinstance(item, PullOutcome) and item.status == "Pulling fs layer":
                        return lease.id
            raise AssertionError("the pull reported no layer")
        finally:
            await client.close()

    return run(scenario())


def test_pull_killed_midway_leaves_leased_blobs_reused_then_collected(base_dir: Path, registry: Registry) -> None:
    from tests.conftest import require_binary

    reference = f"{registry.address}/library/busybox:latest"
    proc = SupervisorProcess(base_dir, require_binary("runc"), extra_args=("--gc-grace", "0"))
    proc.start()
    root = base_dir / "root"
    try:
        lease_id = _pull_until_first_layer(proc.address, reference, lease_expiry=600)
        proc.kill()  # kill -9 in the middle of the pull
        left = _blobs(root)
        assert left, "the manifest and config were stored before the layers"
        proc.start()  # start-up collection: the live lease keeps what the pull stored
        assert _blobs(root) >= left

        async def pull_again() -> list[LeaseResource]:
            client = await connect(str(proc.address))
            try:
                with using_lease(lease_id):
                    async for item in client.distribution.pull(reference):
                        if isinstance(item, PullOutcome):
                            await client.unpacker.unpack(item.manifest.digest)
                            await client.images.update(Image("gc.test/busybox:latest", item.target))
                held = await client.leases.resources(lease_id)
                await client.leases.delete(lease_id)  # the image exists: the lease can go
                await client.images.delete("gc.test/busybox:latest")
                return held
            finally:
                await client.close()

        held = run(pull_again())
        assert {r.id for r in held if r.type == CONTENT} >= left  # reused, not fetched anew
        for _ in range(100):
            if not _blobs(root) and not _snapshot_dirs(root):
                break
            run(asyncio.sleep(0.1))
        assert _blobs(root) == set() and _snapshot_dirs(root) == set(), proc.log()[-3000:]
    finally:
        if proc.process is not None and proc.process.poll() is None:
            proc.kill(signal.SIGTERM)


def test_expired_lease_of_a_killed_pull_is_collected_at_restart(base_dir: Path, registry: Registry) -> None:
    from tests.conftest import require_binary

    proc = SupervisorProcess(base_dir, require_binary("runc"), extra_args=("--gc-grace", "0"))
    proc.start()
    root = base_dir / "root"
    try:
        _pull_until_first_layer(proc.address, f"{registry.address}/library/busybox:latest", lease_expiry=1)
        proc.kill()
        assert _blobs(root)
        run(asyncio.sleep(1.2))
        proc.start()
        assert _blobs(root) == set(), proc.log()[-3000:]
        assert _fsck(root).returncode == 0
    finally:
        if proc.process is not None and proc.process.poll() is None:
            proc.kill(signal.SIGTERM)


def test_leased_helper_deletes_its_lease(supervisor: SupervisorProcess) -> None:
    async def scenario() -> tuple[list[LeaseResource], int]:
        client = await connect(str(supervisor.address))
        try:
            async with leased(client, purpose="test") as lease_id:
                digest = await L.put(client.content, b"written under leased()")
                held = await client.leases.resources(lease_id)
                assert LeaseResource(CONTENT, digest) in held
            return held, len(await client.leases.list())
        finally:
            await client.close()

    held, remaining = run(scenario())
    assert held and remaining == 0
