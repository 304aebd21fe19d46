"""create → start → wait → delete → shutdown with runc, as the supervisor drives a task."""

from __future__ import annotations

import json
import os
import signal
import subprocess

import pytest
from shim_world import ShimHost, process_alive, read_frames, wait_for

from wharf import errdefs


def read_log(path) -> list[dict]:  # type: ignore[no-untyped-def]
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_wait_reports_the_exit_code_and_the_log_has_each_line_with_its_stream(host: ShimHost) -> None:
    log = host.base / "c.log"
    shim = host.start(["sh", "-c", "echo out1; echo err1 >&2; printf 'out2\\npartial'; exit 3"],
                      "--log-path", str(log))
    state = shim.call("state")
    assert state["status"] == "created" and state["pid"] > 0 and state["id"] == shim.id
    assert shim.call("start") == {"pid": state["pid"]}
    exited = shim.call("wait")
    assert exited["exit_status"] == 3 and exited["exited_at"] > 0
    assert shim.call("state")["status"] == "stopped"
    assert json.loads((shim.state_dir / "exit.json").read_text()) == exited
    entries = read_log(log)
    by_stream = {(entry["stream"], entry["log"]) for entry in entries}
    assert by_stream == {("stdout", "out1\n"), ("stderr", "err1\n"), ("stdout", "out2\n"), ("stdout", "partial")}
    assert [entry["log"] for entry in entries if entry["stream"] == "stdout"] == ["out1\n", "out2\n", "partial"]
    assert all(entry["time"].endswith("Z") and len(entry["time"]) == 30 for entry in entries)
    assert shim.call("delete") == exited
    shim.shutdown()
    assert not shim.state_dir.exists()
    assert host.runc_state(shim.id).returncode != 0


def test_attach_before_start_receives_stdout_and_stderr_frames_in_order(host: ShimHost) -> None:
    shim = host.start(["sh", "-c", "echo a; sleep 0.05; echo b >&2; sleep 0.05; echo c"])
    client = shim.attach()
    shim.call("start")
    assert read_frames(client) == [(1, b"a\n"), (2, b"b\n"), (1, b"c\n")]
    assert shim.call("wait")["exit_status"] == 0
    shim.finish()


def test_attach_with_only_stderr_gets_only_stderr(host: ShimHost) -> None:
    shim = host.start(["sh", "-c", "echo out; echo err >&2"])
    client = shim.attach(stdout=False, stderr=True)
    shim.call("start")
    assert read_frames(client) == [(2, b"err\n")]
    shim.finish()


def test_stdin_through_attach_reaches_cat_and_stdin_once_closes_it(host: ShimHost) -> None:
    shim = host.start(["cat"], "--stdin")
    client = shim.attach(stdin=True, stdin_once=True)
    shim.call("start")
    client.sendall(b"hello\nworld\n")
    client.shutdown(2 - 1)  # SHUT_WR: the client's EOF closes the container's stdin
    assert b"".join(payload for _, payload in read_frames(client)) == b"hello\nworld\n"
    assert shim.call("wait")["exit_status"] == 0
    shim.finish()


def test_close_stdin_ends_cat(host: ShimHost) -> None:
    shim = host.start(["cat"], "--stdin")
    shim.call("start")
    shim.call("close_stdin")
    assert shim.call("wait")["exit_status"] == 0
    shim.finish()


def test_without_stdin_the_container_reads_dev_null(host: ShimHost) -> None:
    shim = host.start(["cat"])
    client = shim.attach(stdin=True)
    shim.call("start")
    client.sendall(b"ignored\n")
    assert shim.call("wait")["exit_status"] == 0
    assert read_frames(client) == []
    shim.finish()


def test_kill_gives_128_plus_the_signal(host: ShimHost) -> None:
    shim = host.start(["sleep", "1000"])
    shim.call("start")
    with pytest.raises(errdefs.FailedPrecondition):
        shim.call("delete")
    shim.call("kill", signal=9)
    assert shim.call("wait")["exit_status"] == 137
    with pytest.raises(errdefs.NotFound):
        shim.call("kill", signal=9)
    shim.finish()


def test_wait_and_kill_on_two_connections(host: ShimHost) -> None:
    import threading

    # The shell is the pid namespace's init, which ignores SIGTERM: kill --all reaches the sleep.
    shim = host.start(["sh", "-c", "sleep 1000; exit $?"])
    shim.call("start")
    results: list[dict] = []
    waiter = threading.Thread(target=lambda: results.append(shim.call("wait")))
    waiter.start()
    wait_for(lambda: len(shim.call("pids")["pids"]) == 2)
    shim.call("kill", signal=int(signal.SIGTERM), all=True)
    waiter.join(10)
    assert results == [{"exit_status": 143, "exited_at": results[0]["exited_at"]}]
    shim.finish()


def test_delete_of_a_created_task_kills_its_init(host: ShimHost) -> None:
    shim = host.start(["sleep", "1000"])
    pid = shim.call("state")["pid"]
    assert shim.call("delete")["exit_status"] == 137
    assert not process_alive(pid)
    shim.shutdown()


def test_shutdown_before_delete_is_refused(host: ShimHost) -> None:
    shim = host.start(["true"])
    with pytest.raises(errdefs.FailedPrecondition):
        shim.call("shutdown")
    shim.finish()
    wait_for(lambda: not shim.state_dir.exists())


def test_an_exit_with_nobody_connected_is_recorded(host: ShimHost) -> None:
    shim = host.start(["sh", "-c", "exit 7"])
    shim.call("start")
    exit_file = shim.state_dir / "exit.json"
    wait_for(exit_file.exists)
    recorded = json.loads(exit_file.read_text())
    assert recorded["exit_status"] == 7
    state = shim.call("state")
    assert (state["status"], state["exit_status"], state["exited_at"]) == ("stopped", 7, recorded["exited_at"])
    assert shim.call("wait") == recorded
    shim.finish()


def test_pids_pause_and_resume(host: ShimHost) -> None:
    shim = host.start(["sleep", "1000"])
    pid = shim.call("start")["pid"]
    assert shim.call("pids")["pids"] == [pid]
    shim.call("pause")
    assert shim.call("state")["status"] == "paused"
    with pytest.raises(errdefs.FailedPrecondition):
        shim.call("start")
    shim.call("resume")
    assert shim.call("state")["status"] == "running"
    shim.call("kill", signal=9)
    shim.call("wait")
    shim.finish()


def test_unknown_method_is_not_implemented(host: ShimHost) -> None:
    shim = host.start(["true"])
    with pytest.raises(errdefs.NotImplementedYet):
        shim.call("frobnicate")
    shim.finish()


def test_create_failure_reports_the_runtime_error_and_leaves_nothing(host: ShimHost) -> None:
    container_id = host.new_id()
    bundle = host.bundle(["/no/such/binary"])
    result = subprocess.run(host.start_args(container_id, bundle), capture_output=True, text=True, timeout=30)
    assert result.returncode == 1
    assert "/no/such/binary" in result.stderr
    assert result.stdout == ""
    assert not host.state_dir(container_id).exists()
    assert host.runc_state(container_id).returncode != 0
    assert not [pid for pid in _shims_of(host) if process_alive(pid)]


def test_start_with_a_missing_bundle_is_a_usage_error(host: ShimHost) -> None:
    container_id = host.new_id()
    result = subprocess.run(host.start_args(container_id, host.base / "nope"), capture_output=True, text=True)
    assert result.returncode == 2
    assert "config.json" in result.stderr


def test_a_second_shim_on_the_same_state_dir_is_refused(host: ShimHost) -> None:
    shim = host.start(["sleep", "1000"])
    bundle = host.bundle(["true"])
    result = subprocess.run(host.start_args(shim.id, bundle), capture_output=True, text=True)
    assert result.returncode == 3
    shim.finish()


def _shims_of(host: ShimHost) -> list[int]:
    from tests.fixtures.cleanup import processes_mentioning

    return [pid for pid in processes_mentioning(str(host.base)) if pid != os.getpid()]
