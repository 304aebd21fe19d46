"""`exec`: run another process in a running container's namespaces and cgroups.

    exec (parent P)                                 process G
    setns(pid of the init): our children are born there
    non-dumpable (unless the container has a user namespace): G inherits it
    fork into the container's v2 cgroup ──────────▶ writes 0 to each v1 `tasks` (cgroups.SelfJoin)
    (cgroups.SelfJoin)                               setns(user, ipc, uts, net, cgroup, mnt of the init),
                                                     console, rlimits, finds the executable
           ◀── {"type":"ready"} ────────────────────  (or {"type":"error","message":M}); user, caps, exec
    --detach: write the pid file, exit 0; otherwise wait for G, exit with its status.

runc forks twice (its first child joins the namespaces, the second is born in the pid namespace);
joining the pid namespace in the parent, which runs nothing else in it, saves a fork and a round
trip on every exec.
"""

from __future__ import annotations

import os

from wharf import errdefs
from wharf.runtime import cgroups, specconv, sync
from wharf.runtime import jsonlite as json
from wharf.runtime.state import StateStore, Status

TYPE_CHECKING = False  # importing typing costs milliseconds on every run
if TYPE_CHECKING:
    import _socket as socket
    from typing import Any


_JOIN_ORDER = ("user", "ipc", "uts", "net", "pid", "cgroup", "mnt")


def exec_process(
    store: StateStore,
    container_id: str,
    proc: specconv.Process,
    *,
    detach: bool = False,
    pid_file: str = "",
    console_socket: str = "",
    preserve_fds: int = 0,
) -> int:
    state = store.load(container_id)
    status = store.status(state)
    if status != Status.RUNNING and status != Status.CREATED:
        raise errdefs.FailedPrecondition(f"cannot exec in a {status} container")
    if proc.terminal and not console_socket:
        raise errdefs.InvalidArgument("--tty needs --console-socket")
    console = None
    if console_socket:
        from wharf.runtime.create import _connect_console

        console = _connect_console(console_socket)
    from wharf.linux.process import set_child_subreaper

    if not detach:
        set_child_subreaper()
    try:
        seccomp = specconv.load_bundle(state.bundle).seccomp  # exec'd processes get the container's filter
    except errdefs.WharfError:
        seccomp = None
    manager = cgroups.from_saved(state.cgroup_version, state.cgroup_paths)
    namespace_fds = _open_namespaces(state.pid)
    try:
        pid_namespace = namespace_fds.pop("pid", -1)
        if pid_namespace >= 0:
            from wharf.linux import namespaces as ns

            try:
                ns.setns(pid_namespace, ns.CLONE_NEWPID)
            except OSError as err:
                raise errdefs.System(f"joining the container's pid namespace: {err.strerror}") from err
            finally:
                os.close(pid_namespace)
        if "user" not in namespace_fds:
            from wharf.runtime import exe_guard

            exe_guard.make_non_dumpable()  # inherited by G, before it shows in the container's pid namespace
        parent_sock, child_sock = sync.pair()
        pid, cgroup_join = cgroups.fork_joining(manager)
        if pid == 0:
            parent_sock.close()
            _run(cgroup_join, namespace_fds, proc, console, child_sock, preserve_fds, seccomp, store.seccomp_cache)
    finally:
        for fd in namespace_fds.values():
            os.close(fd)
        if console is not None:
            console.close()
    child_sock.close()
    try:
        sync.expect(parent_sock, "ready")
    except BaseException:
        from wharf.linux.pidfd import kill_and_wait

        kill_and_wait(pid)
        raise
    finally:
        parent_sock.close()
    if pid_file:
        from wharf.runtime.create import _write_pid_file

        _write_pid_file(pid_file, pid)
    if detach:
        return 0
    from wharf.runtime.verbs import _forward_signals, _wait_for

    _forward_signals(pid)
    return _wait_for(pid)


def _open_namespaces(pid: int) -> dict[str, int]:
    """The init's namespaces that differ from ours, opened now (before we fork) so a dying init can't race us."""
    fds: dict[str, int] = {}
    for name in _JOIN_ORDER:
        theirs = f"/proc/{pid}/ns/{name}"
        try:
            if os.stat(theirs).st_ino == os.stat(f"/proc/self/ns/{name}").st_ino:
                continue
            fds[name] = os.open(theirs, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            continue
    return fds


def _run(cgroup_join: cgroups.SelfJoin, namespace_fds: dict[str, int], proc: specconv.Process,
         console: socket.socket | None, sock: socket.socket, preserve_fds: int,
         seccomp: specconv.Seccomp | None, seccomp_cache: str) -> None:
    """G: into the cgroups and namespaces, then become the process. Never returns."""
    from wharf.linux import namespaces as ns
    from wharf.runtime import exe_guard, init

    try:
        cgroup_join.join_self()
        init.preload(specconv.Config("", "", "", False, proc, seccomp=seccomp))
        exe_guard.remember_own_exe()
        seccomp_filter = None
        if seccomp is not None:
            from wharf.runtime.seccomp import build_filter

            seccomp_filter = build_filter(seccomp, seccomp_cache)
        for name in _JOIN_ORDER:
            if name in namespace_fds:
                ns.setns(namespace_fds[name])
                os.close(namespace_fds[name])
        if proc.terminal and console is not None:
            init.setup_terminal(proc, console)
        init.set_rlimits(proc)
        init.enter_cwd(proc.cwd)
        if not any(e.startswith("HOME=") for e in proc.env):
            proc.env.append("HOME=" + init.home_of(proc.uid))
        executable = init.find_executable(proc.args[0], proc.env)
        exe_guard.refuse_runtime_binary(executable)
        sync.send(sock, "ready")
        sock.close()
        init.become_process(proc, executable, preserve_fds, seccomp_filter)
    except BaseException as err:  # noqa: B036 - a forked child reports everything and exits
        init.report_and_exit(sock, err)


def process_from_cli(store: StateStore, container_id: str, flags: dict[str, Any], args: list[str]) -> specconv.Process:
    """The process to exec: --process FILE, or the container's own process with the CLI's changes."""
    process_file = str(flags.get("process") or "")
    if process_file:
        try:
            with open(process_file) as f:
                data = json.load(f)
        except (OSError, ValueError) as err:
            raise errdefs.InvalidArgument(f"--process {process_file}: {err}") from err
        return specconv.parse_process(data)
    if not args:
        raise errdefs.InvalidArgument("exec: no command given (use ID COMMAND [ARG...] or --process)")
    bundle = store.load(container_id).bundle
    proc = specconv.load_bundle(bundle).process
    proc.args = list(args)
    proc.terminal = bool(flags.get("tty"))
    proc.env = proc.env + list(flags.get("env") or [])
    if flags.get("cwd"):
        proc.cwd = str(flags["cwd"])
    user = str(flags.get("user") or "")
    if user:
        uid, _, gid = user.partition(":")
        try:
            proc.uid, proc.gid = int(uid), int(gid or 0)
        except ValueError as err:
            raise errdefs.InvalidArgument(f"--user {user!r}: expected UID[:GID]") from err
    if flags.get("additional-gids"):
        proc.additional_gids = [int(g) for g in flags["additional-gids"]]
    if flags.get("cap") and proc.capabilities is not None:
        for name in flags["cap"]:
            for kind in ("bounding", "effective", "permitted", "inheritable"):
                getattr(proc.capabilities, kind).append(str(name))
    if flags.get("no-new-privs"):
        proc.no_new_privileges = True
    return proc
