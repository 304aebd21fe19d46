"""exec: another process in a running container's namespaces and cgroups."""

from __future__ import annotations

import json
from pathlib import Path

from tests.fixtures.bundle import make_bundle
from tests.integration.runtime.conftest import Runtime, new_id


def running(runtime: Runtime, tmp_path: Path) -> str:
    bundle = make_bundle(tmp_path / "b", ["sleep", "1000"], hostname="inside")
    cid = new_id()
    runtime.ok("run", "--detach", "--bundle", str(bundle), cid)
    return cid


def test_exec_joins_the_containers_namespaces(runtime: Runtime, tmp_path: Path) -> None:
    cid = running(runtime, tmp_path)
    init_pid = runtime.state(cid)["pid"]
    result = runtime.call("exec", cid, "sh", "-c", "hostname; cat /proc/1/cmdline | tr '\\0' ' '; echo; "
                          "ls /sys/class/net; exit 5")
    assert result.returncode == 5, result.stderr
    assert result.stdout.split("\n")[:3] == ["inside", "sleep 1000 ", "lo"]
    cgroup_of = {line.split(":")[1]: line.split(":")[2] for line in open(f"/proc/{init_pid}/cgroup").read().split()}
    inner = runtime.ok("exec", cid, "cat", "/proc/self/cgroup").stdout
    # same memory cgroup as the init (seen from inside without a cgroup namespace: the same path)
    assert any(line.endswith(cgroup_of["memory"]) for line in inner.split() if ":memory:" in line)


def test_exec_with_a_process_file(runtime: Runtime, tmp_path: Path) -> None:
    cid = running(runtime, tmp_path)
    process = {"args": ["sh", "-c", "id -u; pwd; echo $X"], "cwd": "/tmp", "user": {"uid": 65534, "gid": 65534},
               "env": ["PATH=/bin", "X=y"]}
    (tmp_path / "process.json").write_text(json.dumps(process))
    result = runtime.ok("exec", "--process", str(tmp_path / "process.json"), cid)
    assert result.stdout.split() == ["65534", "/tmp", "y"]


def test_exec_detached_writes_the_pid_file(runtime: Runtime, tmp_path: Path) -> None:
    cid = running(runtime, tmp_path)
    runtime.ok("exec", "--detach", "--pid-file", str(tmp_path / "exec.pid"), cid, "sleep", "1000")
    pid = int((tmp_path / "exec.pid").read_text())
    assert "sleep" in Path(f"/proc/{pid}/cmdline").read_text()
    assert pid in json.loads(runtime.ok("ps", "--format", "json", cid).stdout)


def test_exec_of_a_missing_command_fails(runtime: Runtime, tmp_path: Path) -> None:
    cid = running(runtime, tmp_path)
    result = runtime.call("exec", cid, "no-such-command")
    assert result.returncode != 0
