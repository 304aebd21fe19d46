"""The shim daemon: detached from its caller, a child subreaper, serving until `shutdown`.

It must outlive whoever started it (wharf-containerd may be killed, restarted, upgraded): its own
session, a double fork, stdio away from the caller's pipes, SIGHUP and SIGPIPE ignored. SIGTERM
does not touch the container: the shim only stops by `shutdown` (after `delete`).
"""

from __future__ import annotations

# `_signal`, not `signal` (whose enums cost the container's creation milliseconds); the rest of the
# shim (JSON, sockets, the loop) is imported in `_serve` while the runtime creates the container.
import _signal
import os
import sys

from wharf.shim.launch import PipedLaunch, init_create_args
from wharf.shim.options import ShimOptions
from wharf.shim.protocol import (
    ATTACH_SOCKET,
    CONSOLE_SOCKET,
    CONTROL_SOCKET,
    LOG_FILE,
    PID_FILE,
    SHIM_PID_FILE,
)

PR_SET_CHILD_SUBREAPER = 36


def set_child_subreaper() -> None:
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"prctl(PR_SET_CHILD_SUBREAPER): {os.strerror(err)}")


def _detach(options: ShimOptions, keep_fd: int) -> None:
    os.setsid()
    if os.fork() != 0:
        os._exit(0)
    # First of all: whoever started us can find us (and our runtime children) if the start fails.
    with open(os.path.join(options.state_dir, SHIM_PID_FILE), "w") as pid_file:
        pid_file.write(f"{os.getpid()} {os.getpgrp()}")
    os.chdir("/")
    null = os.open(os.devnull, os.O_RDWR)
    log = os.open(os.path.join(options.state_dir, LOG_FILE), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(null, 0)
    os.dup2(null, 1)
    os.dup2(log, 2)
    # Nothing of the caller's may stay open here: a held pipe would keep it waiting for EOF.
    os.closerange(3, keep_fd)
    os.closerange(keep_fd + 1, os.sysconf("SC_OPEN_MAX"))
    _signal.signal(_signal.SIGPIPE, _signal.SIG_IGN)
    _signal.signal(_signal.SIGHUP, _signal.SIG_IGN)


def _remove_state(options: ShimOptions, names: tuple[str, ...]) -> None:
    for name in names:
        try:
            os.unlink(os.path.join(options.state_dir, name))
        except FileNotFoundError:
            pass


def run_detached(options: ShimOptions, ready_fd: int) -> None:
    """Become the daemon, create the container, tell `ready_fd` how it went, then serve."""
    status = 0
    try:
        _detach(options, ready_fd)
        status = _serve(options, ready_fd)
    except BaseException as err:  # the caller must hear about every failure
        try:
            import traceback

            traceback.print_exc()
            os.write(ready_fd, f"error:{err}".encode())
        except OSError:
            pass
        status = 1
    finally:
        sys.stderr.flush()
        os._exit(status)


def _start_create(options: ShimOptions) -> PipedLaunch | None:
    """Start the runtime's `create` now, with pipes as the container's stdio (a terminal's
    console socket is made by InitProcess later: then None)."""
    if options.terminal:
        return None
    pid_file = os.path.join(options.state_dir, PID_FILE)
    argv = [options.runtime, *(["--root", options.runtime_root] if options.runtime_root else []),
            *init_create_args(options.bundle, pid_file, options.id)]
    return PipedLaunch(argv, options.stdin)


def _serve(options: ShimOptions, ready_fd: int) -> int:
    set_child_subreaper()  # before the runtime runs: its init must be reparented to us
    started = None
    created = False
    try:
        started = _start_create(options)
        from wharf import errdefs
        from wharf.shim.loop import EventLoop
        from wharf.shim.process import InitProcess
        from wharf.shim.server import Reaper, ShimServer, log

        loop = EventLoop()
        init = InitProcess(loop, options)
        servers: list[ShimServer] = []
        reaper = Reaper(loop, lambda: servers[0].processes_by_pid() if servers else {})
        launch, started = started, None  # InitProcess owns the runtime's command from here
        init.create(launch)
        created = True
        server = ShimServer(loop, init, os.path.join(options.state_dir, CONTROL_SOCKET),
                            os.path.join(options.state_dir, ATTACH_SOCKET))
        servers.append(server)
    except BaseException as err:
        if started is not None:  # failed before InitProcess took the runtime's command over
            _abandon_create(options, started)
        if created:
            init.force_delete()
        from wharf import errdefs

        message = str(err) if isinstance(err, errdefs.WharfError) else f"{type(err).__name__}: {err}"
        os.write(ready_fd, f"error:{message}".encode())
        os.close(ready_fd)
        _remove_state(options, (PID_FILE, LOG_FILE, CONSOLE_SOCKET, SHIM_PID_FILE))
        _remove_empty_dir(options.state_dir)
        return 1

    def terminated(signum: int, _frame: object) -> None:
        if server.service.deleted:
            server.shutdown()
        else:
            log("SIGTERM ignored: the container lives on; delete it and call shutdown")

    import signal

    signal.signal(signal.SIGTERM, terminated)
    try:
        os.write(ready_fd, b"ok")
    except OSError:
        # Whoever started us is gone (killed midway) and took the start for failed: the
        # supervisor has cleaned up after it already, so a container made now would be nobody's.
        log(f"nobody waits for container {options.id}: deleting it")
        init.force_delete()
        _remove_state(options, (PID_FILE, LOG_FILE, CONSOLE_SOCKET, CONTROL_SOCKET, ATTACH_SOCKET, SHIM_PID_FILE))
        _remove_empty_dir(options.state_dir)
        return 1
    os.close(ready_fd)
    log(f"serving container {options.id} (init pid {init.pid})")
    reaper.reap()  # anything that exited before the handler was in place
    loop.run()
    return 0


def _abandon_create(options: ShimOptions, started: PipedLaunch) -> None:
    """Wait for the runtime's `create` we cannot use; if it made the container, delete it."""
    try:
        started.wait()
    finally:
        started.close()
    if os.path.exists(os.path.join(options.state_dir, PID_FILE)):
        from wharf.shim.runtime import Runtime

        try:
            Runtime(options.runtime, options.runtime_root).run("delete", "--force", options.id)
        except Exception:  # noqa: BLE001 - best effort: the caller hears about the first failure
            pass


def _remove_empty_dir(path: str) -> None:
    try:
        os.rmdir(path)
    except OSError:
        pass
