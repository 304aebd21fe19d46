"""The wharf CLI against wharfd: the same commands as the docker CLI, the same results.

Where both should agree (formats, ids, exit codes, error messages) the same command runs through
both CLIs against the same daemon and the outputs are compared, `docker` read as `wharf`.
"""

import fcntl
import json
import os
import pty
import secrets
import select
import struct
import subprocess
import termios
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures.daemon import VENV_BIN, WharfDaemon
from tests.fixtures.registry import Registry


def wharf_cli(daemon: WharfDaemon, *args: str, input: str | None = None,
              timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = daemon.env
    env.pop("DOCKER_HOST", None)
    env["WHARF_HOST"] = daemon.host
    return subprocess.run([str(VENV_BIN / "wharf"), *args], input=input, capture_output=True, text=True,
                          timeout=timeout, env=env)


def same_as_docker(daemon: WharfDaemon, *args: str) -> subprocess.CompletedProcess[str]:
    """Run through both CLIs; assert equal exit code, stdout and stderr (docker's name read as ours)."""
    ours = wharf_cli(daemon, *args)
    theirs = daemon.docker(*args)
    normalise = lambda text: text.replace("docker", "wharf").replace("Docker", "Wharf")  # noqa: E731
    assert (ours.returncode, ours.stdout, ours.stderr) == \
        (theirs.returncode, normalise(theirs.stdout), normalise(theirs.stderr)), args
    return ours


class PtySession:
    """The wharf CLI on a pseudo-terminal of a given size, as a person at a terminal runs it."""

    def __init__(self, daemon: WharfDaemon, args: list[str], rows: int = 24, columns: int = 80) -> None:
        self.output = b""
        env = daemon.env
        env.pop("DOCKER_HOST", None)
        env["WHARF_HOST"] = daemon.host
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child: our stdio is the pty's slave side
            fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
            os.execve(str(VENV_BIN / "wharf"), [str(VENV_BIN / "wharf"), *args], env)

    def __enter__(self) -> "PtySession":
        return self

    def __exit__(self, *_: object) -> None:
        if self.pid > 0:  # not reaped yet (never kill(-1): that is every process)
            try:
                os.kill(self.pid, 9)
                os.waitpid(self.pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass
        os.close(self.fd)

    def _read(self, timeout: float) -> bool:
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if not ready:
            return True
        try:
            data = os.read(self.fd, 65536)
        except OSError:
            return False
        self.output += data
        return bool(data)

    def expect(self, wanted: bytes, timeout: float = 15) -> None:
        deadline = time.monotonic() + timeout
        while wanted not in self.output:
            assert time.monotonic() < deadline, f"no {wanted!r} in {self.output!r}"
            if not self._read(0.1):
                assert wanted in self.output, f"no {wanted!r} in {self.output!r}"

    def send(self, data: bytes) -> None:
        os.write(self.fd, data)

    def exit_code(self, timeout: float = 15) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.pid = -1
                return os.waitstatus_to_exitcode(status)
            self._read(0.1)
        raise AssertionError(f"the CLI did not exit; output {self.output!r}")


def unique(prefix: str = "w") -> str:
    return prefix + secrets.token_hex(5)


@pytest.fixture
def sleeper(wharf: WharfDaemon) -> Iterator[str]:
    """A running, labelled container of the test's own."""
    name = unique()
    started = wharf_cli(wharf, "run", "-d", "--name", name, "-l", "team=blue", "-l", "tier=db", "-e", "A=1",
                        "busybox", "sleep", "300")
    assert started.returncode == 0, started.stderr
    yield name
    wharf_cli(wharf, "rm", "-f", name)


# ------------------------------------------------------------------ run, ps, logs, rm

def test_run_output_and_exit_code(wharf: WharfDaemon) -> None:
    result = wharf_cli(wharf, "run", "--rm", "busybox", "sh", "-c", "echo out; echo err >&2; exit 5")
    assert (result.returncode, result.stdout, result.stderr) == (5, "out\n", "err\n")


def test_run_interactive(wharf: WharfDaemon) -> None:
    result = wharf_cli(wharf, "run", "--rm", "-i", "busybox", "wc", "-l", input="a\nb\nc\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "3"


def test_run_flags_reach_the_container(wharf: WharfDaemon) -> None:
    result = wharf_cli(wharf, "run", "--rm", "-e", "GREETING=hi", "-w", "/tmp", "-u", "33", "-h", "boxhost",
                       "busybox", "sh", "-c", 'echo "$GREETING $(pwd) $(id -u) $(hostname)"')
    assert result.stdout == "hi /tmp 33 boxhost\n", result.stderr


def test_detached_ps_logs_rm(wharf: WharfDaemon) -> None:
    name = unique()
    container_id = wharf_cli(wharf, "run", "-d", "--name", name, "busybox", "sh", "-c", "echo hi; sleep 30").stdout.strip()
    assert len(container_id) == 64
    ps = wharf_cli(wharf, "ps")
    assert ps.stdout.splitlines()[0].split() == ["CONTAINER", "ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"]
    assert any(line.startswith(container_id[:12]) and line.endswith(name) for line in ps.stdout.splitlines())
    for _ in range(50):
        if wharf_cli(wharf, "logs", name).stdout == "hi\n":
            break
    assert wharf_cli(wharf, "logs", name).stdout == "hi\n"
    assert wharf_cli(wharf, "rm", "-f", name).stdout.strip() == name
    missing = wharf_cli(wharf, "logs", name)
    assert missing.returncode == 1
    assert "No such container" in missing.stderr


def test_logs_follow_streams_until_exit(wharf: WharfDaemon) -> None:
    name = unique()
    wharf_cli(wharf, "run", "-d", "--name", name, "busybox", "sh", "-c", "for i in 1 2 3; do echo $i; sleep 0.2; done")
    try:
        followed = wharf_cli(wharf, "logs", "-f", name, timeout=20)
        assert followed.stdout == "1\n2\n3\n"
        assert wharf_cli(wharf, "logs", "-n", "1", name).stdout == "3\n"
    finally:
        wharf_cli(wharf, "rm", "-f", name)


def test_lifecycle_commands(wharf: WharfDaemon) -> None:
    name = unique()
    assert wharf_cli(wharf, "create", "--name", name, "busybox", "sleep", "300").returncode == 0
    try:
        for verb in ("start", "pause", "unpause", "restart", "stop"):
            done = wharf_cli(wharf, verb, *(["-t", "1"] if verb in ("restart", "stop") else []), name)
            assert (done.returncode, done.stdout) == (0, f"{name}\n"), (verb, done.stderr)
        assert wharf_cli(wharf, "inspect", "-f", "{{.State.Status}}", name).stdout == "exited\n"
        renamed = unique()
        assert wharf_cli(wharf, "rename", name, renamed).returncode == 0
        name = renamed
        assert wharf_cli(wharf, "wait", name).stdout.strip().isdigit()
    finally:
        wharf_cli(wharf, "rm", "-f", name)


def test_start_attach_returns_the_exit_code(wharf: WharfDaemon) -> None:
    name = unique()
    wharf_cli(wharf, "create", "--name", name, "busybox", "sh", "-c", "echo attached; exit 4")
    try:
        started = wharf_cli(wharf, "start", "-a", name)
        assert (started.returncode, started.stdout) == (4, "attached\n")
    finally:
        wharf_cli(wharf, "rm", "-f", name)


# ------------------------------------------------------------------ formats compared with docker

@pytest.mark.parametrize("fmt", [
    "{{.ID}} {{.Names}} {{.Image}} {{.Command}} {{.State}} {{.Ports}}",
    "{{json .Labels}}|{{.Label \"team\"}}|{{.Networks}}|{{.Mounts}}",
    "table {{.ID}}\\t{{.Names}}\\t{{.Labels}}",
    "{{.Names}}{{if eq .State \"running\"}} up{{else}} down{{end}}",
    "{{upper .Names}} {{lower .State}} {{println}}",
])
def test_ps_format_matches_docker(wharf: WharfDaemon, sleeper: str, fmt: str) -> None:
    same_as_docker(wharf, "ps", "--filter", f"name={sleeper}", "--format", fmt)


def test_ps_quiet_and_no_trunc_match_docker(wharf: WharfDaemon, sleeper: str) -> None:
    same_as_docker(wharf, "ps", "-q", "--filter", f"name={sleeper}")
    same_as_docker(wharf, "ps", "-aq", "--no-trunc", "--filter", f"name={sleeper}")
    same_as_docker(wharf, "ps", "--filter", "label=team=blue", "--filter", f"name={sleeper}",
                   "--format", "{{.Names}}")


@pytest.mark.parametrize("fmt", [
    "{{.State.Status}} {{.State.Running}} {{.State.Pid}}",
    "{{json .Config}}",
    "{{json .Config.Env}} {{index .Config.Labels \"team\"}} {{.Name}}",
    "{{range .Config.Env}}[{{.}}]{{end}}",
    "{{range $k, $v := .Config.Labels}}{{$k}}={{$v}};{{end}}",
    "{{join .Config.Cmd \",\"}} {{len .Config.Cmd}} {{.HostConfig.RestartPolicy.Name}}",
    "{{.Config.Labels.nosuch}} {{index .Config.Labels \"nosuch\"}}",
    "{{with .State}}{{.Status}}{{end}} {{if .State.Paused}}paused{{else}}not paused{{end}}",
])
def test_inspect_format_matches_docker(wharf: WharfDaemon, sleeper: str, fmt: str) -> None:
    same_as_docker(wharf, "inspect", "-f", fmt, sleeper)


def test_inspect_json_and_missing_objects_match_docker(wharf: WharfDaemon, sleeper: str) -> None:
    ours = wharf_cli(wharf, "inspect", sleeper)
    assert json.loads(ours.stdout) == json.loads(wharf.docker("inspect", sleeper).stdout)
    same_as_docker(wharf, "inspect", "--type", "image", "-f", "{{.Os}} {{.Config.Cmd}}", "busybox")
    same_as_docker(wharf, "inspect", unique("missing"))
    same_as_docker(wharf, "inspect", "-f", "{{.Id}}", unique("missing"))
    for fmt, status in (("{{.NoSuchField}}", 1), ("{{.State.Status", 64)):
        ours, theirs = wharf_cli(wharf, "inspect", "-f", fmt, sleeper), wharf.docker("inspect", "-f", fmt, sleeper)
        assert ours.returncode == theirs.returncode == status
        assert ours.stderr.startswith("template parsing error: template: ")


@pytest.mark.parametrize("args", [
    ("images", "-q"), ("images", "-q", "busybox"), ("images", "--no-trunc", "--format", "{{.ID}} {{.Repository}}"),
    ("images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}} {{.Size}}"),
    ("images", "--format", "table {{.Repository}}\\t{{.Tag}}\\t{{.Size}}"),
    ("images", "--digests", "--format", "{{.Repository}} {{.Digest}}"),
])
def test_images_match_docker(wharf: WharfDaemon, args: tuple[str, ...]) -> None:
    # the rows of one image's tags come in Go's map order: compare them as sets, the header first
    ours, theirs = wharf_cli(wharf, *args), wharf.docker(*args)
    assert (ours.returncode, ours.stderr) == (theirs.returncode, theirs.stderr)
    ours_lines, theirs_lines = ours.stdout.splitlines(), theirs.stdout.splitlines()
    if "table" in " ".join(args):
        assert ours_lines[0] == theirs_lines[0]
    assert sorted(ours_lines) == sorted(theirs_lines)


def test_images_table_lists_busybox(wharf: WharfDaemon) -> None:
    lines = wharf_cli(wharf, "images").stdout.splitlines()
    assert lines[0].split() == ["REPOSITORY", "TAG", "IMAGE", "ID", "CREATED", "SIZE"]
    assert any(line.split()[:2] == ["busybox", "latest"] for line in lines[1:])


def test_top_and_port_match_docker(wharf: WharfDaemon, sleeper: str) -> None:
    ours, theirs = wharf_cli(wharf, "top", sleeper), wharf.docker("top", sleeper)
    assert ours.stdout.splitlines()[0] == theirs.stdout.splitlines()[0]
    assert "sleep 300" in ours.stdout
    same_as_docker(wharf, "port", sleeper)


# ------------------------------------------------------------------ exit codes and errors

@pytest.mark.parametrize("args", [
    ("ps", "--no-such-flag"), ("ps", "-Z"), ("ps", "-n"), ("rm",), ("run",), ("rename", "a"),
    ("nosuchcommand",), ("volume", "nosuch"), ("logs", "nosuch-container"), ("rm", "nosuch-container"),
    ("stop", "nosuch-container"), ("kill", "nosuch-container"), ("wait", "nosuch-container"),
    ("rmi", "nosuch-image:1"), ("exec", "nosuch-container", "true"),
    ("run", "--rm", "busybox", "nosuchcommand"), ("run", "--rm", "busybox", "/etc"),
    ("run", "--rm", "busybox", "sh", "-c", "exit 42"), ("run", "--rm", "--restart", "sometimes", "busybox"),
    ("volume", "inspect", "nosuch-volume"), ("network", "inspect", "nosuch-network"),
])
def test_exit_codes_and_messages_match_docker(wharf: WharfDaemon, args: tuple[str, ...]) -> None:
    ours = wharf_cli(wharf, *args)
    theirs = wharf.docker(*args)
    assert ours.returncode == theirs.returncode, (args, ours.stderr, theirs.stderr)
    first_line = lambda text: text.strip().splitlines()[0].replace("docker", "wharf") if text.strip() else ""  # noqa: E731
    assert first_line(ours.stderr) == first_line(theirs.stderr)


def test_daemon_not_running_hint() -> None:
    socket = f"/run/wt-{secrets.token_hex(4)}/wharf.sock"
    result = subprocess.run([str(VENV_BIN / "wharf"), "-H", f"unix://{socket}", "ps"], capture_output=True, text=True)
    assert result.returncode == 1
    assert result.stderr == f"Cannot connect to the Wharf daemon at unix://{socket}. Is wharfd running?\n"
    ran = subprocess.run([str(VENV_BIN / "wharf"), "-H", f"unix://{socket}", "run", "busybox"], capture_output=True)
    assert ran.returncode == 125


# ------------------------------------------------------------------ exec

def test_exec_exit_codes_env_and_stdin(wharf: WharfDaemon, sleeper: str) -> None:
    assert wharf_cli(wharf, "exec", sleeper, "sh", "-c", "exit 3").returncode == 3
    shown = wharf_cli(wharf, "exec", "-e", "B=2", "-w", "/tmp", "-u", "33", sleeper, "sh", "-c", 'echo "$A$B $(pwd) $(id -u)"')
    assert shown.stdout == "12 /tmp 33\n", shown.stderr
    piped = wharf_cli(wharf, "exec", "-i", sleeper, "cat", input="through stdin\n")
    assert piped.stdout == "through stdin\n"
    same_as_docker(wharf, "exec", sleeper, "sh", "-c", "echo out; echo err >&2; exit 7")
    detached = wharf_cli(wharf, "exec", "-d", sleeper, "sh", "-c", "echo x > /tmp/detached")
    assert (detached.returncode, detached.stdout) == (0, "")
    for _ in range(50):
        if wharf_cli(wharf, "exec", sleeper, "cat", "/tmp/detached").stdout == "x\n":
            break
    assert wharf_cli(wharf, "exec", sleeper, "cat", "/tmp/detached").stdout == "x\n"


# ------------------------------------------------------------------ terminals (pty)

def test_run_it_in_a_pty(wharf: WharfDaemon) -> None:
    with PtySession(wharf, ["run", "--rm", "-it", "busybox", "sh"], rows=33, columns=101) as session:
        session.expect(b"# ")
        session.send(b"stty size; tty; echo sum=$((6*7))\r")
        session.expect(b"sum=42")
        assert b"33 101" in session.output
        assert b"/dev/pts/" in session.output
        session.send(b"exit 3\r")
        assert session.exit_code() == 3


def test_exec_it_in_a_pty(wharf: WharfDaemon, sleeper: str) -> None:
    with PtySession(wharf, ["exec", "-it", sleeper, "sh"], rows=20, columns=70) as session:
        session.expect(b"# ")
        session.send(b"stty size; echo $A\r")
        session.expect(b"20 70")
        session.send(b"exit 9\r")
        assert session.exit_code() == 9


def test_detach_keys_leave_the_container_running(wharf: WharfDaemon) -> None:
    name = unique()
    # cat, not sh: ash's line editor asks the terminal for the cursor position, which no one answers
    assert wharf_cli(wharf, "run", "-dit", "--name", name, "busybox", "cat").returncode == 0
    try:
        with PtySession(wharf, ["attach", name]) as session:
            time.sleep(1)  # what is typed before the attach is up is lost, with docker too
            session.send(b"ping\r")
            session.expect(b"ping\r\nping\r\n")  # the terminal's echo, then cat's copy
            session.send(b"\x10\x11")  # ctrl-p ctrl-q
            assert session.exit_code() == 0
        assert wharf_cli(wharf, "inspect", "-f", "{{.State.Running}}", name).stdout == "true\n"
        with PtySession(wharf, ["exec", "-it", "--detach-keys", "ctrl-x,x", name, "cat"]) as session:
            time.sleep(1)
            session.send(b"pong\r")
            session.expect(b"pong\r\npong\r\n")
            session.send(b"\x18x")
            assert session.exit_code() == 0
    finally:
        wharf_cli(wharf, "rm", "-f", name)


# ------------------------------------------------------------------ volumes and networks

def test_volume_commands_match_docker(wharf: WharfDaemon) -> None:
    name = unique("vol")
    assert wharf_cli(wharf, "volume", "create", "--label", "k=v", name).stdout == f"{name}\n"
    try:
        same_as_docker(wharf, "volume", "inspect", "-f", "{{.Name}} {{.Driver}} {{.Labels}}", name)
        same_as_docker(wharf, "volume", "ls", "-q", "--filter", f"name={name}")
        same_as_docker(wharf, "volume", "ls", "--filter", f"name={name}")
        ran = wharf_cli(wharf, "run", "--rm", "-v", f"{name}:/data", "busybox", "sh", "-c", "echo kept > /data/f")
        assert ran.returncode == 0, ran.stderr
        read = wharf_cli(wharf, "run", "--rm", "--mount", f"type=volume,source={name},target=/d,readonly",
                         "busybox", "cat", "/d/f")
        assert read.stdout == "kept\n", read.stderr
    finally:
        assert wharf_cli(wharf, "volume", "rm", name).stdout == f"{name}\n"


def test_network_commands_match_docker(wharf: WharfDaemon, sleeper: str) -> None:
    name = unique("net")
    created = wharf_cli(wharf, "network", "create", "--label", "k=v", name)
    assert created.returncode == 0, created.stderr
    try:
        same_as_docker(wharf, "network", "ls", "--filter", f"name={name}")
        same_as_docker(wharf, "network", "inspect", "-f", "{{.Name}} {{.Driver}} {{.Labels}}", name)
        connected = wharf_cli(wharf, "network", "connect", "--alias", "db", name, sleeper)
        assert connected.returncode == 0, connected.stderr
        nets = wharf_cli(wharf, "inspect", "-f", "{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}",
                         sleeper)
        assert name in nets.stdout.split()
        assert wharf_cli(wharf, "network", "disconnect", name, sleeper).returncode == 0
    finally:
        assert wharf_cli(wharf, "network", "rm", name).stdout == f"{name}\n"


# ------------------------------------------------------------------ files and images

def test_cp_both_ways_and_diff(wharf: WharfDaemon, sleeper: str, tmp_path: Path) -> None:
    source = tmp_path / "hello.txt"
    source.write_text("from the host\n")
    assert wharf_cli(wharf, "cp", str(source), f"{sleeper}:/tmp/").returncode == 0
    assert wharf_cli(wharf, "exec", sleeper, "cat", "/tmp/hello.txt").stdout == "from the host\n"
    back = tmp_path / "back.txt"
    assert wharf_cli(wharf, "cp", f"{sleeper}:/tmp/hello.txt", str(back)).returncode == 0
    assert back.read_text() == "from the host\n"
    diff = wharf_cli(wharf, "diff", sleeper)
    assert "A /tmp/hello.txt" in diff.stdout.splitlines()
    same_as_docker(wharf, "diff", sleeper)


def test_commit_tag_history_save_load_rmi(wharf: WharfDaemon, sleeper: str, tmp_path: Path) -> None:
    image = f"{unique('img')}:v1"
    wharf_cli(wharf, "exec", sleeper, "sh", "-c", "echo layer > /marker")
    committed = wharf_cli(wharf, "commit", "-m", "a message", "-c", "ENV COMMITTED=yes", sleeper, image)
    assert committed.returncode == 0, committed.stderr
    assert committed.stdout.startswith("sha256:")
    try:
        ran = wharf_cli(wharf, "run", "--rm", image, "sh", "-c", "cat /marker; echo $COMMITTED")
        assert ran.stdout == "layer\nyes\n", ran.stderr
        same_as_docker(wharf, "history", "--format", "{{.ID}} {{.Comment}}", image)
        copy = f"{unique('copy')}:v2"
        assert wharf_cli(wharf, "tag", image, copy).returncode == 0
        archive = tmp_path / "image.tar"
        assert wharf_cli(wharf, "save", "-o", str(archive), copy).returncode == 0
        assert wharf_cli(wharf, "rmi", copy).stdout == f"Untagged: {copy}\n"
        loaded = wharf_cli(wharf, "load", "-i", str(archive))
        assert loaded.returncode == 0, loaded.stderr
        assert f"Loaded image: {copy}" in loaded.stdout
        wharf_cli(wharf, "rmi", copy)
    finally:
        wharf_cli(wharf, "rmi", "-f", image)


def test_export_and_import(wharf: WharfDaemon, sleeper: str, tmp_path: Path) -> None:
    archive = tmp_path / "fs.tar"
    assert wharf_cli(wharf, "export", "-o", str(archive), sleeper).returncode == 0
    image = f"{unique('imported')}:1"
    imported = wharf_cli(wharf, "import", "-c", 'CMD ["echo", "imported"]', str(archive), image)
    assert imported.returncode == 0, imported.stderr
    try:
        assert wharf_cli(wharf, "run", "--rm", image).stdout == "imported\n"
    finally:
        wharf_cli(wharf, "rmi", image)


def test_build_with_tag_arg_and_label(wharf: WharfDaemon, tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM busybox\nARG WORD\nRUN echo $WORD > /word\nCMD cat /word\n")
    image = f"{unique('built')}:1"
    built = wharf_cli(wharf, "build", "-q", "-t", image, "--build-arg", "WORD=built", "--label", "k=v", str(tmp_path),
                      timeout=120)
    assert built.returncode == 0, built.stderr
    assert built.stdout.startswith("sha256:")
    try:
        assert wharf_cli(wharf, "run", "--rm", image).stdout == "built\n"
        assert wharf_cli(wharf, "inspect", "-f", "{{.Config.Labels.k}}", image).stdout == "v\n"
    finally:
        wharf_cli(wharf, "rmi", image)


def test_push_and_pull_with_a_registry(wharf: WharfDaemon, registry: Registry) -> None:
    target = f"{registry.address}/cli/{unique('bb')}:v1"
    assert wharf_cli(wharf, "tag", "busybox:latest", target).returncode == 0
    pushed = wharf_cli(wharf, "push", target, timeout=120)
    assert pushed.returncode == 0, pushed.stderr
    wharf_cli(wharf, "rmi", target)
    pulled = wharf_cli(wharf, "pull", "-q", target, timeout=120)
    assert (pulled.returncode, pulled.stdout) == (0, f"{target}\n"), pulled.stderr
    assert wharf_cli(wharf, "run", "--rm", target, "echo", "pulled").stdout == "pulled\n"
    wharf_cli(wharf, "rmi", target)


def test_system_bootstrap_makes_the_busybox_rootfs(wharf: WharfDaemon) -> None:
    image = f"{unique('boot')}:1"
    made = wharf_cli(wharf, "system", "bootstrap", image)
    assert made.returncode == 0, made.stderr
    try:
        layers = lambda ref: wharf_cli(wharf, "inspect", "-f", "{{json .RootFS.Layers}}", ref).stdout  # noqa: E731
        assert layers(image) == layers("busybox:latest")  # the same rootfs as the test fixture's
        assert wharf_cli(wharf, "run", "--rm", image, "echo", "booted").stdout == "booted\n"
    finally:
        wharf_cli(wharf, "rmi", image)


def test_system_commands(wharf: WharfDaemon) -> None:
    assert wharf_cli(wharf, "version").stdout.startswith("Client: Wharf\n")
    same_as_docker(wharf, "version", "-f", "{{.Server.Version}} {{.Server.APIVersion}} {{.Server.Os}}")
    same_as_docker(wharf, "info", "-f", "{{.NCPU}} {{.OSType}} {{.Driver}}")
    df = wharf_cli(wharf, "system", "df")
    assert df.stdout.splitlines()[0].split() == ["TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"]
    events = wharf_cli(wharf, "events", "--since", "10m", "--until", "0s", "--format", "{{.Type}}")
    assert events.returncode == 0, events.stderr
    assert "container" in events.stdout.split()


def test_stats_no_stream(wharf: WharfDaemon, sleeper: str) -> None:
    result = wharf_cli(wharf, "stats", "--no-stream", "--format", "{{.Name}} {{.PIDs}}", sleeper)
    assert result.stdout == f"{sleeper} 1\n", result.stderr
    table = wharf_cli(wharf, "stats", "--no-stream", sleeper).stdout.splitlines()
    assert [cell.strip() for cell in table[0].split("   ") if cell.strip()][:3] == ["CONTAINER ID", "NAME", "CPU %"]


def test_login_logout_store_credentials(wharf: WharfDaemon, registry: Registry, tmp_path: Path) -> None:
    env_home = tmp_path / "config"
    wharf_env = wharf.env
    wharf_env.update(DOCKER_CONFIG=str(env_home), WHARF_HOST=wharf.host)
    run = lambda *args, input=None: subprocess.run(  # noqa: E731
        [str(VENV_BIN / "wharf"), *args], input=input, capture_output=True, text=True, env=wharf_env, timeout=60)
    logged = run("login", "-u", "someone", "--password-stdin", registry.address, input="secret\n")
    assert logged.returncode == 0, logged.stderr
    assert "Login Succeeded" in logged.stdout
    config = json.loads((env_home / "config.json").read_text())
    assert registry.address in config["auths"]
    assert run("logout", registry.address).stdout == f"Removing login credentials for {registry.address}\n"
    assert registry.address not in json.loads((env_home / "config.json").read_text())["auths"]


def test_signals_are_forwarded_to_the_container(wharf: WharfDaemon) -> None:
    env = wharf.env
    env["WHARF_HOST"] = wharf.host
    script = 'trap "echo got-term; exit 3" TERM; echo ready; while true; do sleep 0.1; done'
    cli = subprocess.Popen([str(VENV_BIN / "wharf"), "run", "--rm", "busybox", "sh", "-c", script],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    try:
        assert cli.stdout is not None
        assert cli.stdout.readline() == b"ready\n"
        cli.terminate()  # SIGTERM to the CLI, which --sig-proxy passes on
        assert cli.wait(timeout=20) == 3
        assert cli.stdout.read() == b"got-term\n"
    finally:
        if cli.poll() is None:
            cli.kill()
            cli.wait()
