"""Daemonless containers: kill -9 of wharfd and wharf-containerd leaves containers running."""

import json
import time
from pathlib import Path

from tests.fixtures.daemon import WharfDaemon

WAIT_FOR_GO = "while [ ! -e /tmp/go ]; do sleep 0.05; done"


def _inspect(daemon: WharfDaemon, name: str) -> dict:
    return json.loads(daemon.docker("inspect", name, check=True).stdout)[0]


def _release(pid: int) -> None:
    """Let a container past WAIT_FOR_GO, reaching it through its host pid (no daemon involved)."""
    Path(f"/proc/{pid}/root/tmp/go").touch()


def _wait_exit(pid: int) -> None:
    for _ in range(200):
        if not Path(f"/proc/{pid}").exists():
            return
        time.sleep(0.025)
    raise AssertionError(f"pid {pid} did not exit")


def test_container_survives_daemon_restart(fresh_wharf: WharfDaemon) -> None:
    daemon = fresh_wharf
    daemon.docker("run", "-d", "--name", "survivor", "busybox", "sh", "-c",
                  f"echo before; {WAIT_FOR_GO}; echo after; sleep 60", check=True)
    daemon.docker("run", "-d", "--name", "quitter", "busybox", "sh", "-c",
                  f"echo bye; {WAIT_FOR_GO}; exit 7", check=True)
    survivor_pid = _inspect(daemon, "survivor")["State"]["Pid"]
    quitter_pid = _inspect(daemon, "quitter")["State"]["Pid"]
    assert survivor_pid > 0 and quitter_pid > 0
    shims = sorted(daemon.shim_pids())
    assert len(shims) == 2

    daemon.kill_daemons()
    assert not daemon.supervisor_pids()
    assert sorted(daemon.shim_pids()) == shims

    # While nothing supervises them, one container writes more output and the other exits.
    _release(survivor_pid)
    _release(quitter_pid)
    _wait_exit(quitter_pid)
    assert Path(f"/proc/{survivor_pid}").exists()
    time.sleep(0.3)

    daemon.start()

    survivor = _inspect(daemon, "survivor")
    assert survivor["State"]["Running"] is True
    assert survivor["State"]["Pid"] == survivor_pid
    assert daemon.docker("ps", "--format", "{{.Names}}", check=True).stdout.split() == ["survivor"]
    assert daemon.docker("logs", "survivor", check=True).stdout == "before\nafter\n"

    quitter = _inspect(daemon, "quitter")
    assert quitter["State"]["Running"] is False
    assert quitter["State"]["ExitCode"] == 7
    assert daemon.docker("wait", "quitter", check=True).stdout.strip() == "7"
    assert daemon.docker("logs", "quitter", check=True).stdout == "bye\n"

    # The restarted daemons still control the survivor.
    assert daemon.docker("kill", "survivor").returncode == 0
    assert daemon.docker("wait", "survivor", check=True).stdout.strip() == "137"
