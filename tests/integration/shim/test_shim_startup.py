"""The shim's start-up path: what `wharf-shim start` imports before the runtime runs, the
isolated launcher the supervisor uses, and the runtime's `create` started before the imports."""

from __future__ import annotations

import os
import subprocess
import sys

from shim_world import ShimHost

from wharf.shim.client import call_sync, shim_command
from wharf.shim.launch import PipedLaunch

HEAVY = ("json", "re", "enum", "typing", "socket", "selectors", "signal", "traceback")


def test_the_start_path_imports_nothing_heavy_before_the_runtime_runs() -> None:
    code = ("import sys; sys.path.insert(0, sys.argv[1]);"
            "import wharf.shim.main, wharf.shim.daemon;"
            f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))")
    source = os.path.dirname(os.path.dirname(os.path.abspath(sys.modules["wharf"].__file__ or "")))
    result = subprocess.run([sys.executable, "-I", "-S", "-c", code, source], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == ""


def test_the_supervisors_launcher_is_isolated_and_still_named_wharf_shim() -> None:
    command = shim_command()
    assert command[:3] == [sys.executable, "-I", "-S"]
    assert "wharf-shim" in command
    result = subprocess.run([*command, "bogus"], capture_output=True, text=True)
    assert result.returncode == 2
    assert "usage: wharf-shim start" in result.stderr


def test_piped_launch_gives_the_exit_status_and_our_ends_of_the_pipes() -> None:
    launch = PipedLaunch(["/bin/sh", "-c", "echo out; echo err >&2; exit 3"], with_stdin=False)
    try:
        assert launch.wait() == 3
        assert os.read(launch.out_r, 100) == b"out\n"
        assert os.read(launch.err_r, 100) == b"err\n"
        assert launch.stdin_w == -1
    finally:
        launch.close()


def test_a_container_started_through_the_launcher_runs_and_reports(host: ShimHost) -> None:
    container_id = host.new_id()
    bundle = host.bundle(["sh", "-c", "echo hi; exit 4"])
    args = host.start_args(container_id, bundle)
    result = subprocess.run([*shim_command(), *args[1:]], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    socket_path = result.stdout.strip()
    call_sync(socket_path, "start")
    assert call_sync(socket_path, "wait")["exit_status"] == 4
    call_sync(socket_path, "delete")
    call_sync(socket_path, "shutdown")


def test_a_failed_create_leaves_nothing_behind(host: ShimHost) -> None:
    container_id = host.new_id()
    bundle = host.bundle(["/no/such/binary"])
    result = subprocess.run(host.start_args(container_id, bundle), capture_output=True, text=True, timeout=30)
    assert result.returncode == 1
    assert result.stderr.strip()
    assert not host.state_dir(container_id).exists()
    assert host.runc_state(container_id).returncode != 0
