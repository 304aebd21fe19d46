"""The shim's control methods (docs/architecture.md, "Shim") over the init and its execs.

Each handler gets the request's params and a `reply` to call with a result dict or an errdefs error.
Most reply at once; `wait` and `delete` (of a process still being killed) reply when the exit is
final. Methods that act on one process take an optional `exec_id`; without it, the init.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable

from wharf import errdefs
from wharf.shim.process import CREATED, PAUSED, RUNNING, STOPPED, ExecProcess, Exit, InitProcess, Process

Reply = Callable[[dict | BaseException], None]

MAX_EXEC_ID = 128


def _exit_result(exit: Exit) -> dict:
    return {"exit_status": exit.status, "exited_at": exit.at}


class TaskService:
    def __init__(self, init: InitProcess, on_shutdown: Callable[[], None],
                 before_start: Callable[[], None] = lambda: None) -> None:
        self.init = init
        self.execs: dict[str, ExecProcess] = {}
        self.deleted = False
        self._before_start = before_start
        self._on_shutdown = on_shutdown

    @property
    def id(self) -> str:
        return self.init.options.id

    def handler(self, method: str) -> Callable[[dict, Reply], None]:
        handler = getattr(self, f"do_{method}", None) if method.isidentifier() else None
        if handler is None:
            raise errdefs.NotImplementedYet(f"unknown shim method: {method!r}")
        return handler

    def process(self, exec_id: str | None) -> Process:
        if not exec_id:
            return self.init
        try:
            return self.execs[exec_id]
        except KeyError:
            raise errdefs.NotFound(f"no exec {exec_id!r} in container {self.id}") from None

    def attach_target(self, exec_id: str | None) -> Process | None:
        try:
            return self.process(exec_id)
        except errdefs.NotFound:
            return None

    # --- methods --------------------------------------------------------------------------------

    def do_state(self, params: dict, reply: Reply) -> None:
        process = self.process(params.get("exec_id"))
        exit = process.exit
        state = {"id": self.id, "pid": process.pid, "status": process.status,
                 "exit_status": exit.status if exit else 0, "exited_at": exit.at if exit else 0,
                 "bundle": self.init.options.bundle}
        if params.get("exec_id"):
            state["exec_id"] = params["exec_id"]
        reply(state)

    def do_start(self, params: dict, reply: Reply) -> None:
        exec_id = params.get("exec_id")
        if exec_id:
            self._start_exec(self.process(exec_id), reply)  # type: ignore[arg-type]
            return
        if self.init.status != CREATED or self.init.reaped:
            word = STOPPED if self.init.reaped else self.init.status
            raise errdefs.FailedPrecondition(f"container {self.id} is {word}, not created")
        self._before_start()
        self.init.runtime.run("start", self.id)
        if self.init.status == CREATED:
            self.init.status = RUNNING
        self.init.take_available_output()
        reply({"pid": self.init.pid})

    def _start_exec(self, process: ExecProcess, reply: Reply) -> None:
        if process.status != CREATED:
            raise errdefs.FailedPrecondition(f"exec {process.exec_id} has been started already")
        if self.init.status != RUNNING or self.init.reaped:
            raise errdefs.FailedPrecondition(f"container {self.id} is not running")
        self._before_start()
        process.start()
        reply({"pid": process.pid})

    def do_exec(self, params: dict, reply: Reply) -> None:
        """Register an exec: `{exec_id, process: OCI process JSON, stdin, terminal}`; `start` runs it."""
        exec_id = params.get("exec_id")
        spec = params.get("process")
        if not isinstance(exec_id, str) or not exec_id or len(exec_id) > MAX_EXEC_ID \
                or "/" in exec_id or exec_id in (".", "..") or not exec_id.isprintable():
            raise errdefs.InvalidArgument(f"invalid exec id {exec_id!r}")
        if not isinstance(spec, dict) or not spec.get("args"):
            raise errdefs.InvalidArgument("exec needs an OCI process with args")
        if exec_id in self.execs:
            raise errdefs.AlreadyExists(f"exec {exec_id} exists in container {self.id}")
        if self.init.reaped or self.deleted:
            raise errdefs.FailedPrecondition(f"container {self.id} is not running")
        terminal = bool(params.get("terminal", spec.get("terminal", False)))
        spec = {**spec, "terminal": terminal}
        self.execs[exec_id] = ExecProcess(self.init, exec_id, spec, stdin=bool(params.get("stdin")),
                                          terminal=terminal)
        reply({})

    def do_kill(self, params: dict, reply: Reply) -> None:
        signal = params.get("signal", 15)
        exec_id = params.get("exec_id")
        if exec_id:
            process = self.process(exec_id)
            assert isinstance(process, ExecProcess)
            process.kill(_signal_number(signal))
            reply({})
            return
        if self.init.reaped and not params.get("all"):
            raise errdefs.NotFound("process already finished")
        try:
            self.init.runtime.run("kill", *(["--all"] if params.get("all") else []), self.id, str(signal))
        except errdefs.FailedPrecondition as err:
            # The init exited after all, its exit not reaped yet (containerd answers the same).
            if "not running" in str(err) or "no such process" in str(err).lower():
                raise errdefs.NotFound(f"process already finished: {err}") from err
            raise
        reply({})

    def do_wait(self, params: dict, reply: Reply) -> None:
        self.process(params.get("exec_id")).on_exit(lambda exit: reply(_exit_result(exit)))

    def do_delete(self, params: dict, reply: Reply) -> None:
        exec_id = params.get("exec_id")
        if exec_id:
            self._delete_exec(self.process(exec_id), reply)  # type: ignore[arg-type]
            return
        force = bool(params.get("force"))
        if self.deleted:
            self.init.on_exit(lambda exit: reply(_exit_result(exit)))
            return
        if self.init.status in (RUNNING, PAUSED) and not self.init.reaped and not force:
            raise errdefs.FailedPrecondition(f"cannot delete container {self.id}: it is {self.init.status}; "
                                             "stop it first")
        try:
            self.init.runtime.run("delete", *(["--force"] if force else []), self.id)
        except errdefs.NotFound:
            pass  # the runtime has no state left for it: deleted already
        self.deleted = True
        # A created (or force-deleted) init has just been killed: answer once it is reaped.
        self.init.on_exit(lambda exit: reply(_exit_result(exit)))

    def _delete_exec(self, process: ExecProcess, reply: Reply) -> None:
        if process.status == RUNNING and not process.reaped:
            raise errdefs.FailedPrecondition(f"exec {process.exec_id} is running")
        del self.execs[process.exec_id]
        process.remove_files()
        exit = process.exit
        reply(_exit_result(exit) if exit else {"exit_status": 0, "exited_at": 0})

    def do_close_stdin(self, params: dict, reply: Reply) -> None:
        process = self.process(params.get("exec_id"))
        if process.stdin is not None:
            process.stdin.close()
        reply({})

    def do_resize(self, params: dict, reply: Reply) -> None:
        process = self.process(params.get("exec_id"))
        if not process.terminal:
            raise errdefs.FailedPrecondition("the process has no terminal")
        try:
            width, height = int(params["width"]), int(params["height"])
        except (KeyError, TypeError, ValueError) as err:
            raise errdefs.InvalidArgument("resize needs integer width and height") from err
        if isinstance(process, ExecProcess) and process.status == CREATED:
            # No pty yet: the runtime sizes it from the process spec when it makes it.
            process.spec["consoleSize"] = {"height": height, "width": width}
            reply({})
            return
        master = process.terminal_fd()
        if master < 0:
            raise errdefs.FailedPrecondition("the terminal is closed")
        import fcntl
        import struct
        import termios

        fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", height, width, 0, 0))
        reply({})

    def do_pause(self, params: dict, reply: Reply) -> None:
        if self.init.status != RUNNING or self.init.reaped:
            raise errdefs.FailedPrecondition(f"container {self.id} is not running")
        self.init.runtime.run("pause", self.id)
        self.init.status = PAUSED
        reply({})

    def do_resume(self, params: dict, reply: Reply) -> None:
        if self.init.status != PAUSED:
            raise errdefs.FailedPrecondition(f"container {self.id} is not paused")
        self.init.runtime.run("resume", self.id)
        if self.init.status == PAUSED:
            self.init.status = RUNNING
        reply({})

    def do_pids(self, params: dict, reply: Reply) -> None:
        if self.init.reaped:
            reply({"pids": []})
            return
        listed = json.loads(self.init.runtime.run("ps", "--format", "json", self.id) or b"[]")
        reply({"pids": [int(pid) for pid in listed or []]})

    def do_update(self, params: dict, reply: Reply) -> None:
        """`{resources: OCI linux.resources, annotations: {..}}`: the runtime's `update`, then the
        bundle's config.json keeps them (as containerd does), devices rules as they were."""
        resources = params.get("resources")
        annotations = params.get("annotations") or {}
        if not isinstance(resources, dict) or not isinstance(annotations, dict):
            raise errdefs.InvalidArgument("update needs resources (an OCI linux.resources object)")
        if self.init.status not in (RUNNING, PAUSED) or self.init.reaped or self.deleted:
            raise errdefs.FailedPrecondition(f"container {self.id} is not running")
        resources = {key: value for key, value in resources.items() if key != "devices"}
        spec = _read_bundle_spec(self.init.options.bundle)
        for step in update_steps((spec.get("linux") or {}).get("resources") or {}, resources):
            self.init.runtime.update(self.id, step, self.init.state_dir)
        _store_in_bundle(self.init.options.bundle, spec, resources, annotations)
        reply({})

    def do_shutdown(self, params: dict, reply: Reply) -> None:
        if not self.deleted:
            raise errdefs.FailedPrecondition("delete the task before shutting its shim down")
        self._on_shutdown()
        reply({})


def update_steps(current: dict, wanted: dict) -> list[dict]:
    """The `update` calls that take the cgroups from `current` to `wanted` (both linux.resources).
    A memory limit above the memory+swap limit in force is refused by the kernel, so then the
    new swap limit goes first, alone (runc orders its writes so; a runtime that writes the
    memory limit first would fail without this)."""
    old_swap = int((current.get("memory") or {}).get("swap") or 0)
    memory = wanted.get("memory") or {}
    limit, swap = int(memory.get("limit") or 0), memory.get("swap")
    if swap is not None and old_swap > 0 and limit > old_swap:
        return [{"memory": {"swap": swap}}, wanted]
    return [wanted]


def _bundle_config(bundle: str) -> str:
    return os.path.join(bundle, "config.json")


def _read_bundle_spec(bundle: str) -> dict:
    try:
        with open(_bundle_config(bundle)) as file:
            spec = json.load(file)
    except (OSError, ValueError) as err:
        raise errdefs.FailedPrecondition(f"reading the bundle's config.json: {err}") from None
    return spec if isinstance(spec, dict) else {}


def _store_in_bundle(bundle: str, spec: dict, resources: dict, annotations: dict) -> None:
    """config.json gets the new limits, so what the bundle says is what the cgroups hold (the
    device rules stay as they were made)."""
    linux = spec.setdefault("linux", {})
    devices = (linux.get("resources") or {}).get("devices")
    linux["resources"] = {**resources, **({"devices": devices} if devices is not None else {})}
    if annotations:
        spec["annotations"] = {**(spec.get("annotations") or {}), **{str(k): str(v) for k, v in annotations.items()}}
    path = _bundle_config(bundle)
    temporary = f"{path}.tmp"
    with open(temporary, "w") as file:
        json.dump(spec, file)
    os.replace(temporary, path)


def _signal_number(signal: object) -> int:
    if isinstance(signal, int):
        return signal
    import signal as signals

    name = str(signal).upper()
    if name.isdigit():
        return int(name)
    try:
        return int(signals.Signals[name if name.startswith("SIG") else f"SIG{name}"])
    except KeyError:
        raise errdefs.InvalidArgument(f"unknown signal {signal!r}") from None
