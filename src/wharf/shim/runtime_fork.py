"""Running wharf-runc in a fork of a warm shim instead of in a new interpreter.

A runtime command is a process per container operation (`create`, `start`, `exec`, `delete`...).
With runc or crun that is a small binary; with wharf-runc it is a Python start-up and the
runtime's imports, ~10 ms each time. A shim forked by the zygote has all of wharf-runc imported
already (the zygote preloads it), so when the runtime it was given *is* the wharf-runc of this
very installation it forks and runs the runtime's `main` in the child. The child is what the
launcher would have been: same arguments, environment and stdio, every other fd closed, default
signal handling, no garbage collector, its command line rewritten to the runtime's, and it only
ever leaves through `os._exit` with the runtime's exit status. Anything else (runc, crun, a
wrapper script, another installation's wharf-runc) is spawned as before.

Two conditions keep it safe and exact:
- the binary is the file the supervisor named in `WHARF_SHIM_OWN_RUNTIME` (its own venv's
  launcher, which imports the same `wharf` package as the shim);
- our interpreter runs from the read-only bind mount of `wharf.runtime.exe_guard`: /proc/PID/exe of
  the container's init, until it execs the user's program, is this interpreter, and must not be
  writable through it (CVE-2019-5736), exactly as with the launcher. The supervisor starts the
  zygote from that interpreter.
`WHARF_RUNTIME_IN_PROCESS=0` turns it off.
"""

from __future__ import annotations

import gc
import os
import signal
import sys

OWN_RUNTIME_ENV = "WHARF_SHIM_OWN_RUNTIME"
"""The path of the wharf-runc launcher that runs this installation's `wharf`, set by the supervisor."""
SWITCH_ENV = "WHARF_RUNTIME_IN_PROCESS"

_verdicts: dict[str, bool] = {}


def preload() -> None:
    """Import everything a runtime command may use (the zygote calls this once)."""
    import wharf.linux.capabilities
    import wharf.linux.clone
    import wharf.linux.pidfd
    import wharf.linux.process
    import wharf.linux.procfs
    import wharf.linux.pty
    import wharf.linux.seccomp
    import wharf.runtime.cgroups.v1
    import wharf.runtime.cgroups.v2
    import wharf.runtime.cli
    import wharf.runtime.create
    import wharf.runtime.exe_guard
    import wharf.runtime.execute
    import wharf.runtime.init
    import wharf.runtime.operations
    import wharf.runtime.rootfs
    import wharf.runtime.seccomp
    import wharf.runtime.verbs  # noqa: F401

    try:
        wharf.linux.seccomp.library()  # dlopen once: every fork shares it
    except OSError:
        pass  # no libseccomp: the runtime says so when a container asks for a filter


def runs_here(binary: str) -> bool:
    """Whether `binary` may run as a fork of this process (see the module's conditions)."""
    verdict = _verdicts.get(binary)
    if verdict is None:
        verdict = _verdicts[binary] = _same_runtime(binary) and _interpreter_is_protected()
    return verdict


def _same_runtime(binary: str) -> bool:
    own = os.environ.get(OWN_RUNTIME_ENV)
    if not own or os.environ.get(SWITCH_ENV) == "0" or "wharf.runtime.cli" not in sys.modules:
        return False
    try:
        return os.path.samefile(binary, own)
    except OSError:
        return False


def _interpreter_is_protected() -> bool:
    from wharf.runtime.exe_guard import interpreter_is_protected

    return interpreter_is_protected()


def spawn(argv: list[str], stdin: int, stdout: int, stderr: int) -> int:
    """Like posix_spawn of `argv` with these fds as stdio: the child's pid."""
    pid = os.fork()
    if pid == 0:
        _become_runtime(argv, stdin, stdout, stderr)
    return pid


def _become_runtime(argv: list[str], stdin: int, stdout: int, stderr: int) -> None:
    """In the child: the launcher's process, then the runtime's main; never returns."""
    status = 1
    try:
        gc.disable()  # as the launcher: the bootstrap and init are forks of this heap
        for sig in (signal.SIGCHLD, signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, signal.SIG_DFL)  # the shim's handlers are not the runtime's
        signal.set_wakeup_fd(-1)
        signal.pthread_sigmask(signal.SIG_SETMASK, [])
        for target, fd in enumerate((stdin, stdout, stderr)):
            os.dup2(fd, target)
        os.closerange(3, os.sysconf("SC_OPEN_MAX"))  # what exec does to the shim's cloexec fds
        sys.stdin = open(0, closefd=False)  # noqa: SIM115 - the process's own stdio
        sys.stdout = open(1, "w", closefd=False)  # noqa: SIM115
        sys.stderr = open(2, "w", closefd=False, buffering=1)  # noqa: SIM115
        _name_process(argv)
        sys.argv = list(argv)
        from wharf.runtime.cli import main

        status = main(argv[1:])
    except SystemExit as exit:
        status = exit.code if isinstance(exit.code, int) else 1
    except BaseException as err:  # the shim reads the runtime's error from its stderr
        try:
            print(f"{os.path.basename(argv[0])}: {type(err).__name__}: {err}", file=sys.stderr)
        except BaseException:  # noqa: BLE001 - nothing left to tell it with
            pass
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(status)


def _name_process(argv: list[str]) -> None:
    """`ps` and tools see the runtime's command line, as with the launcher, when it fits."""
    from wharf.shim.zygote import set_command_line

    set_command_line(argv)
    with open("/proc/self/comm", "w") as comm:
        comm.write(os.path.basename(argv[0])[:15])
