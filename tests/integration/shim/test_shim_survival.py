"""The shim outlives whoever started it, and keeps the container when it is told to stop."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from shim_world import Shim, ShimHost, process_alive, read_frames, wait_for


def test_shim_survives_kill_9_of_the_process_that_started_it(host: ShimHost) -> None:
    container_id = host.new_id()
    bundle = host.bundle(["sh", "-c", "while :; do echo tick; sleep 0.05; done"])
    # A stand-in for wharf-containerd: starts the shim, then stays around until killed.
    starter = subprocess.Popen(
        [sys.executable, "-c",
         "import subprocess, sys, time; subprocess.run(sys.argv[1:], check=True); print('started', flush=True);"
         " time.sleep(1000)",
         *host.start_args(container_id, bundle)],
        stdout=subprocess.PIPE, text=True, start_new_session=True)
    try:
        assert starter.stdout is not None
        assert starter.stdout.readline().strip().endswith("shim.sock")
        assert starter.stdout.readline().strip() == "started"
        shim = Shim(container_id, host.state_dir(container_id))
        pid = shim.call("start")["pid"]
        os.killpg(starter.pid, signal.SIGKILL)
        starter.wait()
        time.sleep(0.2)
        assert shim.call("state")["status"] == "running"
        assert process_alive(pid)
        client = shim.attach(stderr=False)
        assert client.recv(8)  # output still flows
        shim.call("kill", signal=9)
        assert shim.call("wait")["exit_status"] == 137
        assert read_frames(client) is not None
        shim.finish()
    finally:
        if starter.poll() is None:
            os.killpg(starter.pid, signal.SIGKILL)
            starter.wait()


def test_the_shim_is_in_its_own_session_with_stdio_away_from_its_caller(host: ShimHost) -> None:
    shim = host.start(["sleep", "1000"])
    pid = shim.pid()
    # A session of its own, whose leader (the first fork) is gone: no terminal can ever be acquired.
    assert os.getsid(pid) not in (os.getsid(0), pid)
    assert not process_alive(os.getsid(pid))
    assert os.readlink(f"/proc/{pid}/fd/0") == "/dev/null"
    assert os.readlink(f"/proc/{pid}/fd/1") == "/dev/null"
    rss_kb = next(int(line.split()[1]) for line in open(f"/proc/{pid}/status") if line.startswith("VmRSS:"))
    assert rss_kb < 24 * 1024  # a Python interpreter and little else
    shim.finish()


def test_sigterm_to_the_shim_does_not_touch_the_container(host: ShimHost) -> None:
    shim = host.start(["sleep", "1000"])
    init = shim.call("start")["pid"]
    os.kill(shim.pid(), signal.SIGTERM)
    time.sleep(0.2)
    assert process_alive(init)
    assert shim.call("state")["status"] == "running"
    shim.call("kill", signal=9)
    shim.call("wait")
    shim.finish()


def test_a_restarted_supervisor_reads_the_exit_of_a_task_that_ended_meanwhile(host: ShimHost) -> None:
    shim = host.start(["sh", "-c", "sleep 0.2; exit 4"])
    shim.call("start")
    # Nobody is connected while the container exits; a new client then finds the result.
    wait_for(lambda: (shim.state_dir / "exit.json").exists())
    assert shim.call("state")["exit_status"] == 4
    assert shim.call("delete")["exit_status"] == 4
    shim.shutdown()
    wait_for(lambda: not shim.state_dir.exists())


def test_a_new_shim_takes_over_the_state_dir_a_killed_one_left(host: ShimHost) -> None:
    shim = host.start(["sleep", "1000"])
    os.kill(shim.pid(), signal.SIGKILL)
    wait_for(lambda: not _has_shim(shim))
    assert (shim.state_dir / "shim.sock").exists()  # stale
    subprocess.run([host.runc, "--root", str(host.runtime_root), "delete", "--force", shim.id], check=True)
    result = subprocess.run(host.start_args(shim.id, host.bundle(["true"])), capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert shim.call("state")["status"] == "created"
    shim.finish()


def _has_shim(shim: Shim) -> bool:
    try:
        return process_alive(shim.pid())
    except LookupError:
        return False
