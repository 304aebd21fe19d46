"""`docker cp` and `docker export` with the real CLI against wharfd, and the symlink attacks of the
CVE-2018-15664 class: a symlink in the container (or in an uploaded tar) must never lead a copy to
a host file."""

from __future__ import annotations

import base64
import io
import json
import os
import secrets
import shutil
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures.daemon import WharfDaemon


def _name() -> str:
    return "c" + secrets.token_hex(5)


@pytest.fixture
def running(wharf: WharfDaemon) -> Iterator[str]:
    name = _name()
    wharf.docker("run", "-d", "--network", "none", "--name", name, "busybox", "sleep", "300", check=True)
    try:
        yield name
    finally:
        wharf.docker("rm", "-f", name)


@pytest.fixture
def host_dir() -> Iterator[Path]:
    """A host directory the attacks aim at: nothing in it may be read or written through a container."""
    path = Path(f"/var/tmp/wharf-cve-{secrets.token_hex(4)}")
    path.mkdir()
    (path / "secret").write_text("host secret\n")
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def test_cp_a_file_out_and_in(wharf: WharfDaemon, running: str, tmp_path: Path) -> None:
    wharf.docker("exec", running, "sh", "-c", "mkdir -p /data/sub && echo hello > /data/sub/f && "
                 "ln -s f /data/sub/link", check=True)  # fmt: skip
    wharf.docker("cp", f"{running}:/data", str(tmp_path / "out"), check=True)
    assert (tmp_path / "out/sub/f").read_text() == "hello\n"
    assert os.readlink(tmp_path / "out/sub/link") == "f"
    wharf.docker("cp", f"{running}:/data/sub/f", str(tmp_path / "single"), check=True)
    assert (tmp_path / "single").read_text() == "hello\n"

    (tmp_path / "in.txt").write_text("from the host\n")
    (tmp_path / "indir").mkdir()
    (tmp_path / "indir/a").write_text("a\n")
    wharf.docker("cp", str(tmp_path / "in.txt"), f"{running}:/data/", check=True)
    wharf.docker("cp", str(tmp_path / "indir"), f"{running}:/data/newdir", check=True)
    out = wharf.docker("exec", running, "sh", "-c", "cat /data/in.txt /data/newdir/a; stat -c %u /data/in.txt",
                       check=True).stdout  # fmt: skip
    assert out == "from the host\na\n0\n"


def test_cp_missing_path_is_not_found(wharf: WharfDaemon, running: str, tmp_path: Path) -> None:
    result = wharf.docker("cp", f"{running}:/no/such/file", str(tmp_path / "x"))
    assert result.returncode != 0
    assert "Could not find the file /no/such/file in container" in result.stderr


def test_archive_head_reports_the_path_stat(wharf: WharfDaemon, running: str) -> None:
    wharf.docker("exec", running, "sh", "-c", "printf 12345 > /tmp/five && ln -s /tmp/five /tmp/l", check=True)
    conn_status, _ = wharf.request("HEAD", f"/containers/{running}/archive?path=/tmp/five")
    assert conn_status == 200
    from tests.fixtures.daemon import UnixHTTPConnection

    conn = UnixHTTPConnection(wharf.socket)
    try:
        conn.request("HEAD", f"/containers/{running}/archive?path=/tmp/l")
        response = conn.getresponse()
        response.read()
        stat_info = json.loads(base64.b64decode(response.getheader("X-Docker-Container-Path-Stat")))
    finally:
        conn.close()
    assert stat_info["name"] == "l"
    assert stat_info["linkTarget"] == "/tmp/five"
    assert stat_info["mode"] & (1 << 27)  # Go's os.ModeSymlink


def test_cp_with_a_stopped_container(wharf: WharfDaemon, tmp_path: Path) -> None:
    name = _name()
    wharf.docker("run", "--network", "none", "--name", name, "busybox", "sh", "-c", "echo kept > /kept", check=True)
    try:
        wharf.docker("cp", f"{name}:/kept", str(tmp_path / "kept"), check=True)
        assert (tmp_path / "kept").read_text() == "kept\n"
        (tmp_path / "new").write_text("new\n")
        wharf.docker("cp", str(tmp_path / "new"), f"{name}:/new", check=True)
        wharf.docker("start", name, check=True)
        wharf.docker("wait", name, check=True)
        wharf.docker("cp", f"{name}:/new", str(tmp_path / "back"), check=True)
        assert (tmp_path / "back").read_text() == "new\n"
        assert "wharf-rootfs-" not in Path("/proc/self/mountinfo").read_text()  # the snapshot mount went
    finally:
        wharf.docker("rm", "-f", name)


def test_cp_reaches_the_volumes_of_a_stopped_container(wharf: WharfDaemon, tmp_path: Path) -> None:
    """As Docker: a copy into or out of a container that does not run sees its volumes and binds."""
    name = _name()
    bound = tmp_path / "bound"
    bound.mkdir()
    (tmp_path / "in").write_text("into the volume\n")
    wharf.docker("create", "--network", "none", "--name", name, "-v", "/vol1", "-v", f"{bound}:/deep/bound",
                 "busybox", "sh", "-c", "cat /vol1/in > /vol1/out; echo from-bind > /deep/bound/made",
                 check=True)  # fmt: skip
    try:
        wharf.docker("cp", str(tmp_path / "in"), f"{name}:/vol1/in", check=True)
        wharf.docker("start", "-a", name, check=True)
        wharf.docker("cp", f"{name}:/vol1/out", str(tmp_path / "out"), check=True)
        assert (tmp_path / "out").read_text() == "into the volume\n"
        wharf.docker("cp", f"{name}:/deep/bound/made", str(tmp_path / "made"), check=True)
        assert (tmp_path / "made").read_text() == "from-bind\n"
        assert "wharf-rootfs-" not in Path("/proc/self/mountinfo").read_text()  # all went with the root
    finally:
        wharf.docker("rm", "-f", "-v", name)


def test_a_volume_destination_that_is_a_symlink_stays_in_the_container(
    wharf: WharfDaemon, host_dir: Path, tmp_path: Path
) -> None:
    """The image's /data is a link to the host directory's path: mounting the volume for a copy
    into the stopped container must follow it inside the root, never onto the host."""
    name = _name()
    wharf.docker("run", "--network", "none", "--name", name, "busybox", "ln", "-s", str(host_dir), "/data",
                 check=True)  # fmt: skip
    (tmp_path / "payload").write_text("payload\n")
    try:
        wharf.docker("commit", name, f"linked-{name}", check=True)
        victim = _name()
        wharf.docker("create", "--network", "none", "--name", victim, "-v", "/data", f"linked-{name}",
                     "cat", "/data/payload", check=True)  # fmt: skip
        try:
            wharf.docker("cp", str(tmp_path / "payload"), f"{victim}:/data/payload", check=True)
            assert sorted(os.listdir(host_dir)) == ["secret"]
            # The volume was mounted at the link's target inside the container, where cat finds it.
            assert wharf.docker("start", "-a", victim, check=True).stdout == "payload\n"
        finally:
            wharf.docker("rm", "-f", "-v", victim)
    finally:
        wharf.docker("rm", "-f", name)
        wharf.docker("rmi", f"linked-{name}")


def test_symlinks_in_the_container_do_not_reach_the_host(
    wharf: WharfDaemon, running: str, host_dir: Path, tmp_path: Path
) -> None:
    # Absolute and relative links to the host directory's path, and a link to the root.
    wharf.docker("exec", running, "sh", "-c",
                 f"ln -s {host_dir} /abs && ln -s ../../../../../../..{host_dir} /tmp/rel && ln -s / /root-link",
                 check=True)  # fmt: skip
    for source in ("/abs/secret", "/tmp/rel/secret", f"/root-link{host_dir}/secret"):
        result = wharf.docker("cp", f"{running}:{source}", str(tmp_path / "stolen"))
        assert result.returncode != 0, f"{source} was read: {result.stdout}"
        assert not (tmp_path / "stolen").exists()
    # With the same path inside the container, the links lead there: the container's file, not the host's.
    wharf.docker("exec", running, "sh", "-c", f"mkdir -p {host_dir} && echo container > {host_dir}/secret",
                 check=True)  # fmt: skip
    for source in ("/abs/secret", "/tmp/rel/secret", f"/root-link{host_dir}/secret"):
        wharf.docker("cp", f"{running}:{source}", str(tmp_path / "read"), check=True)
        assert (tmp_path / "read").read_text() == "container\n"
        (tmp_path / "read").unlink()
    (tmp_path / "payload").write_text("payload\n")
    for target in ("/abs/", "/tmp/rel/", f"/root-link{host_dir}/"):
        wharf.docker("cp", str(tmp_path / "payload"), f"{running}:{target}")
    assert sorted(os.listdir(host_dir)) == ["secret"]
    assert (host_dir / "secret").read_text() == "host secret\n"
    listed = wharf.docker("exec", running, "ls", str(host_dir), check=True).stdout.split()
    assert sorted(listed) == ["payload", "secret"]


def test_an_uploaded_tar_cannot_write_through_its_own_symlink(
    wharf: WharfDaemon, running: str, host_dir: Path
) -> None:
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w") as tar:
        link = tarfile.TarInfo("evil")
        link.type, link.linkname = tarfile.SYMTYPE, str(host_dir)
        tar.addfile(link)
        payload = b"owned\n"
        entry = tarfile.TarInfo("evil/secret")
        entry.size = len(payload)
        tar.addfile(entry, io.BytesIO(payload))
        escape = tarfile.TarInfo(f"../../../../../..{host_dir}/dotdot")
        escape.size = len(payload)
        tar.addfile(escape, io.BytesIO(payload))
    status, _ = wharf.request("PUT", f"/containers/{running}/archive?path=/tmp", data.getvalue(),
                              {"Content-Type": "application/x-tar"})
    assert status == 400
    assert sorted(os.listdir(host_dir)) == ["secret"]
    assert (host_dir / "secret").read_text() == "host secret\n"


def test_export_is_a_tar_of_the_rootfs(wharf: WharfDaemon, running: str, tmp_path: Path) -> None:
    wharf.docker("exec", running, "sh", "-c", "echo exported > /marker", check=True)
    wharf.docker("export", "-o", str(tmp_path / "fs.tar"), running, check=True)
    with tarfile.open(tmp_path / "fs.tar") as tar:
        names = set(tar.getnames())
        assert "marker" in names and "bin/busybox" in names
        assert not any(n.startswith("proc/") for n in names)
        marker = tar.extractfile("marker")
        assert marker is not None and marker.read() == b"exported\n"


def test_diff_lists_added_changed_and_deleted_paths(wharf: WharfDaemon, running: str) -> None:
    assert wharf.docker("diff", running, check=True).stdout == ""
    wharf.docker("exec", running, "sh", "-c", "touch /tmp/new && rm /bin/cat && mkdir /made && echo x > /made/f",
                 check=True)  # fmt: skip
    lines = set(wharf.docker("diff", running, check=True).stdout.splitlines())
    assert lines == {"C /tmp", "A /tmp/new", "C /bin", "D /bin/cat", "A /made", "A /made/f"}
