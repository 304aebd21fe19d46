"""docker history, image inspect, images --filter, image prune and system df against wharfd, with the
answers' shapes checked side by side with the real Docker engine."""

from __future__ import annotations

import io
import json
import os
import secrets
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import require_binary
from tests.fixtures.busybox_image import write_rootfs_tar
from tests.fixtures.daemon import WharfDaemon, started_with_busybox
from tests.fixtures.dockerd import DockerDaemon
from tests.fixtures.registry import Registry


@pytest.fixture(scope="module")
def own_wharf() -> Iterator[WharfDaemon]:
    """A wharfd of this module's own: prune -a must not take images other tests use."""
    require_binary("docker")
    daemon = WharfDaemon()
    with started_with_busybox(daemon):
        yield daemon


def _api(daemon: WharfDaemon, path: str, method: str = "GET") -> object:
    status, body = daemon.request(method, path)
    assert status == 200, body
    return json.loads(body)


def _import_labelled(daemon: WharfDaemon, tmp_path: Path, name: str, *changes: str, unique: bool = False) -> str:
    tar = tmp_path / f"{secrets.token_hex(3)}.tar"
    if unique:  # a layer of its own (1.5 MB of random bytes), shared with no other image
        with tarfile.open(tar, "w") as out:
            data = os.urandom(1_500_000)
            info = tarfile.TarInfo("random.bin")
            info.size = len(data)
            out.addfile(info, io.BytesIO(data))
    else:
        write_rootfs_tar(tar)
    args = ["import"]
    for change in ('CMD ["sh"]', *changes):
        args += ["--change", change]
    imported = daemon.docker(*args, str(tar), name)
    assert imported.returncode == 0, imported.stderr
    return imported.stdout.strip()


def test_history_and_inspect_have_dockers_shape(own_wharf: WharfDaemon, dockerd: DockerDaemon) -> None:
    wharf_history = json.loads(own_wharf.docker("history", "--no-trunc", "--format", "{{json .}}", "busybox",
                                                check=True).stdout.splitlines()[0])
    docker_history = json.loads(dockerd.docker("history", "--no-trunc", "--format", "{{json .}}", "busybox",
                                               check=True).stdout.splitlines()[0])
    assert set(wharf_history) == set(docker_history)
    raw = _api(own_wharf, "/images/busybox/history")
    assert isinstance(raw, list) and set(raw[0]) == {"Id", "Created", "CreatedBy", "Tags", "Size", "Comment"}
    assert raw[0]["Tags"] == ["busybox:latest"] and raw[0]["Size"] > 1_000_000
    assert isinstance(raw[0]["Created"], int)

    wharf_inspect = json.loads(own_wharf.docker("image", "inspect", "busybox", check=True).stdout)[0]
    docker_inspect = json.loads(dockerd.docker("image", "inspect", "busybox", check=True).stdout)[0]
    shared = {"Id", "RepoTags", "RepoDigests", "Parent", "Comment", "Created", "Config", "Architecture",
              "Os", "Size", "GraphDriver", "RootFS", "Metadata"}
    assert shared <= set(wharf_inspect) and shared <= set(docker_inspect)
    assert wharf_inspect["RepoDigests"] == docker_inspect["RepoDigests"] == []  # imported, never pulled
    assert wharf_inspect["RootFS"] == docker_inspect["RootFS"]  # same rootfs tar, same diff id
    assert abs(wharf_inspect["Size"] - docker_inspect["Size"]) < docker_inspect["Size"] // 10
    assert wharf_inspect["Metadata"]["LastTagTime"] != "0001-01-01T00:00:00Z"


def test_repo_digests_only_for_pulled_and_pushed(own_wharf: WharfDaemon, registry: Registry) -> None:
    pushed = f"{registry.address}/digests/busybox:{secrets.token_hex(3)}"
    own_wharf.docker("tag", "busybox", pushed, check=True)
    assert json.loads(own_wharf.docker("image", "inspect", pushed, check=True).stdout)[0]["RepoDigests"] == []
    push = own_wharf.docker("push", pushed)
    assert push.returncode == 0, push.stderr
    digests = json.loads(own_wharf.docker("image", "inspect", pushed, check=True).stdout)[0]["RepoDigests"]
    assert len(digests) == 1 and digests[0].startswith(pushed.rsplit(":", 1)[0] + "@sha256:")
    own_wharf.docker("rmi", pushed, check=True)


def test_images_filters(own_wharf: WharfDaemon, tmp_path: Path) -> None:
    tag = secrets.token_hex(3)
    older = _import_labelled(own_wharf, tmp_path, f"filters/older:{tag}", "LABEL tier=one")
    time.sleep(1.1)
    newer = _import_labelled(own_wharf, tmp_path, f"filters/newer:{tag}", "LABEL tier=two", "LABEL extra=x")

    def ids(*filters: str) -> set[str]:
        args = ["images", "-q", "--no-trunc"]
        for item in filters:
            args += ["--filter", item]
        listed = own_wharf.docker(*args)
        assert listed.returncode == 0, listed.stderr
        return set(listed.stdout.split())

    assert ids("label=tier") >= {older, newer}
    assert ids("label=tier=two") == {newer}
    assert ids("label=extra") == {newer}
    assert ids(f"reference=filters/*:{tag}") == {older, newer}
    assert ids("reference=filters/older") == {older}
    assert newer in ids(f"since=filters/older:{tag}") and older not in ids(f"since=filters/older:{tag}")
    assert older in ids(f"before=filters/newer:{tag}") and newer not in ids(f"before=filters/newer:{tag}")
    assert ids("dangling=true").isdisjoint({older, newer})
    own_wharf.docker("rmi", f"filters/older:{tag}", f"filters/newer:{tag}", check=True)
    bad = own_wharf.docker("images", "--filter", "nonsense=1")
    assert bad.returncode != 0 and "invalid filter 'nonsense'" in bad.stderr


def test_prune_reclaims_real_space(own_wharf: WharfDaemon, tmp_path: Path) -> None:
    tag = secrets.token_hex(3)
    _import_labelled(own_wharf, tmp_path, f"prune/keep:{tag}", "LABEL keep=yes")
    dangling = _import_labelled(own_wharf, tmp_path, "", "LABEL purpose=dangling", unique=True)
    blobs = Path(own_wharf.data_root) / "containerd" / "content" / "blobs" / "sha256"
    before = len(list(blobs.iterdir()))
    pruned = _api(own_wharf, "/images/prune", "POST")
    assert isinstance(pruned, dict)
    assert {"Deleted": dangling} in pruned["ImagesDeleted"]
    assert pruned["SpaceReclaimed"] >= 2 * 1_500_000  # its layer blob and its snapshot are gone
    assert len(list(blobs.iterdir())) < before
    # -a with a label filter: only what matches goes; images in use by containers stay.
    own_wharf.docker("create", "--name", f"user-{tag}", "busybox", "true", check=True)
    cli = own_wharf.docker("image", "prune", "-a", "-f", "--filter", "label=keep=yes")
    assert cli.returncode == 0, cli.stderr
    assert f"untagged: prune/keep:{tag}" in cli.stdout and "Total reclaimed space:" in cli.stdout
    assert own_wharf.docker("image", "inspect", "busybox").returncode == 0
    everything = own_wharf.docker("image", "prune", "-a", "-f")
    assert everything.returncode == 0, everything.stderr
    assert own_wharf.docker("image", "inspect", "busybox").returncode == 0  # a container uses it
    own_wharf.docker("rm", f"user-{tag}", check=True)
    ran = own_wharf.docker("run", "--rm", "busybox", "true")
    assert ran.returncode == 0, ran.stderr


def test_system_df_counts_truthfully(own_wharf: WharfDaemon, tmp_path: Path) -> None:
    name = f"df-{secrets.token_hex(3)}"
    ran = own_wharf.docker("run", "--name", name, "busybox", "dd", "if=/dev/zero", "of=/blob", "bs=1024",
                           "count=512")
    assert ran.returncode == 0, ran.stderr
    shared_tag = f"df/copy:{secrets.token_hex(3)}"
    own_wharf.docker("tag", "busybox", shared_tag, check=True)
    df = _api(own_wharf, "/system/df")
    assert isinstance(df, dict)
    assert set(df) >= {"LayersSize", "Images", "Containers", "Volumes", "BuildCache"}
    busybox = next(image for image in df["Images"] if "busybox:latest" in image["RepoTags"])
    assert busybox["Containers"] == 1 and busybox["Size"] > 1_000_000
    assert df["LayersSize"] >= busybox["Size"]
    container = next(c for c in df["Containers"] if c["Names"] == [f"/{name}"])
    assert 512 * 1024 <= container["SizeRw"] < 2 * 512 * 1024
    assert container["SizeRootFs"] == container["SizeRw"] + busybox["Size"]
    assert df["BuildCache"] == []
    only_images = _api(own_wharf, "/system/df?type=image")
    assert isinstance(only_images, dict) and "Containers" not in only_images
    cli = own_wharf.docker("system", "df")
    assert cli.returncode == 0 and "Images" in cli.stdout, cli.stderr
    own_wharf.docker("rm", name, check=True)
    own_wharf.docker("rmi", shared_tag, check=True)


def test_image_records_changed_by_another_supervisor_client_show_in_wharfd(own_wharf: WharfDaemon) -> None:
    """wharfd keeps its listing of the supervisor's image records until they change; a change made
    by another client of the supervisor reaches it through the supervisor's /images/* events."""
    import asyncio

    from wharf.containerd.core.images import Image
    from wharf.containerd.proxy import connect

    name = f"elsewhere{secrets.token_hex(3)}"

    def listed() -> list[str]:
        return own_wharf.docker("images", "--format", "{{.Repository}}", check=True).stdout.split()

    def eventually(present: bool) -> None:
        deadline = time.monotonic() + 10
        while (name in listed()) != present:
            assert time.monotonic() < deadline, f"wharfd still lists {listed()}"
            time.sleep(0.05)

    async def change(delete: bool) -> None:
        supervisor = await connect(f"{own_wharf.exec_root}/containerd.sock")
        try:
            if delete:
                await supervisor.images.delete(f"docker.io/library/{name}:latest")
            else:
                busybox = await supervisor.images.get("docker.io/library/busybox:latest")
                await supervisor.images.update(Image(f"docker.io/library/{name}:latest", busybox.target))
        finally:
            await supervisor.close()

    assert name not in listed()  # wharfd has listed the records: the next answers may come from its copy
    asyncio.run(change(delete=False))
    eventually(present=True)
    asyncio.run(change(delete=True))
    eventually(present=False)
