"""exec: extra processes in a running container (`docker exec`), each with its own stdio and exit."""

from __future__ import annotations

import pytest
from shim_world import Shim, ShimHost, read_frames

from wharf import errdefs


def _process(args: list[str], terminal: bool = False) -> dict:
    return {"args": args, "cwd": "/", "env": ["PATH=/bin:/usr/bin"], "user": {"uid": 0, "gid": 0},
            "terminal": terminal}


@pytest.fixture
def running(host: ShimHost):  # type: ignore[no-untyped-def]
    shim = host.start(["sleep", "1000"], "--log-path", str(host.base / "init.log"))
    shim.call("start")
    yield shim
    shim.finish()


def test_exec_output_exit_code_and_no_log(host: ShimHost, running: Shim) -> None:
    running.call("exec", exec_id="e1", process=_process(["sh", "-c", "echo out; echo err >&2; exit 6"]))
    assert running.call("state", exec_id="e1")["status"] == "created"
    client = running.attach_exec("e1")
    pid = running.call("start", exec_id="e1")["pid"]
    assert pid > 0
    assert read_frames(client) == [(1, b"out\n"), (2, b"err\n")]
    assert running.call("wait", exec_id="e1")["exit_status"] == 6
    assert running.call("state", exec_id="e1")["status"] == "stopped"
    assert running.call("state")["status"] == "running"  # the init is untouched
    assert (host.base / "init.log").read_text() == ""
    assert running.call("delete", exec_id="e1")["exit_status"] == 6
    with pytest.raises(errdefs.NotFound):
        running.call("state", exec_id="e1")


def test_exec_stdin_and_kill(running: Shim) -> None:
    running.call("exec", exec_id="cat", process=_process(["cat"]), stdin=True)
    client = running.attach_exec("cat", stdin=True, stdin_once=True)
    running.call("start", exec_id="cat")
    client.sendall(b"ping\n")
    client.shutdown(1)
    assert b"".join(p for _, p in read_frames(client)) == b"ping\n"
    assert running.call("wait", exec_id="cat")["exit_status"] == 0

    running.call("exec", exec_id="sleeper", process=_process(["sleep", "1000"]))
    running.call("start", exec_id="sleeper")
    with pytest.raises(errdefs.FailedPrecondition):
        running.call("delete", exec_id="sleeper")
    running.call("kill", exec_id="sleeper", signal="KILL")
    assert running.call("wait", exec_id="sleeper")["exit_status"] == 137


def test_exec_with_a_terminal(running: Shim) -> None:
    running.call("exec", exec_id="tty", process=_process(["sh", "-c", "stty size; tty"], terminal=True))
    client = running.attach_exec("tty")
    running.call("resize", exec_id="tty", width=77, height=22)  # before start: goes into the spec
    running.call("start", exec_id="tty")
    output = b"".join(p for _, p in read_frames(client)).decode()
    assert "/dev/pts/" in output
    assert "22 77" in output
    assert running.call("wait", exec_id="tty")["exit_status"] == 0


def test_exec_errors(running: Shim) -> None:
    with pytest.raises(errdefs.InvalidArgument):
        running.call("exec", exec_id="../x", process=_process(["true"]))
    running.call("exec", exec_id="bad", process=_process(["/no/such/thing"]))
    with pytest.raises(errdefs.System, match="no/such/thing"):
        running.call("start", exec_id="bad")
    running.call("exec", exec_id="dup", process=_process(["true"]))
    with pytest.raises(errdefs.AlreadyExists):
        running.call("exec", exec_id="dup", process=_process(["true"]))
    with pytest.raises(errdefs.NotFound):
        running.call("start", exec_id="nope")
