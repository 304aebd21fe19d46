"""Shims forked by the supervisor's zygote: the same shim as a cold `wharf-shim start` (command
line, session, priority, none of the zygote's fds), several at once, the cold path while it is
not ready or when it died, errors as the cold command reports them."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from shim_world import Shim, ShimHost, process_alive, read_frames, wait_for

from wharf import errdefs
from wharf.containerd.plugins.runtime_shim.warm_shim import WarmShims
from wharf.shim.client import start_shim
from wharf.shim.zygote import ARGUMENT_ROOM


def _options(host: ShimHost, container_id: str, bundle: Path) -> dict[str, object]:
    return {"id": container_id, "bundle": str(bundle), "state_dir": str(host.state_dir(container_id)),
            "runtime": host.runc, "runtime_root": str(host.runtime_root)}


async def _ready_zygote(warm: WarmShims) -> int:
    warm.replenish()
    for _ in range(1000):
        if warm._is_ready():
            assert warm._zygote is not None
            return warm._zygote.pid
        await asyncio.sleep(0.01)
    raise AssertionError("the zygote did not get ready")


def _pipes_and_sockets_of(pid: int) -> set[str]:
    found = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith(("pipe:", "socket:")):
            found.add(target)
    return found


def _is_zygote_child(pid: int, zygote: int) -> bool:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1]) == zygote


def test_a_warm_shim_is_the_cold_shim_without_its_start_up(host: ShimHost) -> None:
    async def scenario() -> None:
        warm = WarmShims()
        try:
            zygote = await _ready_zygote(warm)
            zygote_fds = _pipes_and_sockets_of(zygote)
            assert zygote_fds  # its request socket
            ids = [host.new_id(), host.new_id()]
            bundles = [host.bundle(["sh", "-c", f"exit {code}"]) for code in (7, 8)]
            paths = await asyncio.gather(*(warm.start(**_options(host, i, b)) for i, b in zip(ids, bundles, strict=True)))
            assert paths == [str(host.state_dir(i) / "shim.sock") for i in ids]
            for container_id, code in zip(ids, (7, 8), strict=True):
                shim = Shim(container_id, host.state_dir(container_id))
                pid = shim.pid()  # found by its command line, as tools and tests find cold shims
                raw = Path(f"/proc/{pid}/cmdline").read_bytes()
                assert len(raw) > ARGUMENT_ROOM  # the zygote's argument area: forked, not cold
                cmdline = raw.rstrip(b"\0").split(b"\0")
                assert cmdline[cmdline.index(b"wharf-shim"):][:4] == [b"wharf-shim", b"start", b"--id",
                                                                       container_id.encode()]
                # Detached like a cold shim: reparented, its own session, stdio away from us,
                # nothing of the zygote's open, the supervisor's priority.
                assert not _is_zygote_child(pid, zygote)
                assert os.getsid(pid) not in (os.getsid(0), os.getsid(zygote), pid)
                assert os.readlink(f"/proc/{pid}/fd/0") == "/dev/null"
                assert not _pipes_and_sockets_of(pid) & zygote_fds
                assert os.getpriority(os.PRIO_PROCESS, pid) == os.getpriority(os.PRIO_PROCESS, 0)
                shim.call("start")
                assert shim.call("wait")["exit_status"] == code
                shim.finish()
            assert process_alive(zygote)  # it serves the next one too
            assert warm._zygote is not None and warm._zygote.pid == zygote
        finally:
            await warm.close()

    asyncio.run(scenario())


def test_without_a_live_zygote_the_shim_starts_cold(host: ShimHost) -> None:
    async def scenario() -> None:
        warm = WarmShims()
        try:
            zygote = await _ready_zygote(warm)
            os.kill(zygote, signal.SIGKILL)
            wait_for(lambda: not process_alive(zygote))
            container_id = host.new_id()
            bundle = host.bundle(["true"])
            await warm.start(**_options(host, container_id, bundle))
            shim = Shim(container_id, host.state_dir(container_id))
            shim.call("start")
            assert shim.call("wait")["exit_status"] == 0
            shim.finish()
            assert await _ready_zygote(warm) != zygote  # replaced
        finally:
            await warm.close()

    asyncio.run(scenario())


def test_errors_through_the_zygote_are_the_cold_commands(host: ShimHost) -> None:
    async def scenario() -> None:
        warm = WarmShims()
        try:
            await _ready_zygote(warm)
            container_id = host.new_id()
            with pytest.raises(errdefs.InvalidArgument, match="no config.json"):
                await warm.start(**_options(host, container_id, host.base / "no-such-bundle"))
            await _ready_zygote(warm)
            bundle = host.bundle(["/no/such/program"])
            with pytest.raises(errdefs.System):
                await warm.start(**_options(host, container_id, bundle))
            assert not host.state_dir(container_id).exists()  # the shim left nothing behind
        finally:
            await warm.close()

    asyncio.run(scenario())


def test_a_zygote_ends_when_it_is_let_go() -> None:
    async def scenario() -> None:
        warm = WarmShims()
        zygote = await _ready_zygote(warm)
        await warm.close()
        wait_for(lambda: not process_alive(zygote))

    asyncio.run(scenario())


def test_the_command_line_is_rewritten_in_place_and_only_when_it_fits() -> None:
    script = ("import sys;from wharf.shim.zygote import set_command_line;"
              "print(set_command_line(['wharf-shim', 'start', '--id', 'x']), set_command_line(['y' * 5000]),"
              " open('/proc/self/cmdline','rb').read().rstrip(b'\\0'), flush=True)")
    out = subprocess.run([sys.executable, "-c", script, *([""] * 40)], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "True False b'wharf-shim\\x00start\\x00--id\\x00x'"


def test_a_terminal_container_through_the_zygote(host: ShimHost) -> None:
    async def scenario() -> None:
        warm = WarmShims()
        try:
            await _ready_zygote(warm)
            container_id = host.new_id()
            bundle = host.bundle(["sh", "-c", "tty; echo done"], terminal=True)
            await warm.start(**_options(host, container_id, bundle), terminal=True, stdin=True)
            shim = Shim(container_id, host.state_dir(container_id))
            assert len(Path(f"/proc/{shim.pid()}/cmdline").read_bytes()) > ARGUMENT_ROOM  # forked
            client = shim.attach(stdin=True)
            shim.call("start")
            output = b"".join(payload for _, payload in read_frames(client)).decode()
            assert "/dev/pts/" in output or "/dev/console" in output
            assert "done\r\n" in output
            assert shim.call("wait")["exit_status"] == 0
            shim.finish()
        finally:
            await warm.close()

    asyncio.run(scenario())


def _signal_state(pid: int) -> dict[str, str]:
    """Blocked, ignored and caught signals (masks from /proc/PID/status)."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines())
    return {name: fields[name].strip() for name in ("SigBlk", "SigIgn", "SigCgt")}


def test_a_warm_shim_has_the_cold_shims_signals_and_reaps_its_container(host: ShimHost) -> None:
    """The zygote ignores SIGCHLD: a shim (or its container) keeping that would have its children
    auto-reaped and never see the container's exit. The warm shim and its container must have the
    cold ones' signal masks, and a killed container's exit status must reach `wait`."""
    async def scenario() -> None:
        warm = WarmShims()
        try:
            zygote = await _ready_zygote(warm)
            states = {}
            for kind in ("warm", "cold"):
                container_id = host.new_id()
                options = _options(host, container_id, host.bundle(["sleep", "100"]))
                await (warm.start(**options) if kind == "warm" else start_shim(**options))
                shim = Shim(container_id, host.state_dir(container_id))
                assert (len(Path(f"/proc/{shim.pid()}/cmdline").read_bytes()) > ARGUMENT_ROOM) == (kind == "warm")
                init = shim.call("start")["pid"]
                states[kind] = (_signal_state(shim.pid()), _signal_state(init))
                shim.call("kill", signal=signal.SIGKILL)
                assert shim.call("wait")["exit_status"] == 128 + signal.SIGKILL
                shim.finish()
            assert states["warm"] == states["cold"]
            sigchld = 1 << (signal.SIGCHLD - 1)
            assert int(_signal_state(zygote)["SigIgn"], 16) & sigchld  # the difference the child undoes
            assert not int(states["warm"][0]["SigIgn"], 16) & sigchld
        finally:
            await warm.close()

    asyncio.run(scenario())
