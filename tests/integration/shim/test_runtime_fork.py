"""wharf-runc run in a fork of a warm shim (`wharf.shim.runtime_fork`): only for this installation's own
wharf-runc and from the read-only interpreter, with the launcher's outputs and exit statuses; the
container is the same as with the exec'd launcher."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from shim_world import Shim, ShimHost, read_frames, wait_for
from test_shim_zygote import _options, _ready_zygote

from wharf.containerd.plugins.runtime_shim.warm_shim import WarmShims
from wharf.runtime.exe_guard import protected_interpreter
from wharf.shim import runtime_fork
from wharf.shim.protocol import PID_FILE

OWN_WHARF_RUNC = str(Path(sys.executable).with_name("wharf-runc"))


@pytest.fixture
def wharf_runc_host(host: ShimHost) -> Iterator[ShimHost]:
    """The shim world with this installation's wharf-runc as the runtime."""
    host.runc = OWN_WHARF_RUNC
    yield host


def _cmdline(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/cmdline").read_bytes().rstrip(b"\0").decode().split("\0")


def _created_init(host: ShimHost, container_id: str) -> int:
    return int((host.state_dir(container_id) / PID_FILE).read_text())


def _create_with_warm_shim(host: ShimHost, args: list[str]) -> tuple[str, int]:
    """A container created (not started) by a zygote-forked shim: its id and its init's pid."""
    async def scenario() -> str:
        warm = WarmShims()
        try:
            await _ready_zygote(warm)
            container_id = host.new_id()
            await warm.start(**_options(host, container_id, host.bundle(args)))
            return container_id
        finally:
            warm._stop()

    container_id = asyncio.run(scenario())
    return container_id, _created_init(host, container_id)


def test_the_own_wharf_runc_runs_in_a_fork_of_the_warm_shim(wharf_runc_host: ShimHost) -> None:
    host = wharf_runc_host
    container_id, init = _create_with_warm_shim(host, ["sh", "-c", "echo from-the-container; exit 7"])
    # Before `start` the init is still the runtime's process: forked from the shim, not the launcher's
    # `python -I -S .../wharf-runc` exec, and its executable is the read-only interpreter.
    assert _cmdline(init)[:3] == [OWN_WHARF_RUNC, "--root", str(host.runtime_root)]
    assert os.statvfs(f"/proc/{init}/exe").f_flag & os.ST_RDONLY
    assert Path(f"/proc/{init}/comm").read_text().strip() == "wharf-runc"
    shim = Shim(container_id, host.state_dir(container_id))
    attach = shim.attach()
    shim.call("start")
    output = b"".join(data for _, data in read_frames(attach))
    assert output == b"from-the-container\n", output
    assert shim.call("wait")["exit_status"] == 7
    state = subprocess.run([OWN_WHARF_RUNC, "--root", str(host.runtime_root), "state", container_id],
                           capture_output=True, text=True)
    assert '"stopped"' in state.stdout, state.stderr
    shim.finish()
    gone = subprocess.run([OWN_WHARF_RUNC, "--root", str(host.runtime_root), "state", container_id],
                          capture_output=True, text=True)
    assert gone.returncode != 0  # the shim's `delete` (also a fork) removed it


def test_the_switch_turns_it_off(wharf_runc_host: ShimHost, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(runtime_fork.SWITCH_ENV, "0")
    container_id, init = _create_with_warm_shim(wharf_runc_host, ["true"])
    assert _cmdline(init)[1:3] == ["-I", "-S"]  # the launcher's exec'd interpreter
    shim = Shim(container_id, wharf_runc_host.state_dir(container_id))
    shim.call("start")
    assert shim.call("wait")["exit_status"] == 0
    shim.finish()


def test_other_runtimes_are_spawned(host: ShimHost) -> None:
    container_id, init = _create_with_warm_shim(host, ["true"])  # runc
    assert _cmdline(init)[1:] == ["init"]  # runc's own re-exec'd `runc init`
    shim = Shim(container_id, host.state_dir(container_id))
    shim.call("start")
    wait_for(lambda: shim.call("state")["status"] == "stopped")
    shim.finish()


def _verdicts_in_protected_interpreter(binaries: list[str], own: str, *, protected: bool = True) -> list[bool]:
    interpreter = protected_interpreter() if protected else sys.executable
    package_parent = str(Path(runtime_fork.__file__).parents[2])
    code = (f"import sys;sys.path.insert(0,{package_parent!r});import wharf.runtime.cli;"
            "from wharf.shim.runtime_fork import runs_here;"
            "print(' '.join(str(runs_here(b)) for b in sys.argv[1:]))")
    result = subprocess.run([interpreter, "-I", "-S", "-c", code, *binaries], capture_output=True, text=True,
                            env={**os.environ, runtime_fork.OWN_RUNTIME_ENV: own}, check=True)
    return [word == "True" for word in result.stdout.split()]


def test_only_the_named_wharf_runc_from_a_read_only_interpreter(tmp_path: Path) -> None:
    wrapper = tmp_path / "wharf-runc"
    wrapper.write_text(f"#!/bin/sh\nexec {OWN_WHARF_RUNC} \"$@\"\n")
    wrapper.chmod(0o755)
    link = tmp_path / "link-to-wharf-runc"
    link.symlink_to(OWN_WHARF_RUNC)
    runc = subprocess.run(["sh", "-c", "command -v runc || echo /usr/sbin/runc"], capture_output=True,
                          text=True).stdout.strip()
    candidates = [OWN_WHARF_RUNC, str(link), str(wrapper), runc, str(tmp_path / "missing")]
    assert _verdicts_in_protected_interpreter(candidates, OWN_WHARF_RUNC) == [True, True, False, False, False]
    # Not from the read-only interpreter: /proc/PID/exe of the container's init would be writable.
    assert _verdicts_in_protected_interpreter([OWN_WHARF_RUNC], OWN_WHARF_RUNC, protected=False) == [False]
    # Without the supervisor's word, nothing runs in a fork.
    assert _verdicts_in_protected_interpreter([OWN_WHARF_RUNC], "") == [False]


def _outcome(spawn, argv: list[str]) -> tuple[int, bytes, bytes]:  # type: ignore[no-untyped-def]
    null = os.open(os.devnull, os.O_RDONLY)
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    pid = spawn(argv, null, out_w, err_w)
    for fd in (null, out_w, err_w):
        os.close(fd)
    with open(out_r, "rb") as out, open(err_r, "rb") as err:
        output, errors = out.read(), err.read()
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]), output, errors


def _posix_spawn(argv: list[str], stdin: int, stdout: int, stderr: int) -> int:
    actions = [(os.POSIX_SPAWN_DUP2, stdin, 0), (os.POSIX_SPAWN_DUP2, stdout, 1), (os.POSIX_SPAWN_DUP2, stderr, 2)]
    return os.posix_spawn(argv[0], argv, os.environ, file_actions=actions)


@pytest.mark.parametrize("args", [["--version"], ["state", "wt-no-such-container"], ["list"], ["frobnicate"],
                                  ["delete", "not a valid id!"]])
def test_a_forked_runtime_answers_as_the_launcher(tmp_path: Path, args: list[str]) -> None:
    argv = [OWN_WHARF_RUNC, "--root", str(tmp_path), *args]
    forked = _outcome(runtime_fork.spawn, argv)
    assert forked == _outcome(_posix_spawn, argv)
    assert forked[1] or forked[2]
