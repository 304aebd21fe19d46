"""create → start → kill → delete, state and list, the same under wharf-runc, runc and crun."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.fixtures.bundle import make_bundle
from tests.integration.runtime.conftest import Runtime, cgroup_dirs_named, new_id


def wait_for_status(runtime: Runtime, container_id: str, status: str, timeout: float = 10) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        state = runtime.state(container_id)
        if state["status"] == status or time.monotonic() > deadline:
            return state
        time.sleep(0.02)


def test_two_stage_start_state_transitions(runtime: Runtime, tmp_path: Path) -> None:
    marker = tmp_path / "out"
    bundle = make_bundle(tmp_path / "b", ["sh", "-c", "echo started > /out/marker; exec sleep 1000"])
    (tmp_path / "b" / "rootfs" / "out").mkdir()
    cid = new_id()
    # The init's stdio is ours: send it to a file so `create` returns without holding our pipes.
    with open(marker.with_suffix(".log"), "w") as log:
        runtime.ok("create", "--bundle", str(bundle), "--pid-file", str(tmp_path / "pid"), cid, stdout=log)
    state = runtime.state(cid)
    assert state["status"] == "created"
    assert state["id"] == cid and state["bundle"] == str(bundle)
    assert state["pid"] == int((tmp_path / "pid").read_text()) > 0
    assert not (bundle / "rootfs" / "out" / "marker").exists(), "the process ran before start"
    runtime.ok("start", cid)
    assert runtime.state(cid)["status"] == "running"
    deadline = time.monotonic() + 5
    while not (bundle / "rootfs" / "out" / "marker").exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert (bundle / "rootfs" / "out" / "marker").read_text() == "started\n"
    assert runtime.call("start", cid).returncode != 0, "a running container cannot be started again"
    runtime.ok("kill", cid, "KILL")
    assert wait_for_status(runtime, cid, "stopped")["status"] == "stopped"
    runtime.ok("delete", cid)
    assert runtime.call("state", cid).returncode != 0
    assert cid not in runtime.ids()
    assert cgroup_dirs_named(cid) == []


def test_kill_a_created_container(runtime: Runtime, tmp_path: Path) -> None:
    bundle = make_bundle(tmp_path / "b", ["true"])
    cid = new_id()
    runtime.ok("create", "--bundle", str(bundle), cid)
    runtime.ok("kill", cid, "9")
    assert wait_for_status(runtime, cid, "stopped")["status"] == "stopped"
    runtime.ok("delete", cid)
    assert cgroup_dirs_named(cid) == []


def test_delete_a_created_container_kills_it(runtime: Runtime, tmp_path: Path) -> None:
    bundle = make_bundle(tmp_path / "b", ["true"])
    cid = new_id()
    runtime.ok("create", "--bundle", str(bundle), cid)
    pid = runtime.state(cid)["pid"]
    runtime.ok("delete", cid)
    assert not os.path.exists(f"/proc/{pid}") or open(f"/proc/{pid}/stat").read().split()[2] == "Z"
    assert cid not in runtime.ids()


def test_delete_refuses_a_running_container_unless_forced(runtime: Runtime, tmp_path: Path) -> None:
    bundle = make_bundle(tmp_path / "b", ["sleep", "1000"])
    cid = new_id()
    runtime.ok("run", "--detach", "--bundle", str(bundle), cid)
    assert runtime.state(cid)["status"] == "running"
    assert runtime.call("delete", cid).returncode != 0
    assert runtime.state(cid)["status"] == "running"
    runtime.ok("delete", "--force", cid)
    assert cid not in runtime.ids()
    assert cgroup_dirs_named(cid) == []


def test_kill_with_signal_names_and_default_term(runtime: Runtime, tmp_path: Path) -> None:
    # A pid-1 shell ignores signals it has no handler for: trap them to see them arrive.
    script = "trap 'echo got TERM; exit 0' TERM; trap 'echo got USR1' USR1; echo ready; while :; do sleep 0.05; done"
    bundle = make_bundle(tmp_path / "b", ["sh", "-c", script])
    cid = new_id()
    proc = subprocess.Popen(runtime.cmd("run", "--bundle", str(bundle), cid), stdout=subprocess.PIPE,
                            stdin=subprocess.DEVNULL, text=True)
    try:
        assert proc.stdout.readline() == "ready\n"
        runtime.ok("kill", cid, "SIGUSR1")
        assert proc.stdout.readline() == "got USR1\n"
        runtime.ok("kill", cid)
        assert proc.stdout.readline() == "got TERM\n"
        assert proc.wait(timeout=10) == 0
    finally:
        proc.kill()
        proc.wait()


def test_run_exits_128_plus_the_signal(runtime: Runtime, tmp_path: Path) -> None:
    bundle = make_bundle(tmp_path / "b", ["sh", "-c", "echo ready; exec sleep 1000"])
    cid = new_id()
    proc = subprocess.Popen(runtime.cmd("run", "--bundle", str(bundle), cid), stdout=subprocess.PIPE,
                            stdin=subprocess.DEVNULL, text=True)
    try:
        assert proc.stdout.readline() == "ready\n"
        runtime.ok("kill", cid, "KILL")
        assert proc.wait(timeout=10) == 128 + signal.SIGKILL
    finally:
        proc.kill()
        proc.wait()
    assert cid not in runtime.ids()


def test_kill_all_reaches_every_process(runtime: Runtime, tmp_path: Path) -> None:
    bundle = make_bundle(tmp_path / "b", ["sh", "-c", "sleep 1000 & sleep 1000 & exec sleep 1000"])
    cid = new_id()
    runtime.ok("run", "--detach", "--bundle", str(bundle), cid)
    runtime.ok("kill", "--all", cid, "KILL")
    assert wait_for_status(runtime, cid, "stopped")["status"] == "stopped"
    runtime.ok("delete", cid)


def test_list_shows_each_container_with_its_status(runtime: Runtime, tmp_path: Path) -> None:
    bundle = make_bundle(tmp_path / "b", ["sleep", "1000"])
    first, second = new_id(), new_id()
    runtime.ok("create", "--bundle", str(bundle), first)
    runtime.ok("run", "--detach", "--bundle", str(bundle), second)
    assert sorted(runtime.ids()) == sorted([first, second])
    import json

    listed = {c["id"]: c["status"] for c in json.loads(runtime.ok("list", "--format", "json").stdout)}
    assert listed == {first: "created", second: "running"}
    table = runtime.ok("list").stdout.splitlines()
    assert table[0].split()[1:3] == ["PID", "STATUS"]  # runc and wharf-runc say ID, crun NAME
    assert len(table) == 3


def test_state_of_unknown_container_fails(runtime: Runtime) -> None:
    result = runtime.call("state", new_id())
    assert result.returncode != 0
    assert "not exist" in result.stderr or "does not exist" in result.stderr or result.stderr


def test_stdout_is_a_pipe_the_caller_reads_until_the_init_exits(runtime: Runtime, tmp_path: Path) -> None:
    """As a shim does: create with pipes, start, read the output after create's exit."""
    bundle = make_bundle(tmp_path / "b", ["sh", "-c", "echo one; echo two"])
    cid = new_id()
    read_end, write_end = os.pipe()
    try:
        runtime.ok("create", "--bundle", str(bundle), cid, stdout=write_end)
        os.close(write_end)
        write_end = -1
        runtime.ok("start", cid)
        chunks = []
        while select.select([read_end], [], [], 10)[0]:
            chunk = os.read(read_end, 4096)
            if not chunk:
                break
            chunks.append(chunk)
        assert b"".join(chunks) == b"one\ntwo\n"
    finally:
        os.close(read_end)
        if write_end >= 0:
            os.close(write_end)


@pytest.mark.parametrize("bad", ["missing-config", "invalid-json", "unknown-namespace", "missing-mount-source",
                                 "missing-namespace-path"])
def test_bad_bundle_fails_cleanly(runtime: Runtime, tmp_path: Path, bad: str) -> None:
    import json

    bundle = make_bundle(tmp_path / "b", ["true"])
    config = bundle / "config.json"
    spec = json.loads(config.read_text())
    if bad == "missing-config":
        config.unlink()
    elif bad == "invalid-json":
        config.write_text("{not json")
    elif bad == "unknown-namespace":
        spec["linux"]["namespaces"].append({"type": "bogus"})
        config.write_text(json.dumps(spec))
    elif bad == "missing-namespace-path":
        spec["linux"]["namespaces"] = [n for n in spec["linux"]["namespaces"] if n["type"] != "network"]
        spec["linux"]["namespaces"].append({"type": "network", "path": str(tmp_path / "no-such-netns")})
        config.write_text(json.dumps(spec))
    else:
        spec["mounts"].append({"destination": "/data", "type": "bind", "source": str(tmp_path / "nope"),
                               "options": ["rbind"]})
        config.write_text(json.dumps(spec))
    cid = new_id()
    result = runtime.call("create", "--bundle", str(bundle), cid)
    assert result.returncode != 0
    assert result.stderr.strip()
    if runtime.name == "wharf-runc":  # says what is wrong, in one line
        expected = {"missing-config": "no config.json", "invalid-json": "config.json is not valid JSON",
                    "unknown-namespace": "unknown namespace type 'bogus'", "missing-mount-source": "nope",
                    "missing-namespace-path": "no-such-netns: No such file or directory"}[bad]
        assert expected in result.stderr and "Traceback" not in result.stderr, result.stderr
    assert runtime.call("state", cid).returncode != 0
    assert cgroup_dirs_named(cid) == []
    assert not (runtime.root / cid).exists()
    assert [line for line in Path("/proc/self/mountinfo").read_text().splitlines() if str(bundle) in line] == []


def test_pause_resume_and_force_delete_while_paused(runtime: Runtime, tmp_path: Path) -> None:
    bundle = make_bundle(tmp_path / "b", ["sleep", "1000"])
    cid = new_id()
    runtime.ok("run", "--detach", "--bundle", str(bundle), cid)
    runtime.ok("pause", cid)
    assert runtime.state(cid)["status"] == "paused"
    pid = runtime.state(cid)["pid"]
    assert open(f"/proc/{pid}/stat").read().split()[2] in ("D", "S")  # frozen in the kernel
    runtime.ok("resume", cid)
    assert runtime.state(cid)["status"] == "running"
    runtime.ok("pause", cid)
    started = time.monotonic()
    runtime.ok("delete", "--force", cid)
    assert time.monotonic() - started < 5
    assert cid not in runtime.ids()
    assert cgroup_dirs_named(cid) == []


def test_foreground_run_forwards_signals_to_the_container(runtime: Runtime, tmp_path: Path) -> None:
    script = "trap 'echo got USR1' USR1; trap 'echo got TERM; exit 0' TERM; echo ready; while :; do sleep 0.05; done"
    bundle = make_bundle(tmp_path / "b", ["sh", "-c", script])
    proc = subprocess.Popen(runtime.cmd("run", "--bundle", str(bundle), new_id()), stdout=subprocess.PIPE,
                            stdin=subprocess.DEVNULL, text=True)
    try:
        assert proc.stdout.readline() == "ready\n"
        proc.send_signal(signal.SIGUSR1)
        assert proc.stdout.readline() == "got USR1\n"
        proc.send_signal(signal.SIGTERM)
        assert proc.stdout.readline() == "got TERM\n"
        assert proc.wait(timeout=10) == 0
    finally:
        proc.kill()
        proc.wait()


# In a process of its own: it becomes a subreaper (as containerd's shim and ours are), which the test
# session must not be. The fifo's open is held back until the init has run `true`, exited and been
# reaped: a short container outrunning `start`, as it can on a loaded machine.
_START_AFTER_THE_INIT_IS_GONE = r"""
import json, os, subprocess, sys
sys.path.insert(0, sys.argv[1])
from wharf.linux.process import set_child_subreaper
from wharf.runtime import operations
from wharf.runtime.state import StateStore
binary, root, bundle, cid = sys.argv[2:6]
set_child_subreaper()
subprocess.run([binary, "--root", root, "create", "--bundle", bundle, cid], check=True,
               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
init = json.load(open(os.path.join(root, cid, "state.json")))["pid"]
real_open = os.open
def open_then_wait_for_the_init(path, *args, **kwargs):
    fd = real_open(path, *args, **kwargs)
    if str(path).endswith("exec.fifo"):
        os.waitpid(init, 0)  # the init wrote its byte, exec'd `true`, exited: reaped by us, its parent
    return fd
os.open = open_then_wait_for_the_init
operations.start(StateStore(root), cid)
print("started")
"""


def test_start_of_a_container_that_exits_at_once(wharf_runc: Runtime, tmp_path: Path) -> None:
    bundle = make_bundle(tmp_path / "b", ["true"])
    cid = new_id()
    src = str(Path(__file__).resolve().parents[3] / "src")
    started = subprocess.run(
        [sys.executable, "-c", _START_AFTER_THE_INIT_IS_GONE, src, wharf_runc.binary, str(wharf_runc.root),
         str(bundle), cid], capture_output=True, text=True, timeout=60)
    wharf_runc.call("delete", "--force", cid)
    assert started.returncode == 0 and started.stdout == "started\n", started.stderr


# `create` in a process of its own, with the bootstrap's "pid" message held back: the init, forked just
# before, says "ready" first, as it may when the bootstrap is not scheduled at once.
_CREATE_WITH_A_SLOW_BOOTSTRAP = r"""
import sys, time
sys.path.insert(0, sys.argv[1])
from wharf.runtime import sync
from wharf.runtime.cli import main
real_send = sync.send
def send(sock, kind, **fields):
    if kind == "pid":
        time.sleep(0.3)
    return real_send(sock, kind, **fields)
sync.send = send
sys.exit(main(sys.argv[2:]))
"""


def test_create_when_the_init_is_ready_before_the_bootstrap_reports_it(wharf_runc: Runtime, tmp_path: Path) -> None:
    bundle = make_bundle(tmp_path / "b", ["sh", "-c", "echo started"])
    cid = new_id()
    src = str(Path(__file__).resolve().parents[3] / "src")
    errors = tmp_path / "stderr"
    with errors.open("w") as stderr:  # not a pipe: the created init keeps its stdio open
        created = subprocess.run(
            [sys.executable, "-c", _CREATE_WITH_A_SLOW_BOOTSTRAP, src, "--root", str(wharf_runc.root), "create",
             "--bundle", str(bundle), cid], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr,
            timeout=60)
    try:
        assert created.returncode == 0, errors.read_text()
        assert wharf_runc.state(cid)["status"] == "created"
        wharf_runc.ok("start", cid)
    finally:
        wharf_runc.call("delete", "--force", cid)
