"""Keep the host's runtime binary out of the container's reach (CVE-2019-5736).

wharf-runc runs as the host's Python interpreter: /proc/PID/exe of the init and of an exec'd process,
until they execve the user's program, is that host file. Two ways a container could get hold of it:

1. Another container process opens /proc/PID/exe of the runtime's process while it is inside the
   container's pid namespace. The runtime's processes are made non-dumpable before they enter it (as
   runc does), so only CAP_SYS_PTRACE could open that link; execve makes the user's program dumpable
   again, and by then /proc/PID/exe is the container's own file.
2. The container's program *is* the runtime: `/proc/self/exe`, a symlink to it, or a script whose
   `#!` interpreter chain ends there is resolved by the kernel in the runtime's process. Such an
   executable is refused. (A container that swaps the file between this check and execve could still
   race it; a non-root or user-namespaced container cannot write the host file at all.)
"""

from __future__ import annotations

import os

from wharf.linux import process

_BINPRM_MAX_RECURSION = 4  # the kernel follows at most this many nested #! interpreters
_own_exe: tuple[int, int] | None = None


def remember_own_exe() -> None:
    """Note which file our /proc/self/exe is; call before leaving the host's mount namespace."""
    global _own_exe
    st = os.stat("/proc/self/exe")
    _own_exe = (st.st_dev, st.st_ino)


def make_non_dumpable() -> None:
    """Our /proc/PID/* (exe, fd, mem...) become unreachable without CAP_SYS_PTRACE; inherited on fork,
    reset by execve."""
    process.prctl(process.PR_SET_DUMPABLE, 0)


def refuse_runtime_binary(executable: str) -> None:
    """Raise PermissionError if executing EXECUTABLE (in the current root) would run our own binary."""
    if _own_exe is None:
        return
    path = executable
    for _ in range(_BINPRM_MAX_RECURSION + 1):
        try:
            st = os.stat(path)
        except OSError:
            return  # execve reports what is wrong with it
        if (st.st_dev, st.st_ino) == _own_exe:
            raise PermissionError(1, f"exec: {executable!r} is the runtime's own binary: refused "
                                     "(CVE-2019-5736)")
        interpreter = _shebang_interpreter(path)
        if not interpreter:
            return
        path = interpreter


def _shebang_interpreter(path: str) -> str:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK)
    except OSError:
        return ""
    try:
        head = os.read(fd, 256)
    except OSError:
        return ""
    finally:
        os.close(fd)
    if not head.startswith(b"#!"):
        return ""
    words = head[2:].split(b"\n", 1)[0].split()
    return os.fsdecode(words[0]) if words else ""
