"""The two engines a benchmark compares, behind one small interface, and how to weigh their processes.

`WharfEngine` wraps tests/fixtures/daemon.py's WharfDaemon, `DockerEngine` the fixtures' private
Docker engine (Debian's docker.io). Both answer: `docker(*args)` (the docker CLI against it),
`daemon_pids()` (the engine and its supervisor: wharfd + wharf-containerd, dockerd + containerd),
`shim_pids()` and `restart()` (stop the engine and supervisor, start them again; containers live on
where the engine supports it).
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Protocol

from tests.fixtures import cleanup
from tests.fixtures.daemon import WharfDaemon
from tests.fixtures.dockerd import DockerDaemon


class Engine(Protocol):
    name: str

    def start(self) -> None: ...
    def stop(self) -> None: ...
    def docker(self, *args: str, check: bool = False) -> subprocess.CompletedProcess[str]: ...
    def docker_argv(self, *args: str) -> tuple[list[str], dict[str, str]]: ...
    def daemon_pids(self) -> list[int]: ...
    def shim_pids(self) -> list[int]: ...
    def restart(self) -> float: ...


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def rss_kib(pid: int) -> int:
    """VmRSS of a process in KiB (0 if it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def pss_kib(pid: int) -> int:
    """Proportional set size in KiB: shared pages (the interpreter, libraries) divided among sharers."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def children_of(pid: int) -> list[int]:
    """The direct children of `pid` (of its main thread, which is where the supervisor forks)."""
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as file:
            return [int(child) for child in file.read().split()]
    except OSError:
        return []


class _PrivateEngine:
    """What both engines do the same way through their private daemon (tests/fixtures)."""

    daemon: WharfDaemon | DockerDaemon

    def start(self) -> None:
        self.daemon.start()
        self.daemon.import_busybox()

    def stop(self) -> None:
        self.daemon.stop()

    def docker(self, *args: str, check: bool = False) -> subprocess.CompletedProcess[str]:
        return self.daemon.docker(*args, check=check, timeout=300)

    def docker_argv(self, *args: str) -> tuple[list[str], dict[str, str]]:
        return ["docker", *args], self.daemon.env


class WharfEngine(_PrivateEngine):
    name = "wharf"

    def __init__(self) -> None:
        self.daemon = WharfDaemon()

    def daemon_pids(self) -> list[int]:
        """wharfd, wharf-containerd and the supervisor's shim zygote (an engine process too)."""
        pids = self.daemon.supervisor_pids()
        pids += [child for pid in pids for child in children_of(pid) if "wharf-shim zygote" in cmdline(child)]
        if self.daemon.process is not None:
            pids.append(self.daemon.process.pid)
        return pids

    def shim_pids(self) -> list[int]:
        return self.daemon.shim_pids()

    def restart(self) -> float:
        """kill -9 wharfd and wharf-containerd (shims and containers live on); seconds to answer again."""
        self.daemon.kill_daemons()
        started = time.perf_counter()
        self.daemon.start(timeout=120)
        return time.perf_counter() - started


class DockerEngine(_PrivateEngine):
    name = "docker"

    def __init__(self, own_bridge: bool = True) -> None:
        """`own_bridge`: the default network is a bridge made for this engine alone (as Wharf's
        default network is a bridge), else `--bridge none` (containers get only loopback)."""
        self.daemon = DockerDaemon(own_bridge=own_bridge)

    @staticmethod
    def available() -> bool:
        return DockerDaemon.available()

    def daemon_pids(self) -> list[int]:
        pids = [pid for pid in cleanup.processes_mentioning(self.daemon.exec_root)
                if cmdline(pid).split(" ")[0].endswith("containerd")]
        if self.daemon.process is not None:
            pids.append(self.daemon.process.pid)
        return pids

    def shim_pids(self) -> list[int]:
        return [pid for pid in cleanup.processes_mentioning(self.daemon.exec_root)
                if "containerd-shim-runc-v2" in cmdline(pid).split(" ")[0]]

    def restart(self) -> float:
        """SIGTERM dockerd (no live-restore: it stops its containers) and start it again."""
        process = self.daemon.process
        assert process is not None
        process.terminate()
        process.wait(timeout=120)
        supervisors = self.daemon_pids()
        cleanup.wait_gone(supervisors, timeout=30)
        started = time.perf_counter()
        self.daemon.start(timeout=120)
        return time.perf_counter() - started
