"""The runtime's verbs on an existing container (the CLI parses, these act)."""

from __future__ import annotations

import _signal as signal  # `signal` builds its enums at import: milliseconds on every call
import os
import select

from wharf import errdefs
from wharf.runtime import cgroups
from wharf.runtime.state import ContainerState, StateStore, Status


def start(store: StateStore, container_id: str) -> None:
    """Release a created container's init: open exec.fifo and read the init's byte."""
    state = store.load(container_id)
    status = store.status(state)
    if status != Status.CREATED:
        raise errdefs.FailedPrecondition(f"cannot start a container in the {status} state")
    fifo_path = store.fifo_path(container_id)
    # The init's pidfd before the fifo: once the fifo is open the init runs the user's program, which
    # may exit (and be reaped) at once; its byte is in the fifo all the same.
    try:
        pidfd = os.pidfd_open(state.pid)
    except ProcessLookupError as err:
        raise errdefs.System("container init exited before it could be started") from err
    try:
        fifo = os.open(fifo_path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError as err:
        os.close(pidfd)
        raise errdefs.FailedPrecondition("container was already started") from err
    try:
        poller = select.poll()
        poller.register(fifo, select.POLLIN)
        poller.register(pidfd, select.POLLIN)
        data = b""
        while not data:
            events = dict(poller.poll())
            if fifo in events:
                data = os.read(fifo, 1)
                if data:
                    break
                if events[fifo] & select.POLLHUP and pidfd not in events:
                    poller.unregister(fifo)  # writer came and went without a byte: wait on the process
            if pidfd in events:
                raise errdefs.System("container init exited before it could be started")
    finally:
        os.close(pidfd)
        os.close(fifo)
    os.unlink(fifo_path)
    if state.hooks.get("poststart"):
        from wharf.runtime.hooks import hooks_from_json, run_hooks

        try:
            run_hooks("poststart", hooks_from_json(state.hooks)["poststart"], state.hook_state(Status.RUNNING))
        except errdefs.WharfError:
            destroy(store, state)  # as runc: a failed poststart hook takes the container down
            raise


def parse_signal(text: str) -> int:
    text = text.strip().upper()
    if text.isdigit():
        number = int(text)
        if not 0 < number < 65:
            raise errdefs.InvalidArgument(f"invalid signal {text}")
        return number
    name = text if text.startswith("SIG") else "SIG" + text
    if name.startswith("SIGRTMIN+") or name.startswith("SIGRTMAX-"):
        base = signal.SIGRTMIN if name.startswith("SIGRTMIN") else signal.SIGRTMAX
        offset = int(name[9:])
        return base + offset if name.startswith("SIGRTMIN") else base - offset
    number = getattr(signal, name, None) if name[3:].isalnum() else None  # not SIG_DFL, SIG_BLOCK...
    if not isinstance(number, int):
        raise errdefs.InvalidArgument(f"unknown signal {text!r}")
    return number


def kill(store: StateStore, container_id: str, sig: int, all_processes: bool = False) -> None:
    state = store.load(container_id)
    status = store.status(state)
    if status == Status.STOPPED:
        raise errdefs.FailedPrecondition("container not running")
    if all_processes:
        manager = cgroups.from_saved(state.cgroup_version, state.cgroup_paths)
        for pid in manager.pids():
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        if status == Status.PAUSED:
            manager.thaw()  # a frozen task only dies once thawed
        return
    try:
        os.kill(state.pid, sig)
    except ProcessLookupError as err:
        raise errdefs.FailedPrecondition("container not running") from err


def delete(store: StateStore, container_id: str, force: bool = False) -> None:
    try:
        state = store.load(container_id)
    except errdefs.NotFound:
        unfinished = store.unfinished_create(container_id)
        if unfinished is not None and force:
            _remove_unfinished(store, container_id, unfinished)
            return
        if force:
            store.remove(container_id)
            return
        raise
    status = store.status(state)
    if status in (Status.RUNNING, Status.PAUSED) and not force:
        raise errdefs.FailedPrecondition(
            f"cannot delete container {container_id} that is not stopped: {status}"
        )
    destroy(store, state)


def destroy(store: StateStore, state: ContainerState) -> None:
    """Kill whatever is left of the container and remove its cgroups and state."""
    manager = cgroups.from_saved(state.cgroup_version, state.cgroup_paths)
    status = store.status(state)
    if status != Status.STOPPED:
        from wharf.linux.pidfd import kill_and_wait  # imports `signal`: only when there is a process

        if status == Status.PAUSED:
            os.kill(state.pid, signal.SIGKILL)  # queued now, delivered on thaw: nothing runs in between
            manager.thaw()
        kill_and_wait(state.pid)
    # Without a pid namespace the init's children outlive it: kill the rest of the cgroup too.
    leftovers = [pid for pid in _pids(manager)]
    if leftovers:
        from wharf.linux.pidfd import kill_and_wait

        if manager.is_frozen():
            manager.thaw()
        for pid in leftovers:
            kill_and_wait(pid)
    try:
        manager.destroy()
    except OSError as err:
        raise errdefs.System(f"removing cgroups: {err.strerror}: {err.filename}") from err
    store.remove(state.id)
    if state.hooks.get("poststop"):
        from wharf.runtime.hooks import hooks_from_json, run_hooks

        try:
            run_hooks("poststop", hooks_from_json(state.hooks)["poststop"], state.hook_state(Status.STOPPED))
        except errdefs.WharfError as err:
            import sys

            sys.stderr.write(f"wharf-runc: warning: {err}\n")  # the container is gone either way


def _remove_unfinished(store: StateStore, container_id: str, unfinished: dict) -> None:
    """A create killed midway: kill what runs in its cgroups (an init waiting to be set up or started),
    remove them and the state dir. The init's mounts lived in its mount namespace and went with it."""
    import time

    manager = cgroups.from_saved(int(unfinished.get("cgroup_version") or 1), dict(unfinished.get("cgroup_paths") or {}))
    deadline = time.monotonic() + 10
    while True:
        pids = _pids(manager)
        if not pids:
            break
        if manager.is_frozen():
            manager.thaw()
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if time.monotonic() > deadline:
            raise errdefs.System(f"container {container_id}: processes {pids} survive SIGKILL")
        time.sleep(0.005)
    try:
        manager.destroy()
    except FileNotFoundError:
        pass
    except OSError as err:
        raise errdefs.System(f"removing cgroups: {err.strerror}: {err.filename}") from err
    store.remove(container_id)


def _pids(manager: cgroups.CgroupManager) -> list[int]:
    try:
        return manager.pids()
    except OSError:
        return []


def pause(store: StateStore, container_id: str) -> None:
    state = store.load(container_id)
    status = store.status(state)
    if status != Status.RUNNING:
        raise errdefs.FailedPrecondition(f"cannot pause a container in the {status} state")
    cgroups.from_saved(state.cgroup_version, state.cgroup_paths).freeze()


def resume(store: StateStore, container_id: str) -> None:
    state = store.load(container_id)
    status = store.status(state)
    if status != Status.PAUSED:
        raise errdefs.FailedPrecondition(f"cannot resume a container in the {status} state")
    cgroups.from_saved(state.cgroup_version, state.cgroup_paths).thaw()


def processes(store: StateStore, container_id: str) -> list[int]:
    state = store.load(container_id)
    return _pids(cgroups.from_saved(state.cgroup_version, state.cgroup_paths))
