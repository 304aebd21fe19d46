"""Fault injection: a mixed docker workload while wharfd, wharf-containerd, a shim or the runtime is
SIGKILLed at random (seeded) points; after each restart nothing the workload made is lost or
half-made, running containers still run (or report their real exit code), logs are kept and the
content store is consistent. And a full data root: clear errors, no corruption, recovery.

CI runs a short seeded mode; `WHARF_FAULT_ROUNDS=N` (and `WHARF_FAULT_SEED=S`) for long runs.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import secrets
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import require_binary
from tests.fixtures import cleanup
from tests.fixtures.daemon import WharfDaemon, started_with_busybox
from tests.fixtures.registry import Registry
from tests.reliability.host_state import snapshot
from wharf.containerd.fsck import check_store

ROUNDS = int(os.environ.get("WHARF_FAULT_ROUNDS", "8"))
SEED = int(os.environ.get("WHARF_FAULT_SEED", "1234"))
TARGETS = ("wharfd", "containerd", "shim", "runtime")


@dataclass
class Expected:
    """What the workload is known to have made (its command succeeded) and not removed."""
    running: dict[str, str] = field(default_factory=dict)
    """name → the line it printed first"""
    quitters: dict[str, int] = field(default_factory=dict)
    """name → the exit code it exits with"""
    orphaned: dict[str, int] = field(default_factory=dict)
    """containers whose shim was killed → their init pid: running, or exited and really gone"""
    images: set[str] = field(default_factory=set)
    volumes: set[str] = field(default_factory=set)
    networks: set[str] = field(default_factory=set)
    interrupted_creates: set[str] = field(default_factory=set)
    """ids of containers whose `runtime create` was killed"""
    lock: threading.Lock = field(default_factory=threading.Lock)


@pytest.fixture
def daemon() -> Iterator[WharfDaemon]:
    require_binary("docker")
    wharf = WharfDaemon()
    with started_with_busybox(wharf):
        yield wharf


def _inspect(daemon: WharfDaemon, kind: str, name: str) -> dict | None:
    done = daemon.docker(kind, "inspect", name, timeout=30)
    return json.loads(done.stdout)[0] if done.returncode == 0 else None


class Workload:
    """Docker CLI commands chosen by a seeded generator; records only what surely happened."""

    def __init__(self, daemon: WharfDaemon, registry: Registry, rng: random.Random, expected: Expected) -> None:
        self.daemon = daemon
        self.registry = registry
        self.rng = rng
        self.expected = expected
        self.ops: list[Callable[[str], None]] = [
            self.run_long, self.run_quitter, self.exec, self.logs, self.pull, self.build, self.commit,
            self.remove, self.volume, self.network]

    def step(self, tag: str) -> None:
        op = self.run_long if tag.endswith("r") else self.rng.choice(self.ops)
        op(tag)

    def _docker(self, *args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
        return self.daemon.docker(*args, input=input, timeout=60)

    def run_long(self, tag: str) -> None:
        name = f"long-{tag}"
        if self._docker("run", "-d", "--name", name, "busybox", "sh", "-c",
                        f"echo hello-{name}; exec sleep 1000").returncode == 0:
            with self.expected.lock:
                self.expected.running[name] = f"hello-{name}"

    def run_quitter(self, tag: str) -> None:
        name, code = f"quit-{tag}", self.rng.randrange(1, 100)
        if self._docker("run", "-d", "--name", name, "busybox", "sh", "-c",
                        f"echo bye-{name}; sleep 0.3; exit {code}").returncode == 0:
            with self.expected.lock:
                self.expected.quitters[name] = code

    def _some_running(self) -> str | None:
        with self.expected.lock:
            names = sorted(self.expected.running.keys() - self.expected.orphaned)
        return self.rng.choice(names) if names else None

    def exec(self, tag: str) -> None:
        if name := self._some_running():
            self._docker("exec", name, "sh", "-c", "echo exec-out")

    def logs(self, tag: str) -> None:
        if name := self._some_running():
            self._docker("logs", name)

    def pull(self, tag: str) -> None:
        ref = f"{self.registry.address}/library/busybox:latest"
        if self._docker("pull", ref).returncode == 0:
            with self.expected.lock:
                self.expected.images.add(ref)

    def build(self, tag: str) -> None:
        ref = f"built-{tag}:latest"
        env_build = self.daemon.docker("build", "-q", "-t", ref, "-", timeout=60,
                                       input=f"FROM busybox\nRUN echo {tag} > /tag && mkdir /d-{tag}\n")
        if env_build.returncode == 0:
            with self.expected.lock:
                self.expected.images.add(ref)

    def commit(self, tag: str) -> None:
        ref = f"committed-{tag}:latest"
        if (name := self._some_running()) and self._docker("commit", name, ref).returncode == 0:
            with self.expected.lock:
                self.expected.images.add(ref)

    def remove(self, tag: str) -> None:
        with self.expected.lock:
            names = sorted(self.expected.running) + sorted(self.expected.quitters)
        if not names:
            return
        name = self.rng.choice(names)
        if self._docker("rm", "-f", name).returncode == 0:
            with self.expected.lock:
                self.expected.running.pop(name, None)
                self.expected.quitters.pop(name, None)
                self.expected.orphaned.pop(name, None)

    def volume(self, tag: str) -> None:
        if self._docker("volume", "create", f"vol-{tag}").returncode == 0:
            with self.expected.lock:
                self.expected.volumes.add(f"vol-{tag}")

    def network(self, tag: str) -> None:
        if self._docker("network", "create", f"net-{tag}").returncode == 0:
            with self.expected.lock:
                self.expected.networks.add(f"net-{tag}")


def _runtime_pids(daemon: WharfDaemon) -> list[int]:
    """wharf-runc processes (a verb, or a container's init before it execs the user's program)."""
    found = []
    for pid in cleanup.processes_mentioning(daemon.exec_root):
        try:
            args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[:2]
        except OSError:
            continue
        if any(os.path.basename(arg) == b"wharf-runc" for arg in args):
            found.append(pid)
    return found


def _cmdline(pid: int) -> str:
    try:
        args = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return "?"
    verbs = [a for a in args if a in ("create", "start", "exec", "kill", "delete", "state", "init")]
    return f"{pid}:{'/'.join(verbs) or ' '.join(args)[:60]}"


def _container_of_shim(daemon: WharfDaemon, pid: int) -> tuple[str, int] | None:
    """The name and init pid of the container whose shim is `pid` (its command line has the id)."""
    try:
        args = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return None
    if "--id" not in args:
        return None
    container_id = args[args.index("--id") + 1]
    info = _inspect(daemon, "container", container_id) if daemon.ping() else None
    return (info["Name"].lstrip("/"), info["State"]["Pid"]) if info else None


def _kill(daemon: WharfDaemon, target: str, expected: Expected, rng: random.Random, deadline: float,
          busy: Callable[[], bool]) -> str:
    """SIGKILL one process of kind `target`; say what was killed."""
    if target == "wharfd" and daemon.process is not None:
        cleanup.kill_processes([daemon.process.pid])
        return "wharfd"
    if target == "containerd":
        pids = daemon.supervisor_pids()
        cleanup.kill_processes(pids)
        return f"wharf-containerd {pids}"
    if target == "shim":
        shims = daemon.shim_pids()
        if not shims:
            return "nothing (no shim)"
        pid = rng.choice(sorted(shims))
        container = _container_of_shim(daemon, pid)
        with expected.lock:
            if container:
                expected.orphaned[container[0]] = container[1]
        what = _cmdline(pid)[:120]
        cleanup.kill_processes([pid])
        return f"shim {pid} of {container} ({what})"
    while time.monotonic() < deadline and busy():  # the runtime lives only while a task/exec is made
        if pids := _runtime_pids(daemon):
            verbs = [_cmdline(pid) for pid in pids]
            for pid in pids:
                with contextlib.suppress(OSError):
                    args = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
                    if "create" in args:
                        expected.interrupted_creates.add(args[-2] if args[-1] == "" else args[-1])
            cleanup.kill_processes(pids)
            return f"runtime {verbs}"
        time.sleep(0.001)
    return "nothing (no runtime process appeared)"


def _restart(daemon: WharfDaemon) -> None:
    daemon.kill_daemons()
    daemon.start(timeout=60)


def _wait_until(check: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return check()


def _alive(pid: int) -> bool:
    """Running (a zombie waiting for its reaper counts as gone)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def _check_invariants(daemon: WharfDaemon, expected: Expected, round_no: int) -> list[str]:
    problems: list[str] = []
    listed = daemon.docker("ps", "-aq", "--no-trunc", timeout=30)
    assert listed.returncode == 0, listed.stderr
    for container_id in listed.stdout.split():
        if _inspect(daemon, "container", container_id) is None:
            problems.append(f"container {container_id} listed but not inspectable (half-made)")
    with expected.lock:
        running, quitters = dict(expected.running), dict(expected.quitters)
        orphaned = dict(expected.orphaned)
        images, volumes, networks = set(expected.images), set(expected.volumes), set(expected.networks)
    for name, line in running.items():
        info = _inspect(daemon, "container", name)
        if info is None:
            problems.append(f"container {name} lost")
            continue
        state = info["State"]
        if name in orphaned:
            # Its shim died: it may be reported exited, but then its process must be gone too.
            init = orphaned[name]
            if not state["Running"] and init and not _wait_until(lambda init=init: not _alive(init), 5):
                problems.append(f"{name} reported exited while its pid {init} still runs")
            continue
        if not state["Running"] or not Path(f"/proc/{state['Pid']}").exists():
            problems.append(f"{name} should still run: {state}")
        if not _wait_until(lambda name=name, line=line: line in daemon.docker("logs", name, timeout=30).stdout,
                           10):
            problems.append(f"{name}: log line {line!r} missing")
    for name, code in quitters.items():
        if name in orphaned:
            continue
        if _inspect(daemon, "container", name) is None:
            problems.append(f"container {name} lost")
            continue
        if not _wait_until(lambda name=name: not _inspect(daemon, "container", name)["State"]["Running"], 15):
            problems.append(f"{name} never reported its exit")
            continue
        exit_code = _inspect(daemon, "container", name)["State"]["ExitCode"]
        if exit_code != code:
            problems.append(f"{name} exited {exit_code}, really {code}")
        if f"bye-{name}" not in daemon.docker("logs", name, timeout=30).stdout:
            problems.append(f"{name}: log line missing")
    for kind, names in (("image", images), ("volume", volumes), ("network", networks)):
        for name in sorted(names):
            if _inspect(daemon, kind, name) is None:
                problems.append(f"{kind} {name} lost")
    problems += [f"content store: {p}" for p in check_store(Path(daemon.data_root, "containerd"))]
    smoke = daemon.docker("run", "--rm", "--network", "none", "busybox", "echo", "alive", timeout=60)
    if smoke.stdout.strip() != "alive":
        problems.append(f"daemon not usable after restart: {smoke.stderr}")
    return [f"round {round_no}: {p}" for p in problems]


def test_workload_survives_random_kills(daemon: WharfDaemon, registry: Registry) -> None:
    rng = random.Random(SEED)
    expected = Expected()
    workload = Workload(daemon, registry, rng, expected)
    baseline = snapshot(daemon)
    problems: list[str] = []
    injected: list[str] = []
    for round_no in range(ROUNDS):
        target = TARGETS[round_no % len(TARGETS)] if round_no < len(TARGETS) else rng.choice(TARGETS)
        steps = [f"{round_no}x{i}" for i in range(rng.randrange(2, 5))]
        if target == "runtime":  # something that runs the runtime, so it can be caught in the act
            steps.insert(0, f"{round_no}r")
        delay = rng.uniform(0.05, 1.5)
        runner = threading.Thread(target=lambda steps=steps: [workload.step(tag) for tag in steps])
        runner.start()
        time.sleep(0 if target == "runtime" else delay)  # the runtime is polled for from the start
        killed = _kill(daemon, target, expected, rng, time.monotonic() + 20, runner.is_alive)
        injected.append(f"round {round_no}: killed {killed}")
        runner.join(timeout=180)
        assert not runner.is_alive(), "the workload hung after a kill"
        _restart(daemon)
        problems += _check_invariants(daemon, expected, round_no)
    print("\n".join(injected))
    assert not problems, "\n".join(problems + injected) + "\n" + daemon.log()[-4000:]

    # Remove everything through the API: the daemon must release every mount, cgroup, veth and rule.
    for container_id in daemon.docker("ps", "-aq", check=True).stdout.split():
        removed = daemon.docker("rm", "-fv", container_id, timeout=60)
        assert removed.returncode == 0, f"rm -fv {container_id}: {removed.stderr}\n" + daemon.log()[-3000:]
    for name in expected.networks:
        daemon.docker("network", "rm", name, check=True)
    for name in expected.volumes:
        daemon.docker("volume", "rm", name, check=True)
    time.sleep(0.5)
    leaks = snapshot(daemon).leaks_since(baseline)
    leaked_ids = {Path(item).name for items in leaks.values() for item in items} | {
        Path(item).parent.name for item in leaks.get("mounts", [])}
    related = [line for line in daemon.log().splitlines() if any(i in line for i in leaked_ids if len(i) == 64)]
    message = (f"leaked after removing everything: {leaks}\n"
               f"creates interrupted by a runtime kill: {sorted(expected.interrupted_creates)}\n"
               + "\n".join(injected + related[-30:]))
    assert not leaks, message


# ---- a full data root ----------------------------------------------------------------------------

@pytest.fixture
def small_daemon() -> Iterator[WharfDaemon]:
    """A wharfd whose data root is a 64 MB tmpfs."""
    require_binary("docker")
    wharf = WharfDaemon()
    Path(wharf.data_root).mkdir(parents=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", wharf.data_root], check=True)
    try:
        with started_with_busybox(wharf):
            yield wharf
    finally:
        cleanup.unmount_all(wharf.data_root)


def _fill(path: Path, leave: int) -> None:
    """Fill the filesystem of `path` until about `leave` bytes are free."""
    stats = os.statvfs(path.parent)
    free = stats.f_bavail * stats.f_frsize
    with path.open("wb") as filler:
        remaining = max(free - leave, 0)
        chunk = b"\0" * (1 << 20)
        try:
            while remaining > 0:
                remaining -= filler.write(chunk[: min(len(chunk), remaining)])
        except OSError:
            pass


def test_full_disk_gives_clear_errors_and_recovers(small_daemon: WharfDaemon, registry: Registry) -> None:
    daemon = small_daemon
    filler = Path(daemon.data_root, "filler")
    name = f"chatty-{secrets.token_hex(3)}"
    daemon.docker("run", "-d", "--name", name, "--network", "none", "busybox", "sh", "-c",
                  "i=0; while [ $i -lt 200000 ]; do echo line-$i-padding-padding-padding; i=$((i+1)); done; "
                  "sleep 1000", check=True)
    _fill(filler, leave=64 * 1024)

    pulled = daemon.docker("pull", f"{registry.address}/library/busybox:latest", timeout=120)
    assert pulled.returncode != 0
    assert "no space" in (pulled.stderr + pulled.stdout).lower(), pulled.stderr
    built = daemon.docker("build", "-t", "full-build:latest", "-", timeout=120,
                          input="FROM busybox\nRUN dd if=/dev/zero of=/big bs=1M count=8\n")
    assert built.returncode != 0
    assert "no space" in (built.stderr + built.stdout).lower(), built.stderr[-2000:]
    assert daemon.ping(), "wharfd died on a full disk"
    time.sleep(1)

    filler.unlink()
    # Nothing corrupted: the store checks out, every log line that was written is whole JSON.
    assert check_store(Path(daemon.data_root, "containerd")) == []
    info = _inspect(daemon, "container", name)
    assert info is not None
    written = Path(info["LogPath"]).read_text(errors="replace").split("\n")
    for line in written[:-1]:  # the last one may be being written right now
        json.loads(line)
    # And it recovers once space is back.
    pulled = daemon.docker("pull", f"{registry.address}/library/busybox:latest", timeout=120)
    assert pulled.returncode == 0, pulled.stderr
    built = daemon.docker("build", "-q", "-t", "full-build:latest", "-", timeout=120,
                          input="FROM busybox\nRUN echo ok > /ok\n")
    assert built.returncode == 0, built.stderr
    ran = daemon.docker("run", "--rm", "--network", "none", "full-build:latest", "cat", "/ok", timeout=60)
    assert ran.stdout == "ok\n", ran.stderr
    assert daemon.docker("logs", name, timeout=60).returncode == 0
    assert check_store(Path(daemon.data_root, "containerd")) == []
