"""`docker exec` (the real CLI, through a real pty for -it) and the docker SDK's exec_run against wharfd."""

from __future__ import annotations

import json
import os
import pty
import secrets
import select
import time
from collections.abc import Iterator

import docker
import pytest

from tests.fixtures.daemon import WharfDaemon


def _name() -> str:
    return "x" + secrets.token_hex(5)


@pytest.fixture
def running(wharf: WharfDaemon) -> Iterator[str]:
    """A running busybox container (its name)."""
    name = _name()
    wharf.docker("run", "-d", "--network", "none", "--name", name, "-e", "FROM_CONTAINER=yes", "busybox", "sleep", "300", check=True)
    try:
        yield name
    finally:
        wharf.docker("rm", "-f", name)


def test_exec_prints_output_and_exits_with_the_code(wharf: WharfDaemon, running: str) -> None:
    result = wharf.docker("exec", running, "sh", "-c", "echo out; echo err >&2; exit 5")
    assert result.returncode == 5, result.stderr
    assert result.stdout == "out\n"
    assert result.stderr == "err\n"
    assert wharf.docker("exec", running, "true").returncode == 0


def test_exec_env_user_and_workdir(wharf: WharfDaemon, running: str) -> None:
    result = wharf.docker(
        "exec", "-e", "GREETING=hi", "-u", "nobody", "-w", "/tmp", running,
        "sh", "-c", 'echo "$GREETING|$FROM_CONTAINER|$(pwd)|$(id -u):$(id -g)"',
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout == "hi|yes|/tmp|65534:65534\n"
    root = wharf.docker("exec", running, "id", "-u", check=True).stdout
    assert root == "0\n"


def test_exec_interactive_reads_stdin(wharf: WharfDaemon, running: str) -> None:
    result = wharf.docker("exec", "-i", running, "sh", "-c", "tr a-z A-Z; echo done", input="hello\nworld\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "HELLO\nWORLD\ndone\n"


def test_exec_detached_runs_in_the_background(wharf: WharfDaemon, running: str) -> None:
    wharf.docker("exec", "-d", running, "sh", "-c", "sleep 0.2; echo late > /tmp/detached", check=True)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        result = wharf.docker("exec", running, "cat", "/tmp/detached")
        if result.returncode == 0:
            assert result.stdout == "late\n"
            return
        time.sleep(0.1)
    pytest.fail("the detached exec did not run")


def test_exec_in_a_stopped_container_is_a_conflict(wharf: WharfDaemon) -> None:
    name = _name()
    wharf.docker("create", "--network", "none", "--name", name, "busybox", "true", check=True)
    try:
        result = wharf.docker("exec", name, "true")
        assert result.returncode != 0
        container_id = wharf.docker("inspect", "-f", "{{.Id}}", name, check=True).stdout.strip()
        assert f"Container {container_id} is not running" in result.stderr
        status, body = wharf.request("POST", f"/containers/{name}/exec", json.dumps({"Cmd": ["true"]}).encode(),
                                     {"Content-Type": "application/json"})
        assert status == 409
    finally:
        wharf.docker("rm", "-f", name)


def test_exec_of_a_missing_command_fails_with_126(wharf: WharfDaemon, running: str) -> None:
    result = wharf.docker("exec", running, "no-such-command")
    assert result.returncode == 126
    assert "no-such-command" in result.stdout + result.stderr


def test_exec_unknown_user_is_refused(wharf: WharfDaemon, running: str) -> None:
    """As Docker: the start fails (the runtime's error, written into the attached stream) with 126."""
    result = wharf.docker("exec", "-u", "no-such-user", running, "true")
    assert result.returncode == 126
    assert "unable to find user no-such-user" in result.stdout
    detached = wharf.docker("exec", "-d", "-u", "no-such-user", running, "true")
    assert detached.returncode != 0 and "unable to find user no-such-user" in detached.stderr


def test_exec_create_refuses_fields_of_the_wrong_type(wharf: WharfDaemon, running: str) -> None:
    headers = {"Content-Type": "application/json"}
    for body, words in (({"Cmd": ["true"], "User": 5}, "ExecOptions.User of type string"),
                        ({"Cmd": ["true"], "Env": "A=1"}, "string into Go struct field ExecOptions.Env of type []string"),
                        ({"Cmd": ["true"], "Env": [1]}, "number into Go struct field ExecOptions.Env of type string"),
                        ({"Cmd": ["true"], "Env": [True]}, "bool into Go struct field ExecOptions.Env of type string"),
                        ({"Cmd": ["echo", 1]}, "number into Go struct field ExecOptions.Cmd of type string"),
                        ({"Cmd": "true"}, "string into Go struct field ExecOptions.Cmd of type []string"),
                        ({"Cmd": {"a": 1}}, "object into Go struct field ExecOptions.Cmd of type []string")):
        status, answer = wharf.request("POST", f"/containers/{running}/exec", json.dumps(body).encode(), headers)
        assert status == 400 and words in json.loads(answer)["message"], (body, answer)


def test_null_env_and_cmd_entries_are_accepted_as_go_reads_them(wharf: WharfDaemon, running: str) -> None:
    body = {"Cmd": ["sh", "-c", 'echo "$A[$1]"', None, None], "Env": [None, "A=set"], "AttachStdout": True}
    status, answer = wharf.request("POST", f"/containers/{running}/exec", json.dumps(body).encode(),
                                   {"Content-Type": "application/json"})
    assert status == 201, answer
    client = docker.APIClient(base_url=wharf.host)
    try:
        assert client.exec_start(json.loads(answer)["Id"]) == b"set[]\n"  # $1 is the empty string
    finally:
        client.close()


def test_unknown_exec_is_not_found(wharf: WharfDaemon) -> None:
    status, body = wharf.request("GET", "/exec/nope123/json")
    assert status == 404
    assert json.loads(body)["message"] == "No such exec instance: nope123"


def test_exec_inspect_and_container_exec_ids(wharf: WharfDaemon, running: str) -> None:
    headers = {"Content-Type": "application/json"}
    body = json.dumps({"Cmd": ["sleep", "30"], "AttachStdout": True}).encode()
    status, answer = wharf.request("POST", f"/containers/{running}/exec", body, headers)
    assert status == 201, answer
    exec_id = json.loads(answer)["Id"]
    inspected = json.loads(wharf.request("GET", f"/exec/{exec_id}/json")[1])
    assert inspected["Running"] is False and inspected["ExitCode"] is None
    assert inspected["ProcessConfig"]["entrypoint"] == "sleep"
    assert inspected["ProcessConfig"]["arguments"] == ["30"]
    status, _ = wharf.request("POST", f"/exec/{exec_id}/start", json.dumps({"Detach": True}).encode(), headers)
    assert status == 200
    inspected = json.loads(wharf.request("GET", f"/exec/{exec_id}/json")[1])
    assert inspected["Running"] is True and inspected["Pid"] > 0
    ids = json.loads(wharf.docker("inspect", "-f", "{{json .ExecIDs}}", running, check=True).stdout)
    assert exec_id in ids
    # A second start is refused as Docker does.
    status, _ = wharf.request("POST", f"/exec/{exec_id}/start", json.dumps({"Detach": True}).encode(), headers)
    assert status == 409


def _read_until(fd: int, needle: bytes, timeout: float) -> bytes:
    seen = b""
    deadline = time.monotonic() + timeout
    while needle not in seen and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
    return seen


def test_exec_it_through_a_real_pty(wharf: WharfDaemon, running: str) -> None:
    pid, master = pty.fork()
    if pid == 0:  # the child: the docker CLI on a real terminal
        os.execvpe("docker", ["docker", "exec", "-it", running, "sh"], wharf.env)
    try:
        os.write(master, b"tty; echo $TERM; stty size\n")
        out = _read_until(master, b"xterm", 15)
        assert b"/dev/pts/" in out, out
        os.write(master, b"exit 7\n")
        _read_until(master, b"\x00never", 5)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 7
    finally:
        try:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
        os.close(master)


def test_sdk_exec_run(wharf: WharfDaemon, running: str) -> None:
    client = docker.DockerClient(base_url=wharf.host, version="auto", timeout=60)
    try:
        container = client.containers.get(running)
        result = container.exec_run(["sh", "-c", "echo sdk; exit 3"])
        assert result.exit_code == 3
        assert result.output == b"sdk\n"
        result = container.exec_run("sh -c 'echo a; echo b >&2'", demux=True)
        assert result.exit_code == 0
        assert result.output == (b"a\n", b"b\n")
        result = container.exec_run(["cat", "/etc/hostname"], tty=True)
        assert result.exit_code == 0
        assert result.output.strip() == container.attrs["Config"]["Hostname"].encode()
    finally:
        client.close()


def test_sdk_terminal_exec_started_without_tty_is_multiplexed(wharf: WharfDaemon, running: str) -> None:
    """moby frames an exec's output by the start request's Tty, not by the exec's terminal: the
    docker SDK starts a terminal exec with Tty false and demultiplexes what comes back."""
    client = docker.APIClient(base_url=wharf.host, version="auto", timeout=60)
    try:
        exec_id = client.exec_create(running, ["sh", "-c", "echo hello out; echo hello err >&2"], tty=True)
        output = b"".join(out for out, err in client.exec_start(exec_id, demux=True, stream=True) if out)
        assert output == b"hello out\r\nhello err\r\n"
        exec_id = client.exec_create(running, ["printf", "unframed"], tty=True)
        assert client.exec_start(exec_id, tty=True) == b"unframed"
    finally:
        client.close()


def test_sdk_exec_detach_keys_end_the_stream_with_moby_s_message(wharf: WharfDaemon, running: str) -> None:
    client = docker.APIClient(base_url=wharf.host, version="auto", timeout=60)
    try:
        exec_id = client.exec_create(running, "cat", stdin=True, tty=True, detach_keys="ctrl-p")
        sock = client.exec_start(exec_id, tty=True, socket=True)
        raw = sock._sock
        raw.sendall(b"\x10")
        deadline = time.monotonic() + 10
        received = b""
        while time.monotonic() < deadline:
            chunk = raw.recv(4096)
            if not chunk:
                break
            received += chunk
        assert received.endswith(b"exec attach failed: error on attach stdin: read escape sequence\r\n")
        sock.close()
        assert client.exec_inspect(exec_id)["Running"] is True  # cat goes on, detached
    finally:
        client.close()


def test_a_fast_exec_s_events_come_in_order_with_its_exit_code(wharf: WharfDaemon, running: str) -> None:
    """exec_die never precedes exec_start, even when the exit is known before the start's answer."""
    since = str(int(time.time()) - 1)
    for code in (0, 3, 0, 7):
        assert wharf.docker("exec", running, "sh", "-c", f"exit {code}").returncode == code
    events = wharf.docker("events", "--since", since, "--until", str(int(time.time()) + 1),
                          "--filter", f"container={running}", "--format", "{{.Action}}|{{.Actor.Attributes.exitCode}}",
                          check=True).stdout.split()
    execs = [e for e in events if e.startswith("exec_")]
    assert [e.split(":")[0].split("|")[0] for e in execs] == ["exec_create", "exec_start", "exec_die"] * 4, events
    assert [e.split("|")[1] for e in execs if e.startswith("exec_die")] == ["0", "3", "0", "7"]


def test_exec_after_a_restart_builds_on_the_spec_the_container_runs_with(wharf: WharfDaemon) -> None:
    """A restart can change the container's process (legacy links' variables are taken at each start):
    an exec follows it, not what an earlier exec saw."""
    target, linked = _name(), _name()
    wharf.docker("run", "-d", "--name", target, "-e", "COLOUR=red", "busybox", "sleep", "300", check=True)
    try:
        wharf.docker("run", "-d", "--name", linked, "--link", f"{target}:peer", "busybox", "sleep", "300", check=True)
        assert wharf.docker("exec", linked, "sh", "-c", "echo $PEER_ENV_COLOUR", check=True).stdout == "red\n"
        wharf.docker("rm", "-f", target, check=True)
        wharf.docker("run", "-d", "--name", target, "-e", "COLOUR=blue", "busybox", "sleep", "300",
                     check=True)
        wharf.docker("restart", "-t", "0", linked, check=True)
        assert wharf.docker("exec", linked, "sh", "-c", "echo $PEER_ENV_COLOUR", check=True).stdout == "blue\n"
    finally:
        wharf.docker("rm", "-f", target, linked)
