"""docker save / load: Wharf's archives load and run in the real Docker engine and the other way
round; skopeo and umoci read them as OCI layouts; hostile archives are refused and store nothing."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import secrets
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from tests.conftest import require_binary
from tests.fixtures.busybox_image import write_rootfs_tar
from tests.fixtures.daemon import WharfDaemon
from tests.fixtures.dockerd import DockerDaemon
from tests.fixtures.oci_layout import write_layout


@pytest.fixture
def work(tmp_path: Path) -> Path:
    return tmp_path


def _members(path: Path) -> dict[str, tarfile.TarInfo]:
    with tarfile.open(path) as tar:
        return {member.name: member for member in tar.getmembers()}


def _blob_count(wharf: WharfDaemon) -> int:
    return len(os.listdir(f"{wharf.data_root}/containerd/content/blobs/sha256"))


def _load_raw(wharf: WharfDaemon, archive: bytes) -> tuple[int, str]:
    status, body = wharf.request("POST", "/images/load?quiet=1", body=archive,
                                 headers={"Content-Type": "application/x-tar"})
    return status, body.decode(errors="replace")


def test_save_writes_docker25_layout(wharf: WharfDaemon, work: Path) -> None:
    archive = work / "busybox.tar"
    wharf.docker("save", "-o", str(archive), "busybox:latest", check=True)
    members = _members(archive)
    assert {"oci-layout", "index.json", "manifest.json", "repositories"} <= set(members)
    with tarfile.open(archive) as tar:
        manifest = json.loads(tar.extractfile("manifest.json").read())  # type: ignore[union-attr]
        assert manifest[0]["RepoTags"] == ["busybox:latest"]
        config = json.loads(tar.extractfile(manifest[0]["Config"]).read())  # type: ignore[union-attr]
        for layer_path, diff_id in zip(manifest[0]["Layers"], config["rootfs"]["diff_ids"], strict=True):
            layer = tar.extractfile(layer_path).read()  # type: ignore[union-attr]
            assert "sha256:" + hashlib.sha256(layer).hexdigest() == diff_id  # uncompressed, as Docker writes
        index = json.loads(tar.extractfile("index.json").read())  # type: ignore[union-attr]
        assert index["manifests"][0]["annotations"]["io.containerd.image.name"] == "docker.io/library/busybox:latest"


def test_wharf_archive_loads_and_runs_in_docker(wharf: WharfDaemon, dockerd: DockerDaemon, work: Path) -> None:
    tag = f"wharf-saved/busybox:{secrets.token_hex(3)}"
    wharf.docker("tag", "busybox:latest", tag, check=True)
    archive = work / "from-wharf.tar"
    wharf.docker("save", "-o", str(archive), tag, check=True)
    loaded = dockerd.docker("load", "-i", str(archive))
    assert loaded.returncode == 0, loaded.stderr
    assert f"Loaded image: {tag}" in loaded.stdout
    ran = dockerd.docker("run", "--rm", "--network", "none", tag, "echo", "saved by wharf")
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout == "saved by wharf\n"
    wharf_id = json.loads(wharf.docker("image", "inspect", tag, check=True).stdout)[0]["Id"]
    docker_id = json.loads(dockerd.docker("image", "inspect", tag, check=True).stdout)[0]["Id"]
    assert wharf_id == docker_id
    wharf.docker("rmi", tag, check=True)


def test_docker_archive_loads_and_runs_in_wharf(wharf: WharfDaemon, dockerd: DockerDaemon, work: Path) -> None:
    tag = f"docker-saved/busybox:{secrets.token_hex(3)}"
    dockerd.docker("tag", "busybox:latest", tag, check=True)
    archive = work / "from-docker.tar"
    dockerd.docker("save", "-o", str(archive), tag, check=True)
    loaded = wharf.docker("load", "-i", str(archive))
    assert loaded.returncode == 0, loaded.stderr
    assert f"Loaded image: {tag}" in loaded.stdout
    ran = wharf.docker("run", "--rm", tag, "echo", "saved by docker")
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout == "saved by docker\n"
    # gzip'd archives load too (`docker save | gzip`)
    wharf.docker("rmi", tag, check=True)
    zipped = work / "from-docker.tar.gz"
    zipped.write_bytes(gzip.compress(archive.read_bytes(), compresslevel=1))
    again = wharf.docker("load", "-i", str(zipped))
    assert again.returncode == 0, again.stderr
    assert f"Loaded image: {tag}" in again.stdout
    wharf.docker("rmi", tag, check=True)


def test_save_by_id_and_load_untagged(wharf: WharfDaemon, work: Path) -> None:
    image_id = json.loads(wharf.docker("image", "inspect", "busybox:latest", check=True).stdout)[0]["Id"]
    archive = work / "by-id.tar"
    wharf.docker("save", "-o", str(archive), image_id, check=True)
    loaded = wharf.docker("load", "-i", str(archive))
    assert loaded.returncode == 0, loaded.stderr
    assert f"Loaded image ID: {image_id}" in loaded.stdout


def test_load_plain_oci_layout(wharf: WharfDaemon, work: Path) -> None:
    name = f"oci-layout/busybox:{secrets.token_hex(3)}"
    write_rootfs_tar(work / "rootfs.tar")
    layout = work / "layout"
    write_layout(layout, [(work / "rootfs.tar").read_bytes()], tag=name)
    archive = work / "layout.tar"
    with tarfile.open(archive, "w") as tar:
        for entry in sorted(layout.rglob("*")):
            tar.add(entry, arcname=str(entry.relative_to(layout)), recursive=False)
    loaded = wharf.docker("load", "-i", str(archive))
    assert loaded.returncode == 0, loaded.stderr
    assert f"Loaded image: {name}" in loaded.stdout
    ran = wharf.docker("run", "--rm", name, "echo", "oci layout")
    assert ran.stdout == "oci layout\n", ran.stderr
    wharf.docker("rmi", name, check=True)


def test_skopeo_and_umoci_read_the_archive(wharf: WharfDaemon, work: Path) -> None:
    require_binary("skopeo")
    archive = work / "oci.tar"
    wharf.docker("save", "-o", str(archive), "busybox:latest", check=True)
    seen = subprocess.run(["skopeo", "inspect", f"oci-archive:{archive}:latest"], capture_output=True, text=True)
    assert seen.returncode == 0, seen.stderr
    assert json.loads(seen.stdout)["Os"] == "linux"
    copied = subprocess.run(["skopeo", "copy", f"oci-archive:{archive}:latest", f"oci:{work / 'copy'}:latest"],
                            capture_output=True, text=True)
    assert copied.returncode == 0, copied.stderr
    if shutil.which("umoci") is None:
        pytest.skip("umoci is not installed")
    layout = work / "extracted"
    layout.mkdir()
    with tarfile.open(archive) as tar:
        tar.extractall(layout, filter="data")
    listed = subprocess.run(["umoci", "ls", "--layout", str(layout)], capture_output=True, text=True)
    assert listed.returncode == 0, listed.stderr
    assert "latest" in listed.stdout.split()
    unpacked = subprocess.run(["umoci", "unpack", "--image", f"{layout}:latest", str(work / "bundle")],
                              capture_output=True, text=True)
    assert unpacked.returncode == 0, unpacked.stderr
    assert (work / "bundle" / "rootfs" / "bin" / "busybox").exists()
    shutil.rmtree(work / "bundle", ignore_errors=True)


# -- hostile archives ---------------------------------------------------------------------------


def _tar(entries: list[tuple[str, bytes | str]]) -> bytes:
    """Entries: (name, bytes) for files, (name, "->target") for symlinks."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        for name, data in entries:
            info = tarfile.TarInfo(name)
            if isinstance(data, str):
                info.type, info.linkname = tarfile.SYMTYPE, data.removeprefix("->")
                tar.addfile(info)
            else:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def _image_entries(layer: bytes, tag: str, layer_path: str = "", config_diff_id: str = "",
                   ) -> list[tuple[str, bytes | str]]:
    diff_id = config_diff_id or "sha256:" + hashlib.sha256(layer).hexdigest()
    config = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": [diff_id]},
                         "config": {}}).encode()
    config_path = "blobs/sha256/" + hashlib.sha256(config).hexdigest()
    layer_path = layer_path or "blobs/sha256/" + hashlib.sha256(layer).hexdigest()
    manifest = json.dumps([{"Config": config_path, "RepoTags": [tag], "Layers": [layer_path]}]).encode()
    return [(config_path, config), (layer_path, layer), ("manifest.json", manifest)]


def _small_layer() -> bytes:
    return _tar([("hello.txt", b"hello\n")])


@pytest.mark.parametrize("case", [
    "dotdot", "absolute", "symlinked-manifest", "digest-mismatch", "diff-id-mismatch", "missing-blob",
    "huge-manifest", "not-json", "escaping-symlink", "bad-second-layer",
])
def test_hostile_archives_store_nothing(wharf: WharfDaemon, case: str) -> None:
    tag = f"hostile/{case}:1"
    layer = _small_layer()
    entries = _image_entries(layer, tag)
    if case == "dotdot":
        entries = _image_entries(layer, tag, layer_path="../../etc/layer.tar")
    elif case == "absolute":
        entries = _image_entries(layer, tag, layer_path="/etc/layer.tar")
    elif case == "symlinked-manifest":
        entries = [e for e in entries if e[0] != "manifest.json"]
        entries += [("real.json", dict(_image_entries(layer, tag))["manifest.json"]), ("manifest.json", "->real.json")]
    elif case == "digest-mismatch":
        entries = [(name, data + b"x" if name.startswith("blobs/") and isinstance(data, bytes) and
                    name.endswith(hashlib.sha256(layer).hexdigest()) else data) for name, data in entries]
    elif case == "diff-id-mismatch":
        entries = _image_entries(layer, tag, layer_path="layer/layer.tar", config_diff_id="sha256:" + "0" * 64)
    elif case == "missing-blob":
        entries = [e for e in entries if not e[0].endswith(hashlib.sha256(layer).hexdigest())]
    elif case == "huge-manifest":
        entries = [e for e in entries if e[0] != "manifest.json"] + [("manifest.json", b" " * (9 << 20) + b"[]")]
    elif case == "not-json":
        entries = [e for e in entries if e[0] != "manifest.json"] + [("manifest.json", b"{not json")]
    elif case == "escaping-symlink":
        entries = _image_entries(layer, tag, layer_path="layer/layer.tar")
        entries = [e for e in entries if e[0] != "layer/layer.tar"] + [("layer/layer.tar", "->../../../etc/passwd")]
    elif case == "bad-second-layer":  # caught only when unpacked: the first layer's snapshot goes too
        good = _tar([("fresh-" + secrets.token_hex(4), secrets.token_bytes(64))])
        bad_info = tarfile.TarInfo("hard")
        bad_info.type, bad_info.linkname = tarfile.LNKTYPE, "no/such/file"
        out = io.BytesIO()
        with tarfile.open(fileobj=out, mode="w") as tar:
            tar.addfile(bad_info)
        bad = out.getvalue()
        ids = ["sha256:" + hashlib.sha256(layer_data).hexdigest() for layer_data in (good, bad)]
        config = json.dumps({"architecture": "amd64", "os": "linux",
                             "rootfs": {"type": "layers", "diff_ids": ids}}).encode()
        config_path = "blobs/sha256/" + hashlib.sha256(config).hexdigest()
        paths = ["blobs/sha256/" + i.removeprefix("sha256:") for i in ids]
        entries = [(config_path, config), (paths[0], good), (paths[1], bad), ("manifest.json", json.dumps(
            [{"Config": config_path, "RepoTags": [tag], "Layers": paths}]).encode())]
    snapshots = Path(wharf.data_root) / "containerd" / "snapshots"
    snapshots_before = sorted(os.listdir(snapshots))
    blobs_before = _blob_count(wharf)
    images_before = wharf.docker("images", "-q", "--no-trunc", check=True).stdout
    status, body = _load_raw(wharf, _tar(entries))
    assert status == 200, body  # as moby: the refusal travels in the JSON stream
    assert "invalid archive" in json.loads(body.splitlines()[-1])["error"]
    assert _blob_count(wharf) == blobs_before
    assert sorted(os.listdir(snapshots)) == snapshots_before
    assert wharf.docker("images", "-q", "--no-trunc", check=True).stdout == images_before
    assert wharf.docker("image", "inspect", tag).returncode != 0


def test_load_error_reaches_the_cli(wharf: WharfDaemon, work: Path) -> None:
    bad = work / "bad.tar"
    bad.write_bytes(_tar([("manifest.json", b"[]")]))
    loaded = wharf.docker("load", "-i", str(bad))
    assert loaded.returncode != 0
    assert "invalid archive" in loaded.stderr  # from the JSON stream, as the CLI shows Docker's


def test_kill_daemons_mid_load_leaves_nothing_half(work: Path) -> None:
    """kill -9 wharfd and wharf-containerd while a load stores its blobs: after a restart no image
    is visible, the store passes the consistency check, the spool is gone, and loading again works."""
    import subprocess as sp
    import time

    from tests.fixtures.lying_registry import random_layer
    from wharf.containerd.fsck import check_store

    layers = [random_layer(24 << 20, f"big{i}.bin") for i in range(3)]
    diff_ids = ["sha256:" + hashlib.sha256(layer).hexdigest() for layer in layers]
    config = json.dumps({"architecture": "amd64", "os": "linux", "config": {},
                         "rootfs": {"type": "layers", "diff_ids": diff_ids}}).encode()
    config_path = "blobs/sha256/" + hashlib.sha256(config).hexdigest()
    paths = ["blobs/sha256/" + d.removeprefix("sha256:") for d in diff_ids]
    name = f"crash/load:{secrets.token_hex(3)}"
    archive = work / "big.tar"
    archive.write_bytes(_tar([(config_path, config), *zip(paths, layers, strict=True), ("manifest.json", json.dumps(
        [{"Config": config_path, "RepoTags": [name], "Layers": paths}]).encode())]))
    daemon = WharfDaemon()
    try:
        daemon.start()
        root = Path(daemon.data_root) / "containerd"
        ingest, spool = root / "content" / "ingest", Path(daemon.data_root) / "tmp"
        loading = sp.Popen(["docker", "load", "-i", str(archive)], env=daemon.env, stdout=sp.PIPE, stderr=sp.PIPE)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not (ingest.is_dir() and os.listdir(ingest)):
            time.sleep(0.001)
        assert os.listdir(ingest), "the load never reached the content store"
        daemon.kill_daemons()
        loading.wait(30)
        assert loading.returncode != 0
        assert check_store(root) == []
        daemon.start()
        assert not list(spool.glob("load-*")) and os.listdir(ingest) == []
        assert daemon.docker("image", "inspect", name).returncode != 0
        assert check_store(root) == []
        again = daemon.docker("load", "-i", str(archive))
        assert again.returncode == 0, again.stderr
        assert f"Loaded image: {name}" in again.stdout
        assert check_store(root) == []
    finally:
        daemon.stop()
