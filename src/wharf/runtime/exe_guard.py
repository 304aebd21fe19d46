"""Keep the host's runtime binary out of the container's reach (CVE-2019-5736).

wharf-runc runs as the host's Python interpreter: /proc/PID/exe of the init and of an exec'd process,
until they execve the user's program, is that host file. Three layers:

1. **The interpreter runs from a read-only bind mount** (runc's ro-bind defence, made once per boot
   instead of on every call, because re-exec'ing Python would cost ~8 ms a container). The launcher
   execs `bin/.wharf-runc-python`, a symlink to the interpreter inside a read-only bind mount of its
   installation prefix under /run/wharf-runc-exe/. /proc/PID/exe of every wharf-runc process (and of
   its forks: the bootstrap, the init, an exec'd process) then names that read-only mount: opening it
   for writing fails with EROFS, whoever reaches it and however (a racing `exec` of /proc/self/exe, a
   container with CAP_SYS_PTRACE opening /proc/PID/exe). `ensure_protected_interpreter` builds the mount
   the first time and re-execs through it; a host where it cannot be built (no CAP_SYS_ADMIN) keeps
   layers 2 and 3 only.
2. Another container process opening /proc/PID/exe of the runtime's process while it is inside the
   container's pid namespace: the runtime's processes are non-dumpable before they enter it (as runc
   does), so only CAP_SYS_PTRACE could open that link (and then layer 1 holds).
3. The container's program *is* the runtime: `/proc/self/exe`, a symlink to it, or a script whose `#!`
   interpreter chain ends there. Such an executable is refused. This check alone races with a
   container swapping the file before execve; layer 1 is what makes that race harmless.
"""

from __future__ import annotations

import os

PROTECTED_ROOT = "/run/wharf-runc-exe"
LAUNCHER_LINK = ".wharf-runc-python"  # beside the launcher, read by it

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
    from wharf.linux import process

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


def interpreter_is_protected() -> bool:
    """Our /proc/self/exe is on a read-only mount: it cannot be opened for writing through us."""
    try:
        return bool(os.statvfs("/proc/self/exe").f_flag & os.ST_RDONLY)
    except OSError:
        return False


def ensure_protected_interpreter(argv: list[str]) -> None:
    """Re-exec through the read-only interpreter unless we already run from it (the launcher's normal
    case: a statvfs, nothing more). Only when started through the launcher script (ARGV[0]); on any
    failure, carry on: layers 2 and 3 still hold."""
    if interpreter_is_protected() or not argv or not argv[0].endswith("wharf-runc") or not os.path.isfile(argv[0]):
        return
    try:
        protected = protected_interpreter()
        _link_beside_launcher(os.path.dirname(os.path.abspath(argv[0])), protected)
    except OSError:
        return
    os.execv(protected, [protected, "-I", "-S", *argv])


def protected_interpreter() -> str:
    """The path of our interpreter inside a read-only bind mount of its installation prefix (made if
    missing; kept until reboot, shared by every later call). The whole prefix is bound, so Python
    finds its standard library beside the executable there."""
    real = os.path.realpath("/proc/self/exe")
    st = os.stat(real)
    prefix = os.path.dirname(os.path.dirname(real))
    target = os.path.join(PROTECTED_ROOT, f"{st.st_dev:x}-{st.st_ino:x}")
    protected = target + real[len(prefix):]
    if _is_protected_copy(protected, st):
        return protected
    import fcntl

    os.makedirs(target, mode=0o755, exist_ok=True)
    lock = os.open(os.path.join(PROTECTED_ROOT, ".lock"), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one builder at a time; the others find it done
        if not _is_protected_copy(protected, st):
            from wharf.linux import mount as m

            m.mount(prefix, target, None, m.MS_BIND)
            m.mount(None, target, None, m.MS_BIND | m.MS_REMOUNT | m.MS_RDONLY | m.MS_NOSUID | m.MS_NODEV)
    finally:
        os.close(lock)
    if not _is_protected_copy(protected, st):
        raise OSError(1, f"{protected}: not a read-only copy of {real}")
    return protected


def _is_protected_copy(path: str, real: os.stat_result) -> bool:
    try:
        st = os.stat(path)
        return (st.st_dev, st.st_ino) == (real.st_dev, real.st_ino) and bool(os.statvfs(path).f_flag & os.ST_RDONLY)
    except OSError:
        return False


def _link_beside_launcher(bin_dir: str, protected: str) -> None:
    link = os.path.join(bin_dir, LAUNCHER_LINK)
    try:
        if os.readlink(link) == protected:
            return
    except OSError:
        pass
    tmp = f"{link}.{os.getpid()}"
    os.symlink(protected, tmp)
    os.rename(tmp, link)
