"""Volumes with the real docker CLI: named and anonymous volumes, `--mount`, `--volumes-from`,
the copy of an image VOLUME's content into a new volume, the volume API and its errors."""

import io
import json
import secrets
import tarfile
from pathlib import Path

from tests.fixtures.busybox_image import write_rootfs_tar
from tests.fixtures.daemon import WharfDaemon


def _name() -> str:
    return "t" + secrets.token_hex(5)


def _inspect(wharf: WharfDaemon, ref: str) -> dict:
    return json.loads(wharf.docker("inspect", ref, check=True).stdout)[0]


def test_named_volume_persists_and_is_shared(wharf: WharfDaemon) -> None:
    volume, reader = _name(), _name()
    try:
        result = wharf.docker("run", "--rm", "-v", f"{volume}:/data", "busybox", "sh", "-c", "echo kept > /data/f")
        assert result.returncode == 0, result.stderr
        wharf.docker("run", "-d", "--name", reader, "-v", f"{volume}:/shared:ro", "busybox", "sleep", "60", check=True)
        result = wharf.docker("run", "--rm", "-v", f"{volume}:/data", "busybox", "cat", "/data/f")
        assert result.stdout == "kept\n", result.stderr
        mounts = _inspect(wharf, reader)["Mounts"]
        assert mounts == [{"Type": "volume", "Name": volume, "Source": mounts[0]["Source"], "Destination": "/shared",
                           "Driver": "local", "Mode": "ro", "RW": False, "Propagation": ""}]  # as docker.io shows it
        assert mounts[0]["Source"] == f"{wharf.data_root}/volumes/{volume}/_data"
        result = wharf.docker("volume", "rm", volume)
        assert result.returncode != 0 and "volume is in use" in result.stderr
        listed = wharf.docker("volume", "ls", "--filter", "dangling=false", "--format", "{{.Name}}", check=True)
        assert volume in listed.stdout.split()
    finally:
        wharf.docker("rm", "-f", reader)
        wharf.docker("volume", "rm", volume)
    assert not Path(wharf.data_root, "volumes", volume).exists()


def test_volume_api_create_inspect_ls_rm_prune(wharf: WharfDaemon) -> None:
    volume = _name()
    wharf.docker("volume", "create", "--label", "team=qa", volume, check=True)
    inspected = json.loads(wharf.docker("volume", "inspect", volume, check=True).stdout)[0]
    assert inspected["Name"] == volume and inspected["Driver"] == "local"
    assert inspected["Labels"] == {"team": "qa"} and inspected["Scope"] == "local"
    listed = wharf.docker("volume", "ls", "--filter", "label=team=qa", "--format", "{{.Name}}", check=True).stdout
    assert volume in listed.split()
    result = wharf.docker("volume", "prune", "-f", "--all", "--filter", "label=team=qa", check=True)
    assert volume in result.stdout
    result = wharf.docker("volume", "inspect", volume)
    assert result.returncode != 0 and "no such volume" in result.stderr


def test_bad_volume_names(wharf: WharfDaemon) -> None:
    before = sorted(p.name for p in Path(wharf.data_root, "volumes").iterdir())
    result = wharf.docker("volume", "create", "a/b")
    assert result.returncode != 0
    assert "includes invalid characters for a local volume name" in result.stderr
    result = wharf.docker("volume", "rm", "no-such-volume-here")
    assert result.returncode != 0 and "no such volume" in result.stderr
    assert sorted(p.name for p in Path(wharf.data_root, "volumes").iterdir()) == before


def test_anonymous_volume_is_removed_with_rm_v(wharf: WharfDaemon) -> None:
    name = _name()
    wharf.docker("run", "--name", name, "-v", "/scratch", "busybox", "sh", "-c", "echo x > /scratch/x", check=True)
    mounts = _inspect(wharf, name)["Mounts"]
    assert len(mounts) == 1 and mounts[0]["Destination"] == "/scratch" and len(mounts[0]["Name"]) == 64
    anonymous = mounts[0]["Name"]
    assert Path(mounts[0]["Source"], "x").read_text() == "x\n"
    wharf.docker("rm", "-v", name, check=True)
    assert not Path(wharf.data_root, "volumes", anonymous).exists()


def test_mount_syntax_tmpfs_bind_and_volumes_from(wharf: WharfDaemon, tmp_path: Path) -> None:
    volume, source = _name(), _name()
    (tmp_path / "hello").write_text("from the host\n")
    try:
        wharf.docker("run", "--name", source, "--mount", f"type=volume,source={volume},target=/data",
                     "busybox", "sh", "-c", "echo shared > /data/f", check=True)
        result = wharf.docker(
            "run", "--rm", "--volumes-from", f"{source}:ro",
            "--mount", f"type=bind,source={tmp_path},target=/host,readonly",
            "--mount", "type=tmpfs,target=/scratch,tmpfs-size=1048576",
            "busybox", "sh", "-c",
            "cat /data/f /host/hello; grep ' /scratch ' /proc/mounts; touch /data/g || echo ro-ok",
        )
        assert result.returncode == 0, result.stderr
        lines = result.stdout.splitlines()
        assert lines[0:2] == ["shared", "from the host"]
        assert lines[2].startswith("tmpfs /scratch tmpfs") and "size=1024k" in lines[2]
        assert lines[-1] == "ro-ok"
        result = wharf.docker("run", "--rm", "--mount", "type=bind,source=/no/such/dir,target=/x", "busybox", "true")
        assert result.returncode != 0 and "bind source path does not exist: /no/such/dir" in result.stderr
    finally:
        wharf.docker("rm", "-f", source)
        wharf.docker("volume", "rm", volume)


def test_image_volume_content_is_copied_into_a_new_volume(wharf: WharfDaemon, tmp_path: Path) -> None:
    image, volume = f"{_name()}:v", _name()
    tar_path = write_rootfs_tar(tmp_path / "rootfs.tar")
    with tarfile.open(tar_path, "a") as tar:
        directory = tarfile.TarInfo("data")
        directory.type, directory.mode = tarfile.DIRTYPE, 0o755
        tar.addfile(directory)
        payload = b"from the image\n"
        entry = tarfile.TarInfo("data/file")
        entry.size, entry.mode = len(payload), 0o644
        tar.addfile(entry, io.BytesIO(payload))
    wharf.docker("import", "--change", "VOLUME /data", "--change", 'CMD ["sh"]', str(tar_path), image, check=True)
    try:
        # An anonymous volume from the image's VOLUME gets the content.
        result = wharf.docker("run", "--rm", image, "cat", "/data/file")
        assert result.returncode == 0 and result.stdout == "from the image\n", result.stderr
        # A new named volume too; once it has content, it keeps its own.
        result = wharf.docker("run", "--rm", "-v", f"{volume}:/data", image, "sh", "-c",
                              "cat /data/file; echo mine > /data/file")
        assert result.stdout == "from the image\n", result.stderr
        result = wharf.docker("run", "--rm", "-v", f"{volume}:/data", image, "cat", "/data/file")
        assert result.stdout == "mine\n", result.stderr
    finally:
        wharf.docker("volume", "rm", volume)
        wharf.docker("rmi", image)


def test_volume_with_driver_options_is_mounted_while_used(wharf: WharfDaemon) -> None:
    volume = _name()
    wharf.docker("volume", "create", "-o", "type=tmpfs", "-o", "device=tmpfs", "-o", "o=size=2m", volume, check=True)
    try:
        result = wharf.docker("run", "--rm", "-v", f"{volume}:/fast", "busybox", "grep", " /fast ", "/proc/mounts")
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith("tmpfs /fast tmpfs") and "size=2048k" in result.stdout
        mountpoint = f"{wharf.data_root}/volumes/{volume}/_data"
        assert mountpoint not in Path("/proc/self/mountinfo").read_text()
    finally:
        wharf.docker("volume", "rm", volume, check=True)


def test_docker_sdk_networks_and_volumes(wharf: WharfDaemon) -> None:
    import docker

    client = docker.DockerClient(base_url=wharf.host)
    net_name, volume_name, web = _name(), _name(), _name()
    ipam = docker.types.IPAMConfig(pool_configs=[docker.types.IPAMPool(subnet="10.212.33.0/24")])
    network = client.networks.create(net_name, driver="bridge", ipam=ipam, labels={"by": "sdk"})
    volume = client.volumes.create(volume_name, labels={"by": "sdk"})
    try:
        assert client.networks.get(net_name).attrs["IPAM"]["Config"][0]["Subnet"] == "10.212.33.0/24"
        assert volume.attrs["Labels"] == {"by": "sdk"}
        container = client.containers.run("busybox", ["sleep", "60"], name=web, detach=True, network=net_name,
                                          volumes={volume_name: {"bind": "/data", "mode": "rw"}})
        container.reload()
        assert container.attrs["NetworkSettings"]["Networks"][net_name]["IPAddress"].startswith("10.212.33.")
        assert [m["Name"] for m in container.attrs["Mounts"]] == [volume_name]
        network.reload()
        assert [c.name for c in network.containers] == [web]
        network.disconnect(container)
        container.reload()
        assert net_name not in container.attrs["NetworkSettings"]["Networks"]
        container.remove(force=True)
        assert volume_name in [v.name for v in client.volumes.list(filters={"label": "by=sdk"})]
    finally:
        if web in [c.name for c in client.containers.list(all=True)]:
            client.api.remove_container(web, force=True)
        network.remove()
        volume.remove()
        client.close()


def test_volume_events(wharf: WharfDaemon) -> None:
    import time

    volume = _name()
    since = str(int(time.time()) - 1)
    wharf.docker("volume", "create", volume, check=True)
    wharf.docker("run", "--rm", "-v", f"{volume}:/v", "busybox", "true", check=True)
    wharf.docker("volume", "rm", volume, check=True)
    until = str(int(time.time()) + 1)
    lines = wharf.docker("events", "--since", since, "--until", until, "--filter", "type=volume",
                         "--format", "{{.Action}} {{.Actor.ID}}", check=True).stdout.splitlines()
    assert [line.split()[0] for line in lines if line.endswith(f" {volume}")] == \
        ["create", "mount", "unmount", "destroy"]


def test_volume_subpath_mounts_a_directory_of_the_volume(wharf: WharfDaemon, tmp_path: Path) -> None:
    """`--mount type=volume,volume-subpath=…` (API 1.45): the subpath is resolved inside the
    volume, so a symlink some container left there cannot lead the mount onto the host."""
    volume = _name()
    wharf.docker("volume", "create", volume, check=True)
    names = [_name() for _ in range(3)]
    try:
        wharf.docker("run", "--name", names[0], "--network", "none", "-v", f"{volume}:/vol", "busybox", "sh", "-c",
                     "mkdir -p /vol/sub && echo content > /vol/sub/file && ln -s /etc /vol/escape",
                     check=True)  # fmt: skip
        mounted = wharf.docker("run", "--name", names[1], "--network", "none", "--mount",
                               f"type=volume,source={volume},target=/mnt,volume-subpath=sub,readonly",
                               "busybox", "sh", "-c", "cat /mnt/file; ls /mnt; touch /mnt/new")  # fmt: skip
        assert mounted.stdout == "content\nfile\n"
        assert "Read-only file system" in mounted.stderr
        wharf.docker("cp", f"{names[1]}:/mnt/file", str(tmp_path / "copied"), check=True)  # stopped: bound for cp
        assert (tmp_path / "copied").read_text() == "content\n"
        # /vol/escape -> /etc is followed inside the volume, where there is no etc: the start fails.
        escape = wharf.docker("run", "--name", names[2], "--network", "none", "--mount",
                              f"type=volume,source={volume},target=/mnt,volume-subpath=escape",
                              "busybox", "ls", "/mnt")  # fmt: skip
        assert escape.returncode != 0 and "cannot access path escape" in escape.stderr
        refused = wharf.docker("create", "--mount", f"type=volume,source={volume},target=/mnt,volume-subpath=../x",
                               "busybox", "true")  # fmt: skip
        assert refused.returncode != 0 and "subpath must be a relative path within the volume" in refused.stderr
    finally:
        wharf.docker("rm", "-f", *names)
        wharf.docker("volume", "rm", volume)
