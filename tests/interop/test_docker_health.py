"""Health checks with the real docker CLI: State.Health, `(healthy)` in `docker ps`, health_status events."""

from __future__ import annotations

import json
import secrets
import time

from tests.fixtures.daemon import WharfDaemon


def _health(wharf: WharfDaemon, name: str) -> dict:
    return json.loads(wharf.docker("inspect", "-f", "{{json .State.Health}}", name, check=True).stdout)


def _wait_for_status(wharf: WharfDaemon, name: str, status: str, timeout: float = 15) -> dict:
    deadline = time.monotonic() + timeout
    health: dict = {}
    while time.monotonic() < deadline:
        health = _health(wharf, name)
        if health and health["Status"] == status:
            return health
        time.sleep(0.1)
    raise AssertionError(f"health of {name} never became {status}: {health}")


def test_health_check_goes_healthy_then_unhealthy(wharf: WharfDaemon) -> None:
    name = "h" + secrets.token_hex(5)
    since = str(time.time() - 1)
    wharf.docker(
        "run", "-d", "--network", "none", "--name", name, "--health-cmd", "cat /tmp/ok && echo fine",
        "--health-interval", "200ms", "--health-retries", "2", "--health-timeout", "5s",
        "busybox", "sh", "-c", "touch /tmp/ok; sleep 300",
    check=True)  # fmt: skip
    try:
        health = _wait_for_status(wharf, name, "healthy")
        assert health["FailingStreak"] == 0
        assert health["Log"][-1]["ExitCode"] == 0
        assert health["Log"][-1]["Output"] == "fine\n"
        status = wharf.docker("ps", "--filter", f"name={name}", "--format", "{{.Status}}", check=True).stdout
        assert status.strip().endswith("(healthy)"), status

        wharf.docker("exec", name, "rm", "/tmp/ok", check=True)
        health = _wait_for_status(wharf, name, "unhealthy")
        assert health["FailingStreak"] >= 2
        assert health["Log"][-1]["ExitCode"] == 1
        assert len(health["Log"]) <= 5

        events = wharf.docker("events", "--since", since, "--until", str(time.time()), "--filter",
                              f"container={name}", "--format", "{{.Action}}", check=True).stdout.split("\n")  # fmt: skip
        assert "health_status: healthy" in events and "health_status: unhealthy" in events
    finally:
        wharf.docker("rm", "-f", name)


def test_health_check_timeout_counts_as_a_failure(wharf: WharfDaemon) -> None:
    name = "h" + secrets.token_hex(5)
    wharf.docker(
        "run", "-d", "--network", "none", "--name", name, "--health-cmd", "sleep 10",
        "--health-interval", "100ms", "--health-timeout", "300ms", "--health-retries", "1",
        "busybox", "sleep", "300",
    check=True)  # fmt: skip
    try:
        health = _wait_for_status(wharf, name, "unhealthy")
        assert health["Log"][-1]["ExitCode"] == -1
        assert "exceeded timeout" in health["Log"][-1]["Output"]
    finally:
        wharf.docker("rm", "-f", name)


def test_no_health_check_means_no_health_state(wharf: WharfDaemon) -> None:
    name = "h" + secrets.token_hex(5)
    wharf.docker("run", "-d", "--network", "none", "--name", name, "busybox", "sleep", "300", check=True)
    try:
        assert wharf.docker("inspect", "-f", "{{json .State.Health}}", name, check=True).stdout.strip() == "null"
    finally:
        wharf.docker("rm", "-f", name)


def test_health_checks_resume_after_a_daemon_restart(fresh_wharf: WharfDaemon) -> None:
    daemon = fresh_wharf
    daemon.docker(
        "run", "-d", "--network", "none", "--name", "checked", "--health-cmd", "test -e /tmp/ok",
        "--health-interval", "200ms", "--health-retries", "1", "busybox", "sleep", "300",
    check=True)  # fmt: skip
    _wait_for_status(daemon, "checked", "unhealthy")
    daemon.kill_daemons()
    daemon.start()
    pid = json.loads(daemon.docker("inspect", "-f", "{{.State.Pid}}", "checked", check=True).stdout)
    with open(f"/proc/{pid}/root/tmp/ok", "w"):
        pass
    _wait_for_status(daemon, "checked", "healthy")
