"""The real Docker engine (Debian's dockerd 20.10 → containerd → containerd-shim-runc-v2) runs
containers with wharf-runc as its OCI runtime (`--add-runtime wharf=...`, `docker run --runtime wharf`).

The shim drives wharf-runc with runc's command line exactly as it drives runc; every test goes through
the docker CLI against a private dockerd and checks that wharf-runc, not runc, ran the container.
"""

from __future__ import annotations

import json
import os
import pty
import secrets
import select
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import require_binary
from tests.fixtures.dockerd import DockerDaemon, started_dockerd

WHARF_RUNC = Path(sys.executable).parent / "wharf-runc"
RUN = ("run", "--runtime", "wharf", "--network", "none")


@pytest.fixture(scope="module")
def dockerd() -> Iterator[DockerDaemon]:
    require_binary("docker")
    if not WHARF_RUNC.exists():
        pytest.skip(f"{WHARF_RUNC} is not installed (pip install -e .)")
    with started_dockerd("--add-runtime", f"wharf={WHARF_RUNC.absolute()}") as daemon:
        yield daemon


@pytest.fixture
def running(dockerd: DockerDaemon) -> Iterator[str]:
    """A long-running container under wharf-runc; its name."""
    name = _name()
    dockerd.docker(*RUN, "-d", "--name", name, "busybox", "sleep", "1000", check=True)
    try:
        yield name
    finally:
        dockerd.docker("rm", "-f", name)


def _name() -> str:
    return "w" + secrets.token_hex(5)


def _inspect(dockerd: DockerDaemon, name: str) -> dict:
    return json.loads(dockerd.docker("inspect", name, check=True).stdout)[0]


def _wharf_state(dockerd: DockerDaemon, container_id: str) -> dict:
    """wharf-runc's own state.json under the root the shim gives it (runc's has other fields)."""
    # dockerd 20.10 hands every runc-compatible runtime a root under <exec-root>/runtime-runc/<namespace>
    roots = list(Path(dockerd.exec_root).glob(f"runtime-*/*/{container_id}/state.json"))
    assert roots, f"no runtime state for {container_id} under {dockerd.exec_root}"
    return json.loads(roots[0].read_text())


def _drive(dockerd: DockerDaemon, args: list[str], script: list[tuple[bytes, bytes]],
           timeout: float = 30) -> tuple[int, bytes]:
    """Run the docker CLI on a pty: for each (wait_for, keys), wait for wait_for on screen then type keys."""
    pid, fd = pty.fork()
    if pid == 0:
        os.execvpe("docker", ["docker", *args], dockerd.env)
    screen = b""
    steps = list(script)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if steps and steps[0][0] in screen:
            os.write(fd, steps.pop(0)[1])
            continue
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            screen += chunk
    else:
        os.kill(pid, 9)
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    return os.waitstatus_to_exitcode(status), screen


def test_the_engine_knows_the_runtime(dockerd: DockerDaemon) -> None:
    info = json.loads(dockerd.docker("info", "--format", "{{json .Runtimes}}", check=True).stdout)
    assert info["wharf"]["path"] == str(WHARF_RUNC.absolute())


def test_echo_output(dockerd: DockerDaemon) -> None:
    ran = dockerd.docker(*RUN, "--rm", "busybox", "echo", "hello from wharf-runc")
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout == "hello from wharf-runc\n"


def test_the_container_really_runs_under_wharf_runc(dockerd: DockerDaemon, running: str) -> None:
    info = _inspect(dockerd, running)
    assert info["HostConfig"]["Runtime"] == "wharf"
    state = _wharf_state(dockerd, info["Id"])
    assert state["pid"] == info["State"]["Pid"]
    assert "cgroup_paths" in state  # wharf-runc's format, not runc's


@pytest.mark.parametrize("code", [0, 1, 3, 42, 255])
def test_exit_codes(dockerd: DockerDaemon, code: int) -> None:
    ran = dockerd.docker(*RUN, "--rm", "busybox", "sh", "-c", f"exit {code}")
    assert ran.returncode == code, ran.stderr


def test_missing_command_is_127(dockerd: DockerDaemon) -> None:
    ran = dockerd.docker(*RUN, "--rm", "busybox", "/no/such/binary")
    assert ran.returncode == 127, ran.stderr


def test_stdin_without_a_terminal(dockerd: DockerDaemon) -> None:
    ran = dockerd.docker(*RUN, "--rm", "-i", "busybox", "tr", "a-z", "A-Z", input="piped in\n")
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout == "PIPED IN\n"


def test_run_it_with_a_terminal(dockerd: DockerDaemon) -> None:
    code, screen = _drive(
        dockerd, [*RUN, "--rm", "-it", "busybox", "sh"],
        [(b"# ", b"tty; stty size; echo $((6*7))\n"), (b"42", b"exit 5\n")],
    )
    assert code == 5, screen
    assert b"/dev/pts/0" in screen
    assert b"42" in screen


def test_exec(dockerd: DockerDaemon, running: str) -> None:
    ran = dockerd.docker("exec", running, "sh", "-c", "echo in $(hostname); exit 7")
    assert ran.returncode == 7, ran.stderr
    assert ran.stdout.startswith("in ")
    ran = dockerd.docker("exec", "-e", "GREETING=hi", "-w", "/tmp", "-u", "65534", running,
                         "sh", "-c", 'echo "$GREETING $(pwd) $(id -u)"')
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout == "hi /tmp 65534\n"


def test_exec_it_with_a_terminal(dockerd: DockerDaemon, running: str) -> None:
    code, screen = _drive(dockerd, ["exec", "-it", running, "sh"],
                          [(b"# ", b"tty; echo $((7*6))\n"), (b"42", b"exit 3\n")])
    assert code == 3, screen
    assert b"/dev/pts/" in screen


def test_exec_detached(dockerd: DockerDaemon, running: str) -> None:
    dockerd.docker("exec", "-d", running, "sh", "-c", "echo done > /tmp/marker", check=True)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if dockerd.docker("exec", running, "cat", "/tmp/marker").stdout == "done\n":
            return
        time.sleep(0.2)
    pytest.fail("the detached exec did not run")


def test_top_lists_the_processes(dockerd: DockerDaemon, running: str) -> None:
    top = dockerd.docker("top", running)  # the shim asks the runtime `ps --format json`
    assert top.returncode == 0, top.stderr
    assert "sleep 1000" in top.stdout


def test_pause_and_unpause(dockerd: DockerDaemon) -> None:
    name = _name()
    dockerd.docker(*RUN, "-d", "--name", name, "busybox", "sh", "-c",
                   "i=0; while true; do i=$((i+1)); echo $i > /tmp/count; sleep 0.05; done", check=True)
    try:
        dockerd.docker("pause", name, check=True)
        info = _inspect(dockerd, name)
        assert info["State"]["Status"] == "paused"
        freezer = Path(_wharf_state(dockerd, info["Id"])["cgroup_paths"]["freezer"])
        assert (freezer / "freezer.state").read_text().strip() == "FROZEN"
        refused = dockerd.docker("exec", name, "true")
        assert refused.returncode != 0
        assert "paused" in refused.stderr
        dockerd.docker("unpause", name, check=True)
        assert _inspect(dockerd, name)["State"]["Status"] == "running"
        assert (freezer / "freezer.state").read_text().strip() == "THAWED"
        first = dockerd.docker("exec", name, "cat", "/tmp/count", check=True).stdout
        time.sleep(0.5)
        assert dockerd.docker("exec", name, "cat", "/tmp/count", check=True).stdout != first
    finally:
        dockerd.docker("rm", "-f", name)


def test_memory_limit_is_in_the_containers_cgroup(dockerd: DockerDaemon) -> None:
    name = _name()
    dockerd.docker(*RUN, "-d", "--name", name, "--memory", "64m", "busybox", "sleep", "1000", check=True)
    try:
        info = _inspect(dockerd, name)
        memory = Path(_wharf_state(dockerd, info["Id"])["cgroup_paths"]["memory"])
        assert (memory / "memory.limit_in_bytes").read_text().strip() == str(64 * 1024 * 1024)
        assert str(info["State"]["Pid"]) in (memory / "cgroup.procs").read_text().split()
        # inside, the container sees its own cgroup at /sys/fs/cgroup/memory
        inside = dockerd.docker("exec", name, "cat", "/sys/fs/cgroup/memory/memory.limit_in_bytes")
        assert inside.returncode == 0, inside.stderr
        assert inside.stdout.strip() == str(64 * 1024 * 1024)
    finally:
        dockerd.docker("rm", "-f", name)


def test_update_memory_of_a_running_container(dockerd: DockerDaemon, running: str) -> None:
    dockerd.docker("update", "--memory", "96m", "--memory-swap", "192m", running, check=True)
    memory = Path(_wharf_state(dockerd, _inspect(dockerd, running)["Id"])["cgroup_paths"]["memory"])
    assert (memory / "memory.limit_in_bytes").read_text().strip() == str(96 * 1024 * 1024)


def test_out_of_memory_is_reported(dockerd: DockerDaemon) -> None:
    name = _name()
    ran = dockerd.docker(*RUN, "--name", name, "--memory", "16m", "--memory-swap", "16m", "busybox",
                         "sh", "-c", "x=$(head -c 64000000 /dev/zero | tr '\\0' a); echo survived")
    try:
        assert ran.returncode == 137, (ran.returncode, ran.stdout, ran.stderr)
        assert "survived" not in ran.stdout
    finally:
        dockerd.docker("rm", "-f", name)


def _capabilities(status: str, field: str) -> int:
    for line in status.splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1], 16)
    raise AssertionError(f"{field} not in /proc/self/status")


def test_cap_drop(dockerd: DockerDaemon) -> None:
    CAP_CHOWN, CAP_NET_RAW = 0, 13
    default = dockerd.docker(*RUN, "--rm", "busybox", "cat", "/proc/self/status", check=True).stdout
    assert _capabilities(default, "CapEff") & (1 << CAP_CHOWN)
    dropped = dockerd.docker(*RUN, "--rm", "--cap-drop", "CHOWN", "--cap-drop", "NET_RAW", "busybox",
                             "cat", "/proc/self/status", check=True).stdout
    for field in ("CapEff", "CapBnd", "CapPrm"):
        assert not _capabilities(dropped, field) & (1 << CAP_CHOWN), field
        assert not _capabilities(dropped, field) & (1 << CAP_NET_RAW), field
    refused = dockerd.docker(*RUN, "--rm", "--cap-drop", "CHOWN", "busybox", "chown", "1", "/tmp")
    assert refused.returncode != 0
    assert "Operation not permitted" in refused.stderr
    none = dockerd.docker(*RUN, "--rm", "--cap-drop", "ALL", "busybox", "cat", "/proc/self/status",
                          check=True).stdout
    assert _capabilities(none, "CapEff") == 0
    assert _capabilities(none, "CapBnd") == 0


def test_stop_a_container_that_ignores_sigterm(dockerd: DockerDaemon) -> None:
    """`sleep` as pid 1 ignores SIGTERM: after the timeout the engine kills it (137)."""
    name = _name()
    dockerd.docker(*RUN, "-d", "--name", name, "busybox", "sleep", "1000", check=True)
    try:
        started = time.monotonic()
        dockerd.docker("stop", "-t", "1", name, check=True)
        assert time.monotonic() - started < 15
        state = _inspect(dockerd, name)["State"]
        assert state["Running"] is False
        assert state["ExitCode"] == 137
    finally:
        dockerd.docker("rm", "-f", name)


def test_stop_a_container_that_handles_sigterm(dockerd: DockerDaemon) -> None:
    name = _name()
    dockerd.docker(*RUN, "-d", "--name", name, "busybox", "sh", "-c",
                   "trap 'exit 11' TERM; echo up; while true; do sleep 0.1; done", check=True)
    try:
        deadline = time.monotonic() + 10
        while "up" not in dockerd.docker("logs", name).stdout and time.monotonic() < deadline:
            time.sleep(0.1)
        dockerd.docker("stop", "-t", "10", name, check=True)
        assert _inspect(dockerd, name)["State"]["ExitCode"] == 11
    finally:
        dockerd.docker("rm", "-f", name)


def test_kill_and_restart(dockerd: DockerDaemon) -> None:
    name = _name()
    dockerd.docker(*RUN, "-d", "--name", name, "busybox", "sleep", "1000", check=True)
    try:
        dockerd.docker("kill", "-s", "KILL", name, check=True)
        assert _inspect(dockerd, name)["State"]["ExitCode"] == 137
        dockerd.docker("start", name, check=True)
        assert _inspect(dockerd, name)["State"]["Running"] is True
        assert dockerd.docker("exec", name, "echo", "again", check=True).stdout == "again\n"
    finally:
        dockerd.docker("rm", "-f", name)


def test_remove_leaves_no_runtime_state(dockerd: DockerDaemon) -> None:
    name = _name()
    dockerd.docker(*RUN, "-d", "--name", name, "busybox", "sleep", "1000", check=True)
    container_id = _inspect(dockerd, name)["Id"]
    cgroups = _wharf_state(dockerd, container_id)["cgroup_paths"]
    dockerd.docker("rm", "-f", name, check=True)
    assert not list(Path(dockerd.exec_root).glob(f"runtime-*/*/{container_id}"))
    for path in cgroups.values():
        assert not Path(path).exists(), path
