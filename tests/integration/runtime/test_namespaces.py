"""Joining existing namespaces by path, user namespaces, preserved fds, --no-pivot."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures.bundle import make_bundle, read_spec, write_spec
from tests.integration.runtime.conftest import Runtime, new_id


def test_join_another_containers_namespaces_by_path(runtime: Runtime, tmp_path: Path) -> None:
    first = make_bundle(tmp_path / "a", ["sleep", "1000"], hostname="first")
    cid = new_id()
    runtime.ok("run", "--detach", "--bundle", str(first), cid)
    pid = runtime.state(cid)["pid"]
    second = make_bundle(tmp_path / "b", ["sh", "-c", "readlink /proc/self/ns/net; readlink /proc/self/ns/uts; hostname"])
    spec = read_spec(second)
    spec["linux"]["namespaces"] = [
        {"type": t, "path": f"/proc/{pid}/ns/{p}"} if t in ("network", "uts") else {"type": t}
        for t, p in (("pid", "pid"), ("network", "net"), ("ipc", "ipc"), ("uts", "uts"), ("mount", "mnt"))
    ]
    write_spec(second, spec)
    lines = runtime.run(second).stdout.split()
    assert lines == [os.readlink(f"/proc/{pid}/ns/net"), os.readlink(f"/proc/{pid}/ns/uts"), "first"]


def test_preserved_fds_reach_the_container(runtime: Runtime, tmp_path: Path) -> None:
    bundle = make_bundle(tmp_path / "b", ["sh", "-c", "cat <&3; ls /proc/self/fd | tr '\\n' ' '"])
    data = tmp_path / "data"
    data.write_text("through fd 3\n")
    out = tmp_path / "out"
    # A shell opens fd 3 for the runtime: this test process's own fd 3 belongs to pytest.
    command = runtime.cmd("run", "--preserve-fds", "1", "--bundle", str(bundle), new_id())
    with open(out, "w") as stdout:
        subprocess.run(["sh", "-c", 'exec 3<"$0"; exec "$@"', str(data), *command], stdout=stdout,
                       stdin=subprocess.DEVNULL, timeout=30, check=True)
    first, second = out.read_text().split("\n")[:2]
    assert first == "through fd 3"
    assert second.split() == ["0", "1", "2", "3", "4"]  # 3 preserved, 4 is ls's own


def test_no_pivot_chroots_into_the_rootfs(runtime: Runtime, tmp_path: Path) -> None:
    bundle = make_bundle(tmp_path / "b", ["sh", "-c", "ls /bin/busybox; echo $$"])
    result = runtime.call("run", "--no-pivot", "--bundle", str(bundle), new_id())
    assert result.stdout.split() == ["/bin/busybox", "1"], result.stderr


@pytest.fixture
def world_readable_dir() -> Iterator[Path]:
    """A bundle dir a mapped root can reach (pytest's tmp dirs are 0700 root's)."""
    path = Path(f"/run/wt-{uuid.uuid4().hex[:8]}")
    path.mkdir(mode=0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def test_user_namespace_maps_root_to_an_unprivileged_host_id(runtime: Runtime, world_readable_dir: Path) -> None:
    bundle = make_bundle(world_readable_dir / "b", ["sh", "-c", "id -u; cat /proc/self/uid_map; sleep 1000"])
    os.chmod(bundle, 0o755)
    spec = read_spec(bundle)
    spec["linux"]["namespaces"].append({"type": "user"})
    spec["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 200000, "size": 65536}]
    spec["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 200000, "size": 65536}]
    write_spec(bundle, spec)
    cid = new_id()
    out = world_readable_dir / "out"
    with open(out, "w") as stdout:
        runtime.ok("run", "--detach", "--bundle", str(bundle), cid, stdout=stdout)
    pid = runtime.state(cid)["pid"]
    assert os.stat(f"/proc/{pid}").st_uid == 200000  # root inside, an unprivileged id outside
    deadline = time.monotonic() + 10
    while len(out.read_text().split()) < 4 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert out.read_text().split() == ["0", "0", "200000", "65536"]
    runtime.ok("delete", "--force", cid)


@pytest.mark.parametrize("propagation", ["rprivate", "rslave", "rshared"])
def test_rootfs_propagation_and_no_mount_leaks_to_the_host(runtime: Runtime, tmp_path: Path, propagation: str) -> None:
    bundle = make_bundle(tmp_path / "b", ["awk", '$5 == "/"', "/proc/self/mountinfo"])
    spec = read_spec(bundle)
    spec["linux"]["rootfsPropagation"] = propagation
    write_spec(bundle, spec)
    result = runtime.run(bundle)
    assert result.returncode == 0, result.stderr
    root_line = result.stdout
    if propagation != "rshared":  # with rshared, crun and wharf-runc share the new /, runc 1.1 does not
        assert "shared:" not in root_line
    # Nothing of the container reached the host (other tests may mount meanwhile: look for ours only).
    assert str(tmp_path) not in Path("/proc/self/mountinfo").read_text()
