"""Starting shims through the supervisor's zygote (`wharf.shim.zygote`), the cold `wharf-shim start`
as fallback.

The zygote is started with the supervisor (in the background, at the lowest priority while it
imports) and forks one `wharf-shim start` per request; requests may overlap. A shim's result
(control socket or error) is read exactly as from a cold `wharf-shim start`. When the zygote is
not ready (still importing, died, or its command line has no room), the shim is started cold:
never a wait, never a different outcome. A dead zygote is replaced at the next request.
`WHARF_SHIM_ZYGOTE=0` in the supervisor's environment turns it off.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import subprocess

from wharf import errdefs
from wharf.containerd.plugins.runtime_shim.runtime_binary import own_runtime
from wharf.runtime.exe_guard import protected_interpreter
from wharf.shim.client import shim_command, start_args, start_outcome, start_shim
from wharf.shim.runtime_fork import OWN_RUNTIME_ENV, SWITCH_ENV
from wharf.shim.zygote import ARGUMENT_ROOM, FORKED, NICE, PRIORITY_ENV, READY, REQUEST_FD_ENV, pack_fds

log = logging.getLogger(__name__)


def zygote_command(interpreter: str | None = None) -> list[str]:
    """`wharf-shim zygote` with the shim's interpreter flags, and room for the real command line."""
    cold = shim_command()
    package_parent = os.path.dirname(os.path.dirname(os.path.abspath(errdefs.__file__)))
    launcher = f"import sys;sys.path.insert(0,{package_parent!r});from wharf.shim.zygote import main;main()"
    return [interpreter or cold[0], *cold[1:cold.index("-c") + 1], launcher, "wharf-shim", "zygote",
            *([""] * ARGUMENT_ROOM)]


def _in_process_runtime() -> tuple[str | None, dict[str, str]]:
    """The interpreter for the zygote and its environment's additions: the read-only copy of our
    interpreter and our own wharf-runc, so that its shims may run that runtime in a fork of
    themselves (`wharf.shim.runtime_fork`); (None, {}) when that is not possible here."""
    runtime = own_runtime()
    if runtime is None or os.environ.get(SWITCH_ENV) == "0":
        return None, {}
    try:
        interpreter = protected_interpreter()
    except OSError as err:
        log.info("no read-only interpreter for the shims (%s): wharf-runc runs as its own process", err)
        return None, {}
    return interpreter, {OWN_RUNTIME_ENV: runtime}


def _area_size(argv: list[str]) -> int:
    return len(b"\0".join(arg.encode() for arg in argv)) + 1


def _read_all(fd: int) -> bytes:
    chunks = []
    with open(fd, "rb", buffering=0, closefd=True) as pipe:
        while chunk := pipe.read(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def _collect(out_r: int, err_r: int, status_r: int) -> tuple[bytes, bytes, bytes]:
    """The child's stdout, stderr and exit status (read to EOF; the outputs are a few lines)."""
    return _read_all(out_r), _read_all(err_r), _read_all(status_r)


class WarmShims:
    def __init__(self) -> None:
        self.enabled = os.environ.get("WHARF_SHIM_ZYGOTE", "1") != "0"
        self._zygote: subprocess.Popen[bytes] | None = None
        self._requests: socket.socket | None = None
        self._ready = False
        """The zygote has said it is done importing."""
        self._room = 0
        """The bytes of the zygote's argument area: the longest command line its children can show."""

    def replenish(self) -> None:
        """Start the zygote unless it runs (supervisor start-up; after it died)."""
        if not self.enabled or (self._zygote is not None and self._zygote.poll() is None):
            return
        if self._zygote is not None:
            log.warning("the shim zygote exited with status %s; starting another", self._zygote.returncode)
        self._stop()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            interpreter, runtime_env = _in_process_runtime()
            command = zygote_command(interpreter)
            env = dict(os.environ, **runtime_env, **{PRIORITY_ENV: str(os.getpriority(os.PRIO_PROCESS, 0)),
                                                     REQUEST_FD_ENV: str(theirs.fileno())})
            # nice: its imports take idle CPU only, never the container's being created now.
            self._zygote = subprocess.Popen(
                ["nice", "-n", str(NICE), *command], stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL, env=env, pass_fds=(theirs.fileno(),))
        except OSError as err:
            log.warning("cannot start the shim zygote (%s): shims start cold", err)
            ours.close()
            self.enabled = False
            return
        finally:
            theirs.close()
        self._requests = ours
        self._ready = False
        self._room = _area_size(command)

    def _is_ready(self) -> bool:
        if not self._ready and self._requests is not None:
            try:
                self._ready = self._requests.recv(len(READY), socket.MSG_DONTWAIT) == READY
            except BlockingIOError:
                pass
            except OSError:
                self._stop()
        return self._ready

    async def start(self, **options: object) -> str:
        """Like `wharf.shim.client.start_shim`: the control socket's path, or its errors."""
        args = start_args(**options)  # type: ignore[arg-type]
        cold_argv = [*shim_command(), "start", *args]
        self.replenish()
        if self._is_ready() and _area_size(cold_argv) <= self._room:
            outcome = await self._start_forked(cold_argv, args, str(options["state_dir"]))
            if outcome is not None:
                return outcome
        return await start_shim(**options)  # type: ignore[arg-type]

    async def _start_forked(self, cold_argv: list[str], args: list[str], state_dir: str) -> str | None:
        """`start` forked by the zygote; None when the zygote could not take the request (then cold)."""
        assert self._requests is not None
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        status_r, status_w = os.pipe()
        request = json.dumps({"argv": cold_argv, "args": args, "priority": os.getpriority(os.PRIO_PROCESS, 0)})
        try:
            self._requests.sendmsg([request.encode()], [(socket.SOL_SOCKET, socket.SCM_RIGHTS,
                                                         pack_fds([out_w, err_w, status_w]))])
        except OSError as err:
            log.warning("the shim zygote is gone (%s); starting the shim cold", err)
            for fd in (out_r, err_r, status_r):
                os.close(fd)
            self._stop()
            return None
        finally:
            for fd in (out_w, err_w, status_w):
                os.close(fd)
        out, err, status = await asyncio.to_thread(_collect, out_r, err_r, status_r)
        if not status.startswith(FORKED):  # the zygote died before forking: nothing was done
            log.warning("the shim zygote did not take the request; starting the shim cold")
            return None
        code = status.removeprefix(FORKED).strip()
        if not code.isdigit():  # the forked start was killed midway: a failed start, as a cold one's
            err += b"wharf-shim start was killed before it finished\n"
            code = b"1"
        return start_outcome(int(code), out, err, state_dir)

    def _stop(self) -> None:
        if self._requests is not None:
            self._requests.close()  # EOF: the zygote exits
            self._requests = None
        self._ready = False
        if self._zygote is not None:
            zygote, self._zygote = self._zygote, None
            if zygote.poll() is None:
                try:
                    zygote.wait(timeout=2)
                except subprocess.TimeoutExpired:
                    zygote.kill()
                    zygote.wait()

    async def close(self) -> None:
        """Let the zygote go (the shims it started live on)."""
        await asyncio.to_thread(self._stop)
