"""`create`: build a container and leave its init waiting on exec.fifo (parent side; see sync.py).

Anything that fails before the container is created is undone: the init is killed (its mounts die
with its mount namespace), the cgroups and the state dir are removed.
"""

from __future__ import annotations

# `_socket`/`_signal` rather than `socket`/`signal`: those build enums at import (~3 ms a call).
import _signal as signal
import _socket as socket
import os
import time

from wharf import errdefs
from wharf.runtime import cgroups, specconv, sync
from wharf.runtime.init_args import InitArgs
from wharf.runtime.state import EXEC_FIFO, ContainerState, StateStore

_INIT_MESSAGES = ("hooks", "ready")
"""What the init (not the bootstrap) sends the parent."""


def create_container(
    store: StateStore,
    container_id: str,
    bundle: str,
    *,
    pid_file: str = "",
    console_socket: str = "",
    preserve_fds: int = 0,
    no_pivot: bool = False,
    new_keyring: bool = True,
    subreaper: bool = False,
) -> ContainerState:
    config = specconv.load_bundle(bundle)
    if config.process.terminal and not console_socket:
        raise errdefs.InvalidArgument("process.terminal is true: --console-socket is required")
    if console_socket and not config.process.terminal:
        raise errdefs.InvalidArgument("--console-socket given but process.terminal is false")
    state_dir = store.make_dir(container_id)
    cgroup = None
    init_pid = 0
    try:
        fifo = os.path.join(state_dir, EXEC_FIFO)
        old_umask = os.umask(0)
        try:
            os.mkfifo(fifo, 0o622)
        finally:
            os.umask(old_umask)
        fifo_fd = os.open(fifo, os.O_PATH | os.O_CLOEXEC)
        cgroup = cgroups.for_container(config.cgroups_path, container_id)
        store.mark_creating(container_id, cgroup.version, cgroup.paths)
        try:
            cgroup.create(config.resources)
        except OSError as err:
            raise errdefs.System(f"cgroups: {err.strerror or err}: {err.filename or ''}") from err
        console = _connect_console(console_socket) if console_socket else None
        parent_sock, child_sock = sync.pair()
        args = InitArgs(container_id, config, fifo_fd, cgroup.paths, console, preserve_fds, no_pivot, new_keyring,
                        seccomp_cache=store.seccomp_cache)
        # The bootstrap is born in the container's cgroups, or moves itself there first thing, as
        # runc's first child does: the init it forks later inherits them.
        bootstrap_pid, cgroup_join = cgroups.fork_joining(cgroup)
        if bootstrap_pid == 0:
            parent_sock.close()
            _run_bootstrap(args, child_sock, cgroup_join)
        if subreaper:
            from wharf.linux.process import set_child_subreaper

            set_child_subreaper()  # `run` waits for the init, our grandchild: before the bootstrap exits
        child_sock.close()
        os.close(fifo_fd)
        if console is not None:
            console.close()
        try:
            early: list[dict] = []  # what the init said before the bootstrap's "pid"
            message = sync.receive(parent_sock)
            if message.get("type") == "userns":
                _write_id_maps(int(message["pid"]), config)
                sync.send(parent_sock, "mapped")
                message = sync.receive(parent_sock)
            # The bootstrap and the init share the socket: a fast init's first word may come before
            # the bootstrap's "pid" (the bootstrap is not scheduled at once after its fork).
            while message.get("type") in _INIT_MESSAGES:
                early.append(message)
                message = sync.receive(parent_sock)
            if message.get("type") != "pid":
                raise errdefs.System(f"container init protocol: unexpected {message.get('type')!r}")
            init_pid = int(message["pid"])
        finally:
            try:
                os.waitpid(bootstrap_pid, 0)
            except ChildProcessError:
                pass  # our caller ignores SIGCHLD: the kernel reaped it already
        if config.process.oom_score_adj is not None:
            # Written from here: lowering it takes CAP_SYS_RESOURCE in the host's user namespace. The
            # init waits for "go" only then (it is in the cgroups already: no other reason to wait).
            with open(f"/proc/{init_pid}/oom_score_adj", "w") as f:
                f.write(str(config.process.oom_score_adj))
            sync.send(parent_sock, "go")
        message = early.pop(0) if early else sync.receive(parent_sock)
        if message.get("type") == "hooks":
            _run_runtime_hooks(config, container_id, init_pid)
            sync.send(parent_sock, "hooks-done")
            message = sync.receive(parent_sock)
        if message.get("type") != "ready":
            raise errdefs.System(f"container init protocol: unexpected {message.get('type')!r}")
        parent_sock.close()
        from wharf.linux.procfs import proc_start_time

        state = ContainerState(
            id=container_id,
            pid=init_pid,
            start_time=proc_start_time(init_pid) or 0,
            bundle=config.bundle,
            rootfs=config.rootfs,
            created=_rfc3339_now(),
            oci_version=config.oci_version,
            owner="",
            annotations=config.annotations,
            cgroup_version=cgroup.version,
            cgroup_paths=cgroup.paths,
            namespace_paths={n.type: n.path for n in config.namespaces if n.path},
            hooks=_later_hooks(config),
        )
        store.save(state)
        store.creation_done(container_id)
        if pid_file:
            _write_pid_file(pid_file, init_pid)
        return state
    except BaseException:
        if init_pid:
            from wharf.linux.pidfd import kill_and_wait

            kill_and_wait(init_pid)
        if cgroup is not None:
            try:
                for pid in cgroup.pids():
                    os.kill(pid, signal.SIGKILL)
                cgroup.destroy()
            except OSError:
                pass
        store.remove(container_id)
        raise


def _run_bootstrap(args: InitArgs, child_sock: socket.socket, cgroup_join: cgroups.SelfJoin) -> None:
    """In the forked child: into the cgroups, then its heavy imports (ctypes, mounts, namespaces).
    Never returns."""
    try:
        cgroup_join.join_self()
        from wharf.runtime.init import bootstrap
    except BaseException as err:  # noqa: B036 - a forked child must report everything and exit
        try:
            from wharf.runtime import sync as child_sync

            what = f"importing the container init: {err}" if isinstance(err, ImportError) else str(err)
            child_sync.send(child_sock, "error", message=f"wharf-runc: {what}")
        finally:
            os._exit(1)
    bootstrap(args, child_sock)


def _later_hooks(config: specconv.Config) -> dict:
    """The poststart/poststop hooks, kept in the state for `start` and `delete`."""
    later = {k: v for k, v in config.hooks.items() if k in ("poststart", "poststop") and v}
    if not later:
        return {}
    from wharf.runtime.hooks import hooks_to_json

    return hooks_to_json(later)


def _write_id_maps(pid: int, config: specconv.Config) -> None:
    try:
        for name, mappings in (("uid_map", config.uid_mappings), ("gid_map", config.gid_mappings)):
            with open(f"/proc/{pid}/{name}", "w") as f:
                f.write("".join(f"{m.container_id} {m.host_id} {m.size}\n" for m in mappings))
    except OSError as err:
        raise errdefs.InvalidArgument(f"writing the user namespace's id maps: {err.strerror}") from err


def _run_runtime_hooks(config: specconv.Config, container_id: str, pid: int) -> None:
    from wharf.runtime.hooks import run_hooks

    state = {"ociVersion": config.oci_version, "id": container_id, "pid": pid, "status": "creating",
             "bundle": config.bundle, "annotations": config.annotations}
    for kind in ("prestart", "createRuntime"):
        if config.hooks.get(kind):
            run_hooks(kind, config.hooks[kind], state)


def _connect_console(path: str) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(path)
    except OSError as err:
        sock.close()
        raise errdefs.InvalidArgument(f"console socket {path}: {err.strerror}") from err
    return sock


def _write_pid_file(path: str, pid: int) -> None:
    path = os.path.abspath(path)
    tmp = os.path.join(os.path.dirname(path), "." + os.path.basename(path))
    with open(tmp, "w") as f:
        f.write(str(pid))
    os.rename(tmp, path)


def _rfc3339_now() -> str:
    ns = time.time_ns()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ns // 1_000_000_000)) + f".{ns % 1_000_000_000:09d}Z"
