"""`wharfd --userns-remap default`: containers' root is the first uid/gid of dockremap's
subordinate range on the host, while inside `id` says root; what it writes through a bind mount
belongs to that uid; host root's files are not its own; --userns=host opts out; --privileged
needs --userns=host; `docker info` shows `name=userns`.

The rootfs is shown to the container through idmapped mounts (see
containerd/plugins/runtime_shim/idmapped_rootfs.py); these tests need a kernel and filesystem
that allow them, and skip (with the reason) where the daemon cannot start a remapped container.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import require_binary
from tests.fixtures import cleanup
from tests.fixtures.daemon import WharfDaemon
from tests.interop.test_runtimes_under_wharfd import DaemonWithCrunWrapper, _crun_problem
from wharf.daemon.userns_remap import DEFAULT_USER, SUBUID, _ranges


class RemappedDaemon(DaemonWithCrunWrapper):
    def __init__(self, runtime: str) -> None:
        super().__init__(runtime)
        self.extra_args = ("--userns-remap", "default")


@pytest.fixture(scope="module", params=["wharf-runc", "runc", "crun"])
def remapped(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WharfDaemon]:
    require_binary("docker")
    runtime = request.param
    if runtime != "wharf-runc":
        require_binary(runtime)
    daemon = RemappedDaemon(runtime)
    if runtime == "crun":  # crun refuses this hybrid-cgroup host unless wrapped (see that module)
        crun = shutil.which("crun") or "crun"
        if problem := _crun_problem(crun, tmp_path_factory.mktemp("crun-probe")):
            pytest.skip(f"crun cannot run containers on this host: {problem}")
        daemon.install_crun_wrapper(crun)
    try:
        daemon.start()
        daemon.import_busybox()
        probe = daemon.docker("run", "--rm", "--network", "none", "busybox", "true")
        if probe.returncode != 0 and "idmapped mount" in probe.stderr:
            pytest.skip(f"no idmapped mounts here: {probe.stderr.strip()}")
        yield daemon
    finally:
        daemon.stop()


def remapped_root() -> int:
    return _ranges(SUBUID, {DEFAULT_USER})[0][0]


def status_ids(pid: int) -> tuple[int, int]:
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines())
    return int(fields["Uid"].split()[0]), int(fields["Gid"].split()[0])


def test_default_creates_dockremap_and_its_ranges(remapped: WharfDaemon) -> None:
    import pwd
    pwd.getpwnam(DEFAULT_USER)
    assert remapped_root() >= 100000
    security = json.loads(remapped.docker("info", "--format", "{{json .SecurityOptions}}", check=True).stdout)
    assert "name=userns" in security


def test_root_inside_is_the_remapped_uid_outside(remapped: WharfDaemon) -> None:
    name = f"u{os.urandom(4).hex()}"
    remapped.docker("run", "-d", "--name", name, "busybox", "sleep", "60", check=True)
    try:
        assert remapped.docker("exec", name, "id", "-u", check=True).stdout.strip() == "0"
        pid = json.loads(remapped.docker("inspect", name, check=True).stdout)[0]["State"]["Pid"]
        root = remapped_root()
        assert status_ids(pid) == (root, _gid_root())
        # The rootfs is the container root's: it writes where root writes, /etc and its files included.
        done = remapped.docker("exec", name, "sh", "-c",
                               "touch /etc/new && echo 10.9.9.9 extra >> /etc/hosts && echo x > /dev/shm/x"
                               " && echo ok > /tmp/t && ls -ln /etc/passwd")
        assert done.returncode == 0, done.stderr
        assert done.stdout.split()[2:4] == ["0", "0"], done.stdout
        # On disk (the snapshot, seen by diff, commit and export) its files keep the image's ids.
        remapped.docker("kill", name, check=True)
        archive = subprocess.run(["docker", "export", name], capture_output=True, env=remapped.env, check=True)
        owners = {m.name: (m.uid, m.gid) for m in tarfile.open(fileobj=io.BytesIO(archive.stdout))}
        assert owners["etc/passwd"] == (0, 0)
        assert owners["etc/new"] == (0, 0)
    finally:
        remapped.docker("rm", "-f", name)


def _gid_root() -> int:
    from wharf.daemon.userns_remap import SUBGID
    return _ranges(SUBGID, {DEFAULT_USER})[0][0]


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A directory the remapped root can reach (pytest's tmp_path is under a 0700 directory, and a
    runtime resolves bind sources as the container's root, an unprivileged user on the host)."""
    shared = Path(f"/var/tmp/wt-userns-{os.urandom(4).hex()}")
    shared.mkdir(mode=0o777)
    shared.chmod(0o777)
    try:
        yield shared
    finally:
        shutil.rmtree(shared, ignore_errors=True)


def test_bind_mounts_see_host_ids(remapped: WharfDaemon, shared_dir: Path) -> None:
    shared = shared_dir
    host_file = shared / "hosts-root"
    host_file.write_text("host\n")
    host_file.chmod(0o644)
    done = remapped.docker("run", "--rm", "--network", "none", "-v", f"{shared}:/shared", "busybox", "sh", "-c",
                           "echo made > /shared/made; echo more >> /shared/hosts-root; echo rc=$?")
    assert "rc=1" in done.stdout, (done.stdout, done.stderr)  # host root's file is not the container root's
    assert host_file.read_text() == "host\n"
    made = shared / "made"
    assert (made.stat().st_uid, made.stat().st_gid) == (remapped_root(), _gid_root())


def test_named_volumes_belong_to_the_remapped_root(remapped: WharfDaemon) -> None:
    volume = f"v{os.urandom(4).hex()}"
    try:
        done = remapped.docker("run", "--rm", "--network", "none", "-v", f"{volume}:/data", "busybox", "sh", "-c",
                               "echo hi > /data/f && stat -c %u /data/f")
        assert (done.returncode, done.stdout.strip()) == (0, "0"), done.stderr
    finally:
        remapped.docker("volume", "rm", "-f", volume)


def test_userns_host_opts_out_and_privileged_needs_it(remapped: WharfDaemon) -> None:
    refused = remapped.docker("run", "--rm", "--privileged", "busybox", "true")
    assert refused.returncode != 0
    assert "privileged mode is incompatible with user namespaces" in refused.stderr
    refused = remapped.docker("run", "--rm", "--network", "host", "busybox", "true")
    assert "cannot share the host's network namespace" in refused.stderr
    name = f"h{os.urandom(4).hex()}"
    remapped.docker("run", "-d", "--name", name, "--userns", "host", "--privileged", "busybox", "sleep", "60",
                    check=True)
    try:
        pid = json.loads(remapped.docker("inspect", name, check=True).stdout)[0]["State"]["Pid"]
        assert status_ids(pid) == (0, 0)
    finally:
        remapped.docker("rm", "-f", name)


def test_nothing_is_left_mounted_after_remove(remapped: WharfDaemon) -> None:
    before = set(cleanup.mounts_under(remapped.exec_root, remapped.data_root))
    name = f"m{os.urandom(4).hex()}"
    remapped.docker("run", "-d", "--name", name, "busybox", "sleep", "60", check=True)
    during = set(cleanup.mounts_under(remapped.exec_root, remapped.data_root)) - before
    assert any("/.idmapped/" in m for m in during), during
    remapped.docker("rm", "-f", name, check=True)
    time.sleep(0.2)
    assert set(cleanup.mounts_under(remapped.exec_root, remapped.data_root)) - before == set()
    userns_pins = Path(remapped.exec_root, "network", "userns")
    assert not userns_pins.is_dir() or not list(userns_pins.iterdir())


def test_cp_and_export_of_a_running_container_speak_its_ids(remapped: WharfDaemon, tmp_path: Path) -> None:
    """wharfd reaches a running remapped container through its process's root, where files show
    host ids: `docker cp` writes as the container's root and reports owners as the container sees them."""
    name = f"cp-{os.urandom(3).hex()}"
    remapped.docker("run", "-d", "--name", name, "--network", "none", "busybox", "sh", "-c",
                    "echo inside > /made-inside; chown 1000:1000 /made-inside; sleep 300", check=True)  # fmt: skip
    try:
        (tmp_path / "sent").write_text("sent\n")
        result = remapped.docker("cp", str(tmp_path / "sent"), f"{name}:/sent")
        assert result.returncode == 0, result.stderr
        owners = remapped.docker("exec", name, "stat", "-c", "%u:%g %n", "/sent", "/made-inside", check=True)
        assert owners.stdout.split("\n")[0] == "0:0 /sent"
        raw = subprocess.run(["docker", "cp", f"{name}:/made-inside", "-"], capture_output=True,
                             env=remapped.env, timeout=60, check=True).stdout  # fmt: skip
        with tarfile.open(fileobj=io.BytesIO(raw)) as tar:
            member = tar.getmember("made-inside")
            assert (member.uid, member.gid) == (1000, 1000)
        exported = subprocess.run(["docker", "export", name], capture_output=True, env=remapped.env,
                                  timeout=60, check=True).stdout  # fmt: skip
        with tarfile.open(fileobj=io.BytesIO(exported)) as tar:
            assert (tar.getmember("made-inside").uid, tar.getmember("bin/busybox").uid) == (1000, 0)
    finally:
        remapped.docker("rm", "-f", name)
