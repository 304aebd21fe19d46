"""The shim zygote: one pre-imported process per supervisor that forks `wharf-shim start` on request.

Every `wharf-shim start` used to be a new interpreter: start-up, then the imports (JSON,
sockets, the event loop, the task service), per container. The supervisor now keeps one
zygote: started with it (at the lowest priority while it imports), it has imported the whole
shim once, and forks for each request. The forked child is exactly a cold `wharf-shim start`:
its stdout and stderr are pipes of the supervisor (passed with the request), its command line
is rewritten to the cold one, and it runs `wharf.shim.main.start` (validation, fork,
`run_detached`: setsid, second fork, subreaper, every inherited fd closed), then writes its exit
status on a third pipe. So the shim is the same process tree as before, outlives the supervisor
the same way, and keeps nothing of the supervisor's or the zygote's. Its pages stay shared
with the zygote's (copy on write) as long as neither writes them.

Protocol: a SOCK_SEQPACKET socket (its fd in `WHARF_SHIM_ZYGOTE_FD`). A request is one JSON message,
`{"argv": [the cold command line], "args": [start's arguments], "priority": N}`, carrying three
fds (stdout, stderr, status). The zygote says `ready` once its imports are done (until then
the supervisor starts shims cold, never waiting for it). EOF on the socket (the supervisor is gone) ends the zygote.

The command line: tools and tests find a shim by `/proc/PID/cmdline` (its `--state-dir`), and
a forked process keeps its parent's argument area. Pointing the kernel elsewhere needs
CAP_SYS_RESOURCE (not always given), so the zygote is started with room to spare (empty
arguments, one NUL byte each) and the child writes the real arguments over that area.
"""

from __future__ import annotations

import array
import ctypes
import gc
import json
import os
import signal
import socket
import sys

ARGUMENT_ROOM = 4096
"""Empty arguments the supervisor adds after `zygote`: the bytes the real command line may take."""
NICE = 19
"""The zygote's start-up (its imports) only takes idle CPU: the supervisor runs it under `nice`."""
PRIORITY_ENV = "WHARF_SHIM_ZYGOTE_PRIORITY"
"""The supervisor's priority, which the zygote takes once its imports are done."""
REQUEST_FD_ENV = "WHARF_SHIM_ZYGOTE_FD"
"""The fd of the zygote's end of the request socket."""
FDS_PER_REQUEST = 3
READY = b"ready"
"""The zygote's one message to the supervisor: imports done, requests are forked at once from now on."""


def pack_fds(fds: list[int]) -> bytes:
    """SCM_RIGHTS data: C ints in this machine's byte order."""
    return array.array("i", fds).tobytes()


def argument_area() -> tuple[int, int]:
    """[start, end) of this process's argument strings (fields 48 and 49 of /proc/self/stat)."""
    with open("/proc/self/stat", "rb") as file:
        stat = file.read()
    fields = stat[stat.rindex(b")") + 2:].split()
    return int(fields[45]), int(fields[46])  # the fields after `comm`, which is field 2


def set_command_line(argv: list[str]) -> bool:
    """Write `argv` over the argument area (NUL-separated, the rest NUL); False when it does not fit."""
    start, end = argument_area()
    raw = b"\0".join(arg.encode() for arg in argv) + b"\0"
    if len(raw) > end - start:
        return False
    ctypes.memmove(start, raw.ljust(end - start, b"\0"), end - start)
    return True


def _preload() -> None:
    """Everything `start` and the shim daemon import, so none of it is left for the container's time."""
    import traceback  # noqa: F401

    from wharf import errdefs  # noqa: F401
    from wharf.shim import daemon, main, runtime, runtime_fork  # noqa: F401
    from wharf.shim.loop import EventLoop  # noqa: F401
    from wharf.shim.process import InitProcess  # noqa: F401
    from wharf.shim.server import Reaper, ShimServer  # noqa: F401

    if os.environ.get(runtime_fork.OWN_RUNTIME_ENV):
        runtime_fork.preload()
    # What is loaded now stays loaded: keep the collector off these objects, so that it never
    # writes to (and so copies) the pages every fork shares with us.
    gc.freeze()


FORKED = b"forked:"
"""Written by the forked child before anything else (then its exit status follows)."""


def _run_start(requests: socket.socket, request: dict, fds: list[int]) -> None:
    """In the forked child: become the cold `wharf-shim start` and run it; never returns."""
    status = 1
    out_fd, err_fd, status_fd = fds
    try:
        # First word on the status pipe: from here on the request was taken, and a death is a
        # failed start, never "not done" (a retry could start a second shim for the container).
        os.write(status_fd, FORKED)
        requests.close()
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # start() waits for its own child
        os.setpriority(os.PRIO_PROCESS, 0, int(request["priority"]))
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(out_fd, 1)
        os.dup2(err_fd, 2)
        for fd in (null, out_fd, err_fd):
            os.close(fd)
        if not set_command_line(request["argv"]):
            print("wharf-shim zygote: the command line does not fit the argument area", file=sys.stderr)
        else:
            from wharf.shim.main import start

            status = start(request["args"])
    except BaseException as err:  # the supervisor must hear about every failure
        try:
            print(f"wharf-shim zygote: {type(err).__name__}: {err}", file=sys.stderr)
        except BaseException:  # noqa: BLE001 - nothing left to tell it with
            pass
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
            os.write(status_fd, str(status).encode())
        finally:
            os._exit(status)


def _receive(requests: socket.socket) -> tuple[dict, list[int]] | None:
    """The next request and its fds; None at EOF."""
    size = socket.CMSG_LEN(FDS_PER_REQUEST * 4)
    message, ancillary, _, _ = requests.recvmsg(1 << 16, size)
    fds: list[int] = []
    for level, kind, data in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            received = array.array("i")
            received.frombytes(data[:len(data) - len(data) % received.itemsize])
            fds.extend(received)
    if not message:
        for fd in fds:
            os.close(fd)
        return None
    return json.loads(message), fds


def serve() -> int:
    _preload()
    priority = os.environ.pop(PRIORITY_ENV, None)
    if priority is not None:  # imports done: forks must not wait behind everything else
        os.setpriority(os.PRIO_PROCESS, 0, int(priority))
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the children reap themselves
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    requests = socket.socket(fileno=int(os.environ.pop(REQUEST_FD_ENV)))
    requests.send(READY)
    while True:
        try:
            received = _receive(requests)
        except InterruptedError:
            continue
        except ConnectionResetError:  # the supervisor was killed: as EOF
            received = None
        if received is None:
            return 0
        request, fds = received
        if len(fds) != FDS_PER_REQUEST:
            for fd in fds:
                os.close(fd)
            continue
        if os.fork() == 0:
            _run_start(requests, request, fds)
        for fd in fds:
            os.close(fd)


def main() -> None:
    sys.exit(serve())
