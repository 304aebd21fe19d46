"""wharfd → wharf-containerd → wharf-shim with runc and crun as the OCI runtime: as the daemon's default
(`wharfd --runtime runc`) and per container (`docker run --runtime crun`), with the skeleton's scenarios.

crun refuses this hybrid-cgroup host (its cgroup2 tree has a controller); the daemon finds a `crun`
wrapper first on its PATH that runs the real one in a private mount namespace without that tree, as
the runtime conformance suite does.
"""

from __future__ import annotations

import json
import secrets
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import require_binary
from tests.fixtures.daemon import WharfDaemon, started_with_busybox

_CRUN_WRAPPER = """#!/bin/sh
exec unshare --mount --propagation private sh -c 'umount -l /sys/fs/cgroup/unified 2>/dev/null; exec "$0" "$@"' {crun} "$@"
"""


class DaemonWithCrunWrapper(WharfDaemon):
    """A wharfd whose PATH finds the hybrid-cgroup `crun` wrapper before the real crun."""

    def __init__(self, runtime: str) -> None:
        super().__init__(runtime=runtime)
        self.wrapper_dir = Path(self.data_root + "-bin")
        self.crun_problem = ""  # why crun cannot run here, if it cannot

    def offer_crun(self, scratch: Path) -> None:
        """Make `--runtime crun` work when crun can run containers here; else say why in crun_problem."""
        crun = shutil.which("crun")
        self.crun_problem = "crun is not installed" if crun is None else _crun_problem(crun, scratch)
        if crun is not None and not self.crun_problem:
            self.install_crun_wrapper(crun)

    def install_crun_wrapper(self, crun: str) -> None:
        self.wrapper_dir.mkdir(parents=True, exist_ok=True)
        wrapper = self.wrapper_dir / "crun"
        wrapper.write_text(_CRUN_WRAPPER.format(crun=crun))
        wrapper.chmod(0o755)

    @property
    def env(self) -> dict[str, str]:
        env = super().env
        env["PATH"] = f"{self.wrapper_dir}:{env['PATH']}"
        return env

    def stop(self) -> None:
        super().stop()
        shutil.rmtree(self.wrapper_dir, ignore_errors=True)


def _crun_problem(crun: str, tmp: Path) -> str:
    """Why crun (through the wrapper) cannot run a container here, or ""."""
    from tests.fixtures.bundle import make_bundle

    wrapper = tmp / "crun"
    wrapper.write_text(_CRUN_WRAPPER.format(crun=crun))
    wrapper.chmod(0o755)
    bundle = make_bundle(tmp / "probe", ["true"])
    root = tmp / "root"
    result = subprocess.run([str(wrapper), "--root", str(root), "run", "--bundle", str(bundle),
                             "probe-" + secrets.token_hex(4)], capture_output=True, text=True, timeout=30,
                            stdin=subprocess.DEVNULL)
    return "" if result.returncode == 0 else result.stderr.strip() or f"exit {result.returncode}"


@pytest.fixture(scope="module")
def runc_daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DaemonWithCrunWrapper]:
    """A wharfd whose default runtime is runc; crun available per container when it can run here."""
    require_binary("docker")
    require_binary("runc")
    daemon = DaemonWithCrunWrapper(runtime="runc")
    daemon.offer_crun(tmp_path_factory.mktemp("crun-probe"))
    with started_with_busybox(daemon):
        yield daemon


def _name() -> str:
    return "r" + secrets.token_hex(5)


def _runtime_args(runtime: str, daemon: DaemonWithCrunWrapper) -> list[str]:
    if runtime == "crun" and daemon.crun_problem:
        pytest.skip(f"crun cannot run containers on this host: {daemon.crun_problem}")
    return [] if runtime == "default" else ["--runtime", runtime]


def _runtime_state_files(daemon: WharfDaemon, container_id: str) -> list[Path]:
    return [p for p in Path(daemon.exec_root).rglob("*") if p.parent.name == container_id and
            p.name in ("state.json", "status")]


RUNTIMES = ["default", "runc", "crun", "wharf-runc"]


def test_the_daemon_default_is_runc(runc_daemon: DaemonWithCrunWrapper) -> None:
    name = _name()
    runc_daemon.docker("run", "-d", "--name", name, "busybox", "sleep", "60", check=True)
    try:
        info = json.loads(runc_daemon.docker("inspect", name, check=True).stdout)[0]
        assert info["HostConfig"]["Runtime"] == "runc"
        pid = info["State"]["Pid"]
        # runc's own state file (its format, not wharf-runc's) describes the running container
        states = [json.loads(p.read_text()) for p in _runtime_state_files(runc_daemon, info["Id"])
                  if p.name == "state.json"]
        assert any(s.get("init_process_pid") == pid for s in states), states
    finally:
        runc_daemon.docker("rm", "-f", name)


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_run_prints_output(runc_daemon: DaemonWithCrunWrapper, runtime: str) -> None:
    args = _runtime_args(runtime, runc_daemon)
    result = runc_daemon.docker("run", "--rm", *args, "busybox", "sh", "-c", "echo out; echo err >&2")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "out\n"
    assert result.stderr == "err\n"


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_run_exit_code(runc_daemon: DaemonWithCrunWrapper, runtime: str) -> None:
    args = _runtime_args(runtime, runc_daemon)
    assert runc_daemon.docker("run", "--rm", *args, "busybox", "sh", "-c", "exit 3").returncode == 3


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_run_interactive(runc_daemon: DaemonWithCrunWrapper, runtime: str) -> None:
    args = _runtime_args(runtime, runc_daemon)
    result = runc_daemon.docker("run", "--rm", "-i", *args, "busybox", "sh", "-c", "tr a-z A-Z; echo done",
                                input="line one\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "LINE ONE\ndone\n"


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_detached_logs_stop(runc_daemon: DaemonWithCrunWrapper, runtime: str) -> None:
    args = _runtime_args(runtime, runc_daemon)
    name = _name()
    runc_daemon.docker("run", "-d", "--name", name, *args, "busybox", "sh", "-c",
                       "echo started; trap 'echo bye; exit 0' TERM; while true; do sleep 0.1; done", check=True)
    try:
        info = json.loads(runc_daemon.docker("inspect", name, check=True).stdout)[0]
        assert info["HostConfig"]["Runtime"] == (runc_daemon.runtime if runtime == "default" else runtime)
        deadline = time.monotonic() + 10
        while "started" not in runc_daemon.docker("logs", name).stdout and time.monotonic() < deadline:
            time.sleep(0.1)
        assert "started" in runc_daemon.docker("logs", name).stdout
        assert runc_daemon.docker("exec", name, "echo", "in").stdout == "in\n"
        runc_daemon.docker("stop", "-t", "10", name, check=True)
        assert runc_daemon.docker("wait", name, check=True).stdout.strip() == "0"
        assert "bye" in runc_daemon.docker("logs", name, check=True).stdout
    finally:
        runc_daemon.docker("rm", "-f", name)


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_kill(runc_daemon: DaemonWithCrunWrapper, runtime: str) -> None:
    args = _runtime_args(runtime, runc_daemon)
    name = _name()
    runc_daemon.docker("run", "-d", "--name", name, *args, "busybox", "sleep", "60", check=True)
    try:
        runc_daemon.docker("kill", name, check=True)
        assert runc_daemon.docker("wait", name, check=True).stdout.strip() == "137"
    finally:
        runc_daemon.docker("rm", "-f", name)


def test_unknown_runtime_is_refused_with_dockers_words(runc_daemon: DaemonWithCrunWrapper) -> None:
    status, body = runc_daemon.request(
        "POST", "/containers/create", json.dumps({"Image": "busybox", "Cmd": ["true"],
                                                  "HostConfig": {"Runtime": "no-such-runtime"}}).encode(),
        {"Content-Type": "application/json"})
    assert status == 400
    assert json.loads(body)["message"] == "unknown or invalid runtime name: no-such-runtime"
    result = runc_daemon.docker("run", "--rm", "--runtime", "no-such-runtime", "busybox", "true")
    assert result.returncode == 125
    assert "unknown or invalid runtime name: no-such-runtime" in result.stderr


def test_crun_really_ran_the_container(runc_daemon: DaemonWithCrunWrapper) -> None:
    _runtime_args("crun", runc_daemon)
    name = _name()
    runc_daemon.docker("run", "-d", "--name", name, "--runtime", "crun", "busybox", "sleep", "60", check=True)
    try:
        info = json.loads(runc_daemon.docker("inspect", name, check=True).stdout)[0]
        files = _runtime_state_files(runc_daemon, info["Id"])
        assert any(p.name == "status" for p in files), files  # crun keeps a `status` file, runc state.json
    finally:
        runc_daemon.docker("rm", "-f", name)
