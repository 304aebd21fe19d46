"""Pulls that go wrong, through the whole stack (docker CLI → wharfd → wharf-containerd): a registry
answering 500, closing the connection midway, lying about a blob, serving malformed manifests, an
unknown platform, and wharf-containerd killed with SIGKILL mid-pull. Each gives a clear error and
leaves the store consistent (wharf.containerd.fsck), with no half image visible."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import require_binary
from tests.fixtures.daemon import WharfDaemon
from tests.fixtures.lying_registry import FixtureImage, LyingRegistry, random_layer
from wharf.containerd.fsck import check_store


@pytest.fixture(scope="module")
def lying() -> Iterator[LyingRegistry]:
    image = FixtureImage.make([random_layer(3 << 20, "one.bin"), random_layer(3 << 20, "two.bin"),
                            random_layer(3 << 20, "three.bin")])
    server = LyingRegistry(image, slow_rate=1 << 20)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def daemon() -> Iterator[WharfDaemon]:
    require_binary("docker")
    wharf = WharfDaemon()
    try:
        wharf.start()
        yield wharf
    finally:
        wharf.stop()


def _store_root(daemon: WharfDaemon) -> Path:
    return Path(daemon.data_root) / "containerd"


def _assert_consistent(daemon: WharfDaemon, name: str) -> None:
    assert check_store(_store_root(daemon)) == []
    assert daemon.docker("image", "inspect", name).returncode != 0  # no half image visible
    listed = daemon.docker("images", "--format", "{{.Repository}}", check=True).stdout.split()
    assert name.rsplit(":", 1)[0] not in listed
    ingest = _store_root(daemon) / "content" / "ingest"
    assert not ingest.exists() or os.listdir(ingest) == []


@pytest.mark.parametrize(("fault", "words"), [
    ("err500", "500"),
    ("cut", "reading blob"),
    ("liar", "digest"),
    ("badjson", "malformed manifest"),
    ("noconfig", "unsupported manifest"),
])
def test_faulty_registry_gives_a_clear_error(daemon: WharfDaemon, lying: LyingRegistry, fault: str,
                                             words: str) -> None:
    name = f"{lying.address}/{fault}/img:latest"
    pulled = daemon.docker("pull", name)
    assert pulled.returncode != 0
    assert words in pulled.stderr + pulled.stdout, pulled.stderr + pulled.stdout
    assert daemon.ping()
    _assert_consistent(daemon, name)


def test_unknown_platform(daemon: WharfDaemon, lying: LyingRegistry) -> None:
    single = f"{lying.address}/good/img:latest"
    pulled = daemon.docker("pull", "--platform", "linux/s390x", single)
    assert pulled.returncode != 0
    assert "does not match the specified platform: wanted linux/s390x, actual: linux/amd64" in pulled.stderr
    _assert_consistent(daemon, single)
    index = f"{lying.address}/index/img:latest"
    pulled = daemon.docker("pull", "--platform", "linux/s390x", index)
    assert pulled.returncode != 0
    assert "no matching manifest for linux/s390x in the manifest list entries" in pulled.stderr
    _assert_consistent(daemon, index)
    bad = daemon.docker("pull", "--platform", "linux/s390x/a/b", index)
    assert bad.returncode != 0


def test_good_pull_after_faults(daemon: WharfDaemon, lying: LyingRegistry) -> None:
    name = f"{lying.address}/good/img:latest"
    pulled = daemon.docker("pull", name)
    assert pulled.returncode == 0, pulled.stderr
    assert check_store(_store_root(daemon)) == []
    via_index = f"{lying.address}/index/img:latest"
    assert daemon.docker("pull", via_index).returncode == 0
    assert check_store(_store_root(daemon)) == []
    daemon.docker("rmi", name, via_index, check=True)
    assert check_store(_store_root(daemon)) == []


def test_kill_supervisor_mid_pull(lying: LyingRegistry) -> None:
    """kill -9 wharf-containerd (and wharfd) while layers trickle in; restart; nothing half is
    visible, the store is consistent, and pulling again completes the image."""
    require_binary("docker")
    wharf = WharfDaemon()
    try:
        wharf.start()
        name = f"{lying.address}/slow/img:latest"
        pull = subprocess.Popen(["docker", "pull", name], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                env=wharf.env, text=True)
        assert pull.stdout is not None
        seen = []
        for line in pull.stdout:  # without a terminal the CLI prints no "Downloading" lines
            seen.append(line)
            if sum("Pulling fs layer" in line for line in seen) == 3:
                break
        time.sleep(1.0)  # well inside the transfer (3 MB per layer at 1 MB/s)
        assert not any("Download complete" in line for line in seen), seen
        supervisors = wharf.supervisor_pids()
        assert supervisors
        for pid in supervisors:
            os.kill(pid, signal.SIGKILL)
        wharf.kill_daemons()
        pull.wait(30)
        assert pull.returncode != 0
        root = _store_root(wharf)
        assert check_store(root) == []
        ingest = root / "content" / "ingest"
        assert os.listdir(ingest)  # the cut-short downloads are there, unpublished

        wharf.start()
        assert os.listdir(ingest) == []  # the restarted supervisor threw them away
        assert wharf.docker("image", "inspect", name).returncode != 0
        pulled = wharf.docker("pull", name, timeout=120)
        assert pulled.returncode == 0, pulled.stderr
        assert check_store(root) == []
        layers = json.loads(wharf.docker("image", "inspect", name, check=True).stdout)[0]["RootFS"]["Layers"]
        assert len(layers) == 3
        ran = wharf.docker("run", "--rm", "--entrypoint", "/does-not-matter", name)
        assert "does-not-matter" in ran.stderr  # the rootfs was made: the runtime looked for it
    finally:
        wharf.stop()


def test_zstd_image_pulls_runs_and_saves(tmp_path: Path) -> None:
    """Layers compressed with zstd: pulled, unpacked, run, and saved uncompressed."""
    import hashlib
    import tarfile

    from tests.fixtures.busybox_image import write_rootfs_tar

    require_binary("docker")
    write_rootfs_tar(tmp_path / "rootfs.tar")
    rootfs = (tmp_path / "rootfs.tar").read_bytes()
    server = LyingRegistry(FixtureImage.make([rootfs, random_layer(200_000)], zstd=True))
    server.start()
    wharf = WharfDaemon()
    try:
        wharf.start()
        name = f"{server.address}/good/zstd:latest"
        pulled = wharf.docker("pull", name)
        assert pulled.returncode == 0, pulled.stderr
        ran = wharf.docker("run", "--rm", name, "sh", "-c", "echo zstd; ls -l /random.bin")
        assert ran.returncode == 0, ran.stderr
        assert ran.stdout.startswith("zstd\n") and "200000" in ran.stdout
        out = tmp_path / "zstd.tar"
        wharf.docker("save", "-o", str(out), name, check=True)
        with tarfile.open(out) as tar:
            entry = json.loads(tar.extractfile("manifest.json").read())[0]  # type: ignore[union-attr]
            for layer_path in entry["Layers"]:
                data = tar.extractfile(layer_path).read()  # type: ignore[union-attr]
                assert layer_path.endswith(hashlib.sha256(data).hexdigest())
        assert check_store(_store_root(wharf)) == []
    finally:
        wharf.stop()
        server.stop()
