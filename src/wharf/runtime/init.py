"""The container side of `create`: the bootstrap child that enters namespaces and the init that
sets up the container and finally execs the user's process. See wharf.runtime.sync for the sequence.

Both run in forked copies of the runtime: they only ever leave through os._exit, and report errors
to the parent over the sync socket.
"""

from __future__ import annotations

import _signal as signal  # `signal` and `socket` build enums at import: milliseconds a call
import _socket as socket
import errno
import os

from wharf.linux import namespaces as ns
from wharf.linux import process
from wharf.runtime import exe_guard, rootfs, sync
from wharf.runtime.init_args import InitArgs  # noqa: F401 - re-exported
from wharf.runtime.specconv import Config, Process

TYPE_CHECKING = False  # importing typing costs milliseconds on every run
if TYPE_CHECKING:
    from wharf.linux.seccomp import Filter

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# Namespaces are joined in this order: the user namespace first (it grants rights over the others),
# the mount namespace last (its path may only resolve before it is joined).
_JOIN_ORDER = ("user", "ipc", "uts", "network", "pid", "cgroup", "time", "mount")


def bootstrap(args: InitArgs, child_sock: socket.socket) -> None:
    """Child C: enter/unshare the namespaces, fork the init, report its pid, exit. Never returns."""
    try:
        config = args.config
        preload(config)
        # Compiled here, out of the parent's way (Docker's profile takes libseccomp milliseconds, when
        # it is not in the cache); the init inherits the program.
        seccomp_filter = _build_seccomp_filter(config, args.seccomp_cache)
        exe_guard.remember_own_exe()
        if config.namespace("user") is None:
            # Before we or the init show up in the container's pid namespace (a user namespace's root
            # cannot write the host's interpreter, and needs its /proc/self to stay its own).
            exe_guard.make_non_dumpable()
        for ns_type in _JOIN_ORDER:
            namespace = config.namespace(ns_type)
            if namespace is not None and namespace.path:
                try:
                    ns.join_path(namespace.path, ns.FLAG_OF_TYPE[ns_type])
                except OSError as err:
                    raise OSError(err.errno, f"joining {ns_type} namespace {namespace.path}: {err.strerror}") from err
        user = config.namespace("user")
        if user is not None and not user.path:
            # The user namespace comes first, alone, so it owns every namespace made after it; the parent
            # writes our id maps, then we are root in it.
            ns.unshare(ns.CLONE_NEWUSER)
            sync.send(child_sock, "userns", pid=os.getpid())
            sync.expect(child_sock, "mapped")
        if user is not None:
            os.setresgid(0, 0, 0)
            os.setresuid(0, 0, 0)
        flags = 0
        for namespace in config.namespaces:
            # The cgroup namespace is unshared by the init once it is in its cgroups.
            if not namespace.path and namespace.type not in ("cgroup", "user"):
                flags |= ns.FLAG_OF_TYPE[namespace.type]
        ns.unshare(flags)
        pid = os.fork()  # the init inherits our cgroups
        if pid == 0:
            run_init(args, child_sock, seccomp_filter)
        sync.send(child_sock, "pid", pid=pid)
        os._exit(0)
    except BaseException as err:  # noqa: B036 - a forked child must report everything and exit
        report_and_exit(child_sock, err)


def _build_seccomp_filter(config: Config, cache_dir: str | None) -> Filter | None:
    if config.seccomp is None:
        return None
    from wharf.runtime.seccomp import build_filter

    return build_filter(config.seccomp, cache_dir)


def run_init(args: InitArgs, sock: socket.socket, seccomp_filter: Filter | None) -> None:
    """Init G: build the container, wait on exec.fifo, become the user's process. Never returns."""
    try:
        config = args.config
        if config.process.oom_score_adj is not None:
            sync.expect(sock, "go")  # the parent sets our oom_score_adj first
        if args.new_keyring:
            try:
                process.join_session_keyring("_ses." + args.container_id)
            except OSError as err:
                if err.errno not in (errno.ENOSYS, errno.EACCES, errno.EPERM):  # no keyrings here: as runc
                    raise
        cgroup_ns = config.namespace("cgroup")
        if cgroup_ns is not None and not cgroup_ns.path:
            ns.unshare(ns.CLONE_NEWCGROUP)
        rootfs.prepare_root(config)
        rootfs.mount_all(config, args.cgroup_paths)
        rootfs.create_devices(config)
        if config.process.terminal:
            _setup_console(config, args.console_socket)
        if config.hooks.get("prestart") or config.hooks.get("createRuntime"):
            sync.send(sock, "hooks")  # the parent runs them in the runtime's namespaces
            sync.expect(sock, "hooks-done")
        if config.hooks.get("createContainer"):
            _run_container_hooks(args, "createContainer")
        if args.no_pivot:
            rootfs.move_root(config.rootfs)
        else:
            rootfs.pivot(config.rootfs)
        rootfs.apply_root_propagation(config)
        if config.hostname:
            process.sethostname(config.hostname)
        if config.domainname:
            process.setdomainname(config.domainname)
        rootfs.write_sysctls(config.sysctl)
        rootfs.finish_root(config)
        set_rlimits(config.process)
        enter_cwd(config.process.cwd)
        if not any(e.startswith("HOME=") for e in config.process.env):
            # As runc: a process without HOME gets the user's home from the container's /etc/passwd.
            config.process.env.append("HOME=" + home_of(config.process.uid))
        executable = find_executable(config.process.args[0], config.process.env)
        exe_guard.refuse_runtime_binary(executable)
        sync.send(sock, "ready")
    except BaseException as err:  # noqa: B036
        report_and_exit(sock, err)
    sock.close()
    try:
        _wait_for_start(args.fifo_fd)
        if config.hooks.get("startContainer"):
            _run_container_hooks(args, "startContainer")
        become_process(config.process, executable, args.preserve_fds, seccomp_filter)
    except BaseException as err:  # noqa: B036
        print_and_exit(err)


def preload(config: Config) -> None:
    """Import now what the init uses later: after pivot_root (or as a mapped root in a user namespace)
    the host's module files are out of reach. Only what this config needs: each costs time."""
    import wharf.linux.process  # noqa: F401

    if config.process.capabilities is not None:
        import wharf.linux.capabilities  # noqa: F401
    if config.process.rlimits:
        import resource  # noqa: F401
    if config.process.terminal:
        import array  # noqa: F401
        import fcntl  # noqa: F401
        import struct  # noqa: F401
        import termios  # noqa: F401

        import wharf.linux.pty  # noqa: F401
    if any(m.type == "cgroup" for m in config.mounts):
        import wharf.runtime.cgroups.v1  # noqa: F401
    if config.seccomp is not None:
        import wharf.linux.seccomp
        import wharf.runtime.seccomp  # noqa: F401

        wharf.linux.seccomp.library()  # dlopen while the host's libraries are reachable
    if config.hooks.get("startContainer"):
        import subprocess  # noqa: F401

        import wharf.runtime.hooks  # noqa: F401


def _run_container_hooks(args: InitArgs, kind: str) -> None:
    from wharf.runtime.hooks import run_hooks

    config = args.config
    state = {"ociVersion": config.oci_version, "id": args.container_id, "pid": os.getpid(),
             "status": "creating" if kind == "createContainer" else "created", "bundle": config.bundle,
             "annotations": config.annotations}
    run_hooks(kind, config.hooks[kind], state)


def _setup_console(config: Config, console_socket: socket.socket | None) -> None:
    if console_socket is None:
        raise OSError(22, "process.terminal is true but no --console-socket was given")
    setup_terminal(config.process, console_socket, config.rootfs)


def setup_terminal(proc: Process, console_socket: socket.socket, root: str = "") -> None:
    """Open a pty in the container's devpts (under ROOT until pivot_root, "" after), send the master over
    the console socket, make the slave our controlling terminal and stdio; with ROOT, bind it to /dev/console."""
    from wharf.linux import pty

    master, slave_name = pty.open_pty(rootfs.secure_join(root, "/dev/pts/ptmx") if root else "/dev/pts/ptmx")
    try:
        slave = os.open(rootfs.secure_join(root, slave_name) if root else slave_name, os.O_RDWR | os.O_NOCTTY)
        if proc.console_size:
            import fcntl
            import struct
            import termios

            height, width = proc.console_size
            fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", height, width, 0, 0))
        if root:
            rootfs.bind_console(root, slave_name)
        from array import array

        console_socket.sendmsg([b"/dev/ptmx"], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array("i", [master]))])
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


def set_rlimits(proc: Process) -> None:
    if not proc.rlimits:
        return
    import resource

    for limit in proc.rlimits:
        number = _RLIMITS.get(limit.type)
        if number is None:
            raise OSError(22, f"unknown rlimit {limit.type}")
        as_limit = [resource.RLIM_INFINITY if v >= 2**63 - 1 or v < 0 else v for v in (limit.soft, limit.hard)]
        resource.setrlimit(number, (as_limit[0], as_limit[1]))


def home_of(uid: int) -> str:
    try:
        with open("/etc/passwd") as f:
            for line in f:
                fields = line.rstrip("\n").split(":")
                if len(fields) >= 6 and fields[2] == str(uid):
                    return fields[5] or "/"
    except OSError:
        pass
    return "/"


def enter_cwd(cwd: str) -> None:
    """chdir to the process's cwd, which must be inside the container's root: a cwd of
    /proc/self/fd/N through a leaked host fd would put it outside (CVE-2024-21626)."""
    try:
        os.chdir(cwd)
        where = os.getcwd()  # fails (ENOENT) when the kernel says "(unreachable)"
    except OSError as err:
        raise OSError(err.errno, f"cwd {cwd}: {err.strerror}") from err
    if not where.startswith("/"):
        raise PermissionError(1, f"cwd {cwd}: outside of the container's root")


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


def become_process(proc: Process, executable: str, preserve_fds: int, seccomp_filter: Filter | None = None) -> None:
    """Drop to the process's user and capabilities, close every other fd, exec. Never returns.

    The seccomp filter goes on as late as it can: right before exec with no_new_privs, otherwise while we
    still hold CAP_SYS_ADMIN (loading a filter takes one or the other)."""
    if seccomp_filter is not None and not proc.no_new_privileges:
        seccomp_filter.load()
    wanted = None
    if proc.capabilities is not None:
        from wharf.linux import capabilities as caps  # preloaded: only a spec with capabilities needs it

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
        if seccomp_filter is not None:
            seccomp_filter.load()
    try:
        os.chdir(proc.cwd)  # again, as the user: runc allows a cwd only root can enter
    except PermissionError:
        pass
    # Ignored signals survive execve: Python ignores SIGPIPE and SIGXFSZ, a shim ignores SIGHUP. The
    # container starts with every signal at its default, as under runc (SigIgn 0).
    _default_signal_handling()
    signal.pthread_sigmask(signal.SIG_SETMASK, [])
    _close_fds_from(3 + preserve_fds)
    env: dict[str, str] = {}
    for entry in proc.env:
        key, _, value = entry.partition("=")
        env[key] = value
    os.execve(executable, proc.args, env)


def _default_signal_handling() -> None:
    for sig in range(1, signal.NSIG):
        if sig in (signal.SIGKILL, signal.SIGSTOP):
            continue
        try:
            signal.signal(sig, signal.SIG_DFL)
        except (OSError, ValueError):
            pass  # the C library's reserved real-time signals: never ignored by us


def _cap_numbers(names: list[str]) -> set[int]:
    from wharf.linux.capabilities import NUMBER_OF, last_cap

    top = last_cap()
    # Unknown names are skipped, as runc does, so a newer spec still runs on an older kernel.
    return {NUMBER_OF[n] for n in names if n in NUMBER_OF and NUMBER_OF[n] <= top}


def _close_fds_from(first: int) -> None:
    """Close every fd >= FIRST: no host file may reach the container (CVE-2024-21626). The fds are listed,
    not counted up to RLIMIT_NOFILE, which the spec may just have lowered below an open fd."""
    try:
        highest = max(int(name) for name in os.listdir("/proc/self/fd"))
    except (OSError, ValueError):
        highest = 1 << 20
    os.closerange(first, highest + 1)


def report_and_exit(sock: socket.socket, err: BaseException) -> None:
    try:
        sync.send(sock, "error", message=_describe(err))
    finally:
        os._exit(1)


def print_and_exit(err: BaseException) -> None:
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
        import traceback  # only for the unexpected: it costs milliseconds to import

        text += "\n" + "".join(traceback.format_exception(err))
    return text



