"""The container side of `create`: the bootstrap child that enters namespaces and the init that
sets up the container and finally execs the user's process. See wharf.runtime.sync for the sequence.

Both run in forked copies of the runtime: they only ever leave through os._exit, and report errors
to the parent over the sync socket.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
import traceback
from dataclasses import dataclass

from wharf.linux import namespaces as ns
from wharf.runtime import rootfs, sync
from wharf.runtime.specconv import Config

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# Namespaces are joined in this order: the user namespace first (it grants rights over the others),
# the mount namespace last (its path may only resolve before it is joined).
_JOIN_ORDER = ("user", "ipc", "uts", "network", "pid", "cgroup", "time", "mount")


@dataclass
class InitArgs:
    config: Config
    fifo_fd: int  # O_PATH fd of exec.fifo
    cgroup_paths: dict[str, str]
    console_socket: socket.socket | None
    preserve_fds: int
    no_pivot: bool


def bootstrap(args: InitArgs, child_sock: socket.socket) -> None:
    """Child C: enter/unshare the namespaces, fork the init, report its pid, exit. Never returns."""
    try:
        config = args.config
        for ns_type in _JOIN_ORDER:
            namespace = config.namespace(ns_type)
            if namespace is not None and namespace.path:
                try:
                    ns.join_path(namespace.path, ns.FLAG_OF_TYPE[ns_type])
                except OSError as err:
                    raise OSError(err.errno, f"joining {ns_type} namespace {namespace.path}: {err.strerror}") from err
        flags = 0
        for namespace in config.namespaces:
            # The cgroup namespace is unshared by the init once it is in its cgroups.
            if not namespace.path and namespace.type != "cgroup":
                flags |= ns.FLAG_OF_TYPE[namespace.type]
        ns.unshare(flags)
        pid = os.fork()
        if pid == 0:
            run_init(args, child_sock)
        sync.send(child_sock, "pid", pid=pid)
        os._exit(0)
    except BaseException as err:  # noqa: B036 - a forked child must report everything and exit
        _report_and_exit(child_sock, err)


def run_init(args: InitArgs, sock: socket.socket) -> None:
    """Init G: build the container, wait on exec.fifo, become the user's process. Never returns."""
    try:
        config = args.config
        sync.expect(sock, "go")
        cgroup_ns = config.namespace("cgroup")
        if cgroup_ns is not None and not cgroup_ns.path:
            ns.unshare(ns.CLONE_NEWCGROUP)
        if config.process.oom_score_adj is not None:
            with open("/proc/self/oom_score_adj", "w") as f:
                f.write(str(config.process.oom_score_adj))
        rootfs.prepare_root(config)
        rootfs.mount_all(config, args.cgroup_paths)
        rootfs.create_devices(config)
        if config.process.terminal:
            _setup_console(config, args.console_socket)
        if args.no_pivot:
            rootfs.move_root(config.rootfs)
        else:
            rootfs.pivot(config.rootfs)
        from wharf.linux import process

        if config.hostname:
            process.sethostname(config.hostname)
        if config.domainname:
            process.setdomainname(config.domainname)
        rootfs.write_sysctls(config.sysctl)
        rootfs.finish_root(config)
        _set_rlimits(config)
        try:
            os.chdir(config.process.cwd)
        except OSError as err:
            raise OSError(err.errno, f"cwd {config.process.cwd}: {err.strerror}") from err
        executable = find_executable(config.process.args[0], config.process.env)
        sync.send(sock, "ready")
    except BaseException as err:  # noqa: B036
        _report_and_exit(sock, err)
    sock.close()
    try:
        _wait_for_start(args.fifo_fd)
        _become_process(config, executable, args.preserve_fds)
    except BaseException as err:  # noqa: B036
        _print_and_exit(err)


def _setup_console(config: Config, console_socket: socket.socket | None) -> None:
    from wharf.linux import pty

    if console_socket is None:
        raise OSError(22, "process.terminal is true but no --console-socket was given")
    master, slave_name = pty.open_pty(rootfs.secure_join(config.rootfs, "/dev/pts/ptmx"))
    try:
        slave = os.open(rootfs.secure_join(config.rootfs, slave_name), os.O_RDWR | os.O_NOCTTY)
        if config.process.console_size:
            import fcntl
            import struct
            import termios

            height, width = config.process.console_size
            fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", height, width, 0, 0))
        rootfs.bind_console(config.rootfs, slave_name)
        socket.send_fds(console_socket, [b"/dev/ptmx"], [master])
    finally:
        os.close(master)
        console_socket.close()
    os.setsid()
    pty.set_controlling_terminal(slave)
    for fd in (0, 1, 2):
        os.dup2(slave, fd)
    os.close(slave)


_RLIMITS = {
    "RLIMIT_CPU": 0, "RLIMIT_FSIZE": 1, "RLIMIT_DATA": 2, "RLIMIT_STACK": 3, "RLIMIT_CORE": 4,
    "RLIMIT_RSS": 5, "RLIMIT_NPROC": 6, "RLIMIT_NOFILE": 7, "RLIMIT_MEMLOCK": 8, "RLIMIT_AS": 9,
    "RLIMIT_LOCKS": 10, "RLIMIT_SIGPENDING": 11, "RLIMIT_MSGQUEUE": 12, "RLIMIT_NICE": 13,
    "RLIMIT_RTPRIO": 14, "RLIMIT_RTTIME": 15,
}


def _set_rlimits(config: Config) -> None:
    if not config.process.rlimits:
        return
    import resource

    for limit in config.process.rlimits:
        number = _RLIMITS.get(limit.type)
        if number is None:
            raise OSError(22, f"unknown rlimit {limit.type}")
        as_limit = [resource.RLIM_INFINITY if v >= 2**63 - 1 or v < 0 else v for v in (limit.soft, limit.hard)]
        resource.setrlimit(number, (as_limit[0], as_limit[1]))


def find_executable(name: str, env: list[str]) -> str:
    """Resolve argv[0] as execvp would, with the container's PATH."""
    if "/" in name:
        if not os.path.exists(name):
            raise FileNotFoundError(2, f'exec: "{name}": no such file or directory')
        return name
    path = next((e[5:] for e in env if e.startswith("PATH=")), DEFAULT_PATH)
    for directory in path.split(":"):
        candidate = os.path.join(directory or ".", name)
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    raise FileNotFoundError(2, f'exec: "{name}": executable file not found in $PATH')


def _wait_for_start(fifo_fd: int) -> None:
    """Block until `start` opens exec.fifo for reading, then tell it we are going."""
    fifo = os.open(f"/proc/self/fd/{fifo_fd}", os.O_WRONLY | os.O_CLOEXEC)
    os.write(fifo, b"0")
    os.close(fifo)
    os.close(fifo_fd)


def _become_process(config: Config, executable: str, preserve_fds: int) -> None:
    from wharf.linux import capabilities as caps
    from wharf.linux import process

    proc = config.process
    wanted = None
    if proc.capabilities is not None:
        wanted = {name: _cap_numbers(getattr(proc.capabilities, name)) for name in
                  ("bounding", "effective", "permitted", "inheritable", "ambient")}
        caps.drop_bounding_except(wanted["bounding"])
        process.prctl(process.PR_SET_KEEPCAPS, 1)
    os.setgroups(proc.additional_gids)
    os.setresgid(proc.gid, proc.gid, proc.gid)
    os.setresuid(proc.uid, proc.uid, proc.uid)
    if wanted is not None:
        caps.capset(wanted["effective"], wanted["permitted"], wanted["inheritable"])
        if wanted["ambient"]:
            caps.set_ambient(wanted["ambient"])
    if proc.umask is not None:
        os.umask(proc.umask)
    if proc.no_new_privileges:
        process.set_no_new_privs()
    try:
        os.chdir(proc.cwd)  # again, as the user: runc allows a cwd only root can enter
    except PermissionError:
        pass
    # Python ignores SIGPIPE and SIGXFSZ; ignored signals survive execve, the container must not inherit that.
    for sig in (signal.SIGPIPE, signal.SIGXFSZ):
        signal.signal(sig, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_SETMASK, [])
    os.closerange(3 + preserve_fds, _max_fd())
    env = dict(e.split("=", 1) if "=" in e else (e, "") for e in proc.env)
    os.execve(executable, proc.args, env)


def _cap_numbers(names: list[str]) -> set[int]:
    from wharf.linux.capabilities import NUMBER_OF, last_cap

    top = last_cap()
    # Unknown names are skipped, as runc does, so a newer spec still runs on an older kernel.
    return {NUMBER_OF[n] for n in names if n in NUMBER_OF and NUMBER_OF[n] <= top}


def _max_fd() -> int:
    try:
        return os.sysconf("SC_OPEN_MAX")
    except (OSError, ValueError):
        return 1 << 20


def _report_and_exit(sock: socket.socket, err: BaseException) -> None:
    try:
        sync.send(sock, "error", message=_describe(err))
    finally:
        os._exit(1)


def _print_and_exit(err: BaseException) -> None:
    try:
        os.write(2, f"wharf-runc init: {_describe(err)}\n".encode())
    finally:
        os._exit(127 if isinstance(err, (FileNotFoundError, PermissionError)) else 1)


def _describe(err: BaseException) -> str:
    if isinstance(err, OSError) and err.strerror:
        text = err.strerror
        if err.filename and str(err.filename) not in text:
            text = f"{text}: {err.filename}"
        return text
    text = str(err) or type(err).__name__
    if not isinstance(err, (OSError, ValueError, LookupError)) and not hasattr(err, "code"):
        text += "\n" + "".join(traceback.format_exception(err))
    return text


__all__ = ["InitArgs", "bootstrap", "find_executable", "run_init", "sys"]
