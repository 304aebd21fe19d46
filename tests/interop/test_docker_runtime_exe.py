"""What a container sees of the runtime's processes under wharfd, where wharf-runc runs in forks of the
container's shim: every signal at its default, and the host's interpreter out of reach for writing
while `docker exec` enters the container (CVE-2019-5736), as with runc."""

from __future__ import annotations

import hashlib
import os
import secrets
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures.daemon import WharfDaemon
from tests.fixtures.exe_hunter import build_exe_hunter

DEFAULT_SIGNALS = "SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n"


@pytest.fixture
def running(wharf: WharfDaemon) -> Iterator[str]:
    name = "sig" + secrets.token_hex(4)
    wharf.docker("run", "-d", "--network", "none", "--name", name, "busybox", "sleep", "300", check=True)
    try:
        yield name
    finally:
        wharf.docker("rm", "-f", name)


def test_container_processes_start_with_default_signal_handling(wharf: WharfDaemon, running: str) -> None:
    probe = ("grep", "-E", "^Sig(Blk|Ign)", "/proc/self/status")
    assert wharf.docker("run", "--rm", "--network", "none", "busybox", *probe, check=True).stdout == DEFAULT_SIGNALS
    assert wharf.docker("exec", running, *probe, check=True).stdout == DEFAULT_SIGNALS
    # The init (pid 1) too: nothing the shim or the runtime ignored reached it.
    init = wharf.docker("exec", running, "grep", "-E", "^Sig(Blk|Ign)", "/proc/1/status", check=True).stdout
    assert init == DEFAULT_SIGNALS


@pytest.fixture(scope="module")
def exe_hunter(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_exe_hunter(tmp_path_factory.mktemp("helpers"))


def _report_with(wharf: WharfDaemon, container: str, line: str) -> list[str]:
    deadline = time.monotonic() + 20
    while True:
        lines = wharf.docker("exec", container, "cat", "/tmp/report").stdout.splitlines()
        if line in lines:
            return lines
        assert time.monotonic() < deadline, f"no {line} from the probe: {lines}"
        time.sleep(0.1)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_docker_exec_never_lets_the_container_write_the_host_interpreter(wharf: WharfDaemon,
                                                                         exe_hunter: Path) -> None:
    """With CAP_SYS_PTRACE a container may open /proc/PID/exe of the runtime's process that enters it
    for `docker exec`: what it reaches must be the read-only copy of the interpreter."""
    interpreter = Path(os.path.realpath(sys.executable))
    before = _sha256(interpreter)
    key = f"{interpreter.stat().st_dev}:{interpreter.stat().st_ino}"
    name = "hunt" + secrets.token_hex(4)
    wait_then_hunt = f"while [ ! -x /hunter ]; do sleep 0.05; done; /hunter 6 /tmp/report {key}; sleep 300"
    wharf.docker("run", "-d", "--network", "none", "--cap-add", "SYS_PTRACE", "--name", name, "busybox",
                 "sh", "-c", wait_then_hunt, check=True)
    try:
        wharf.docker("cp", str(exe_hunter), f"{name}:/hunter", check=True)
        _report_with(wharf, name, "READY")
        for _ in range(15):
            wharf.docker("exec", name, "true", check=True)
        lines = _report_with(wharf, name, "DONE")
    finally:
        wharf.docker("rm", "-f", name)
    reached = [i for i, line in enumerate(lines) if "REACHED" in line]
    for i in reached:
        assert "NOT-WRITABLE" in lines[i + 1] and lines[i + 1].endswith(" ro"), lines[i:i + 2]
    assert _sha256(interpreter) == before
