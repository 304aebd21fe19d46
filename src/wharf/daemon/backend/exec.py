"""`docker exec`: extra processes in a running container, run by its shim through the supervisor.

An exec is created (its OCI process built here from the container's: capabilities, rlimits,
environment; the user resolved by the supervisor against the rootfs), then started detached or with
the client's hijacked connection attached to its stdio (connected to the shim before the process
runs, so no output is lost). A waiter records its exit code and then forgets it in the shim.
Exec records live in memory, as Docker's do, until their container is gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from wharf import errdefs
from wharf.daemon import ocispec
from wharf.daemon.backend.attach import AttachOptions, ClientConnection, ShimAttachment, parse_detach_keys
from wharf.daemon.backend.events import EventBus
from wharf.daemon.backend.links import LINK_ENV_ANNOTATION
from wharf.daemon.backend.record import ContainerRecord
from wharf.daemon.backend.state import Status
from wharf.daemon.backend.supervisor import Supervisor

log = logging.getLogger("wharfd.exec")

EXIT_WAIT_TIMEOUT = 5.0
"""After the output ended, how long an attached start waits for the exit code before answering."""
EXIT_UNKNOWN = 255
EXIT_CANNOT_INVOKE = 126
MAX_CACHED_SPECS = 256


@dataclass
class ExecRecord:
    id: str
    container_id: str
    cmd: list[str]
    tty: bool
    attach_stdin: bool
    attach_stdout: bool
    attach_stderr: bool
    privileged: bool
    user: str
    detach_keys: str
    console_size: tuple[int, int] | None = None
    """(height, width) asked at create (API 1.42+), used if the start asks none."""
    started: bool = False
    running: bool = False
    pid: int = 0
    exit_code: int | None = None
    exited: asyncio.Event = field(default_factory=asyncio.Event)
    attach_socket: str = ""
    """The shim's attach endpoint, as the supervisor named it when the exec was made."""
    start_settled: asyncio.Event = field(default_factory=asyncio.Event)
    """Set once the start has succeeded (and said so) or failed: the exit is recorded only after."""
    registration: asyncio.Task[None] | None = None
    """The supervisor being told of the exec (its process built, its user resolved): begun at
    create, awaited by the start, whose error its failure becomes (as Docker's runtime errors)."""

    def inspect(self) -> dict[str, Any]:
        """Docker's ExecInspect."""
        return {
            "ID": self.id,
            "Running": self.running,
            "ExitCode": self.exit_code,
            "ProcessConfig": {
                "tty": self.tty,
                "entrypoint": self.cmd[0] if self.cmd else "",
                "arguments": self.cmd[1:],
                "privileged": self.privileged,
                **({"user": self.user} if self.user else {}),
            },
            "OpenStdin": self.attach_stdin,
            "OpenStderr": self.attach_stderr,
            "OpenStdout": self.attach_stdout,
            "CanRemove": False,
            "ContainerID": self.container_id,
            "DetachKeys": self.detach_keys,
            "Pid": self.pid,
        }


def build_exec_process(
    container_spec: dict[str, Any], container_config: dict[str, Any], body: dict[str, Any]
) -> dict[str, Any]:
    """The OCI process of an exec: the container's process (capabilities, rlimits, no-new-privileges)
    with the exec's args, environment (Docker's daemon environment + the container's Env + the
    exec's Env), working dir and terminal."""
    process = copy.deepcopy(container_spec.get("process") or {})
    tty = bool(body.get("Tty"))
    env = ocispec.process_env({"Tty": tty, "Env": container_config.get("Env") or []},
                              str(container_config.get("Hostname") or ""))
    env += _link_env(container_spec, env)
    for entry in body.get("Env") or []:
        key = str(entry).split("=", 1)[0]
        env = [e for e in env if e.split("=", 1)[0] != key]
        env.append(str(entry))
    process.update({
        "args": [str(a) for a in body["Cmd"]],
        "env": env,
        "cwd": body.get("WorkingDir") or process.get("cwd") or "/",
        "terminal": tty,
    })  # fmt: skip
    process.pop("consoleSize", None)
    if body.get("Privileged"):
        caps = ocispec.host_capabilities()
        process["capabilities"] = {"bounding": caps, "effective": caps, "permitted": caps}
    if body.get("User"):
        process["user"] = {"uid": 0, "gid": 0}  # the supervisor resolves the user into it
    return process


def _link_env(container_spec: dict[str, Any], env: list[str]) -> list[str]:
    """The legacy links' variables the container started with (moby gives them to execs too),
    unless its own Env sets the same names."""
    keys = set(json.loads((container_spec.get("annotations") or {}).get(LINK_ENV_ANNOTATION) or "[]"))
    taken = {entry.split("=", 1)[0] for entry in env}
    started_with = (container_spec.get("process") or {}).get("env") or []
    return [e for e in started_with if e.split("=", 1)[0] in keys and e.split("=", 1)[0] not in taken]


def console_size_of(body: dict[str, Any]) -> tuple[int, int] | None:
    """`ConsoleSize: [height, width]` of an exec create or start body (API 1.42+); None if unset."""
    size = body.get("ConsoleSize")
    if isinstance(size, list) and len(size) == 2 and all(isinstance(v, int) and v > 0 for v in size):
        return int(size[0]), int(size[1])
    return None


def _check_running(record: ContainerRecord) -> None:
    if record.state.status is Status.PAUSED:
        raise errdefs.Conflict(f"Container {record.id} is paused, unpause the container before exec")
    if record.state.status is not Status.RUNNING:
        raise errdefs.Conflict(f"Container {record.id} is not running")


class ExecService:
    def __init__(
        self, supervisor: Supervisor, events: EventBus, find_container: Callable[[str], ContainerRecord]
    ) -> None:
        self._supervisor = supervisor
        self._events = events
        self._find_container = find_container
        self._execs: dict[str, ExecRecord] = {}
        self._waiters: set[asyncio.Task[None]] = set()
        # container id -> (its task's pid, its running spec's process and annotations): what an exec
        # builds on, fixed while the task lives, so the next exec skips asking the supervisor.
        self._specs: dict[str, tuple[int, dict[str, Any]]] = {}

    def get(self, exec_id: str) -> ExecRecord:
        record = self._execs.get(exec_id)
        if record is None:
            raise errdefs.NotFound(f"No such exec instance: {exec_id}")
        return record

    def ids_of(self, container_id: str) -> list[str]:
        """Container inspect's ExecIDs: the execs of a running container."""
        return [e.id for e in self._execs.values() if e.container_id == container_id and e.exit_code is None]

    def _forget_removed_containers(self) -> None:
        for exec_id, record in list(self._execs.items()):
            try:
                self._find_container(record.container_id)
            except errdefs.NotFound:
                del self._execs[exec_id]
        for container_id in list(self._specs):
            try:
                self._find_container(container_id)
            except errdefs.NotFound:
                del self._specs[container_id]

    async def _spec_of(self, container: ContainerRecord) -> dict[str, Any]:
        """The parts of the container's running spec an exec builds on."""
        pid = container.state.pid
        cached = self._specs.get(container.id)
        if cached is not None and cached[0] == pid:
            return cached[1]
        spec = (await self._supervisor.containers.get(container.id)).spec
        wanted = {"process": spec.get("process") or {}, "annotations": spec.get("annotations") or {}}
        if len(self._specs) >= MAX_CACHED_SPECS:
            del self._specs[next(iter(self._specs))]
        self._specs[container.id] = (pid, wanted)
        return wanted

    def _publish(self, container: ContainerRecord, action: str, exec_id: str, **extra: str) -> None:
        attributes = {"image": str(container.config.get("Image", "")), "name": container.name.lstrip("/"),
                      "execID": exec_id, **extra}
        self._events.publish("container", action, container.id, attributes)

    async def create(self, ref: str, body: Any) -> str:
        """Validate and record the exec; the supervisor learns of it in the background, while the
        client reads the answer and asks for the start (which waits for it)."""
        container = self._find_container(ref)
        if not isinstance(body, dict):
            raise errdefs.InvalidArgument("exec config cannot be empty")
        cmd = body.get("Cmd")
        if not cmd or not isinstance(cmd, list):
            raise errdefs.InvalidArgument("No exec command specified")
        # The route checked the entries' types; a null one is Go's "": an argument, an empty Env
        # entry (left out).
        cmd = ["" if argument is None else argument for argument in cmd]
        body = {**body, "Cmd": cmd, "Env": [entry for entry in body.get("Env") or [] if entry]}
        _check_running(container)
        self._forget_removed_containers()
        exec_id = secrets.token_hex(32)
        record = ExecRecord(
            id=exec_id, container_id=container.id, cmd=[str(c) for c in cmd], tty=bool(body.get("Tty")),
            attach_stdin=bool(body.get("AttachStdin")), attach_stdout=bool(body.get("AttachStdout")),
            attach_stderr=bool(body.get("AttachStderr")), privileged=bool(body.get("Privileged")),
            user=str(body.get("User") or ""), detach_keys=str(body.get("DetachKeys") or ""),
            console_size=console_size_of(body),
        )  # fmt: skip
        record.registration = asyncio.create_task(self._register(record, container, body),
                                                  name=f"exec-register-{exec_id[:12]}")
        record.registration.add_done_callback(_consume_error)  # an exec never started fails unheard
        self._execs[exec_id] = record
        self._publish(container, f"exec_create: {' '.join(str(c) for c in cmd)}", exec_id)
        return exec_id

    async def _register(self, record: ExecRecord, container: ContainerRecord, body: dict[str, Any]) -> None:
        try:
            process = build_exec_process(await self._spec_of(container), container.config, body)
            user = str(body.get("User") or container.config.get("User") or "")
            info = await self._supervisor.tasks.exec(
                container.id, record.id, process, stdin=record.attach_stdin, terminal=record.tty, user=user,
            )  # fmt: skip
        except (errdefs.WharfError, asyncio.CancelledError):
            raise
        except Exception as err:
            # A fault of ours is still the start's failure, told to the client in the stream it
            # is already reading (raised bare, it would end the hijacked connection unexplained).
            log.exception("exec %s: registration failed", record.id)
            raise errdefs.System(f"exec failed: {err}") from err
        record.attach_socket = info.attach_socket

    def check_startable(self, exec_id: str) -> ExecRecord:
        """Errors a start answers with before any hijack (409s as Docker's)."""
        record = self.get(exec_id)
        if record.running:
            raise errdefs.Conflict(f"Error: Exec command {exec_id} is already running")
        if record.started:
            raise errdefs.Conflict(f"Error: Exec command {exec_id} has already run")
        _check_running(self._find_container(record.container_id))
        return record

    async def _registered(self, record: ExecRecord) -> None:
        """Wait for the exec's registration; its failure is a failed start (exit code 126)."""
        assert record.registration is not None
        try:
            await asyncio.shield(record.registration)
        except errdefs.WharfError:
            record.started = True
            record.exit_code = EXIT_CANNOT_INVOKE
            record.exited.set()
            record.start_settled.set()
            raise

    async def _start(self, record: ExecRecord, console_size: tuple[int, int] | None) -> None:
        record.started = True
        console_size = console_size or record.console_size
        if console_size and record.tty:
            with contextlib.suppress(errdefs.WharfError):
                await self._supervisor.tasks.resize_exec(record.container_id, record.id,
                                                         console_size[1], console_size[0])
        # The wait is asked first, so it is already waiting at the shim when the process exits: a
        # short exec's exit code is known a round trip sooner.
        waiter = asyncio.create_task(self._wait(record), name=f"exec-wait-{record.id[:12]}")
        self._waiters.add(waiter)
        waiter.add_done_callback(self._waiters.discard)
        try:
            record.pid = await self._supervisor.tasks.start_exec(record.container_id, record.id)
        except errdefs.WharfError:
            waiter.cancel()
            record.exit_code = EXIT_CANNOT_INVOKE  # Docker's code for an exec that could not start
            record.exited.set()
            record.start_settled.set()
            with contextlib.suppress(errdefs.WharfError):
                await self._supervisor.tasks.delete_exec(record.container_id, record.id)
            raise
        except BaseException:
            waiter.cancel()
            raise
        record.running = True
        container = self._find_container(record.container_id)
        self._publish(container, f"exec_start: {' '.join(record.cmd)}", record.id)
        record.start_settled.set()

    async def _wait(self, record: ExecRecord) -> None:
        try:
            status = await self._supervisor.tasks.wait_exec(record.container_id, record.id)
            await record.start_settled.wait()  # exec_die never precedes exec_start
            record.exit_code = status.code
        except errdefs.WharfError as err:  # the task went away with its execs
            await record.start_settled.wait()
            log.info("exec %s: wait failed: %s", record.id, err)
            record.exit_code = EXIT_UNKNOWN
        finally:
            record.running = False
            record.exited.set()
        with contextlib.suppress(errdefs.NotFound):
            container = self._find_container(record.container_id)
            self._publish(container, "exec_die", record.id, exitCode=str(record.exit_code))
        # One turn of the loop for the attached client, woken by `exited`, to end its stream before
        # the shim's bookkeeping is sent: the client's next request waits for that end.
        await asyncio.sleep(0)
        with contextlib.suppress(errdefs.WharfError):
            await self._supervisor.tasks.delete_exec(record.container_id, record.id)

    async def start_detached(self, exec_id: str, console_size: tuple[int, int] | None = None) -> None:
        record = self.check_startable(exec_id)
        await self._registered(record)
        await self._start(record, console_size)

    async def start_attached(
        self, exec_id: str, client: ClientConnection, console_size: tuple[int, int] | None = None,
        raw_stream: bool | None = None,
    ) -> None:
        """Carry the exec's stdio over the client's (hijacked) connection until it exits; returns
        once the exit code is known, so the client's inspect right after sees it. `raw_stream` is the
        start request's Tty: it decides the framing (None: as the exec's terminal)."""
        record = self.get(exec_id)
        options = AttachOptions(
            stdin=record.attach_stdin, stdout=record.attach_stdout, stderr=record.attach_stderr,
            stdin_once=not record.tty, tty=record.tty, exec_id=record.id,
            detach_keys=parse_detach_keys(record.detach_keys), raw_output=raw_stream,
        )  # fmt: skip
        try:
            await self._registered(record)
        except errdefs.WharfError as err:
            await client.write(_error_message(str(err), options))
            return
        attachment = await ShimAttachment.open(record.attach_socket, options)
        try:
            await self._start(record, console_size)
        except errdefs.WharfError as err:
            attachment.close()
            await client.write(_error_message(str(err), options))
            return
        if await attachment.pump(client):
            # As moby: the detached client is told why its stream ended.
            with contextlib.suppress(ConnectionError, OSError):
                await client.write(_error_message(DETACHED_MESSAGE, options))
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(EXIT_WAIT_TIMEOUT):  # woken straight by `exited`, no task between
                await record.exited.wait()

    async def resize(self, exec_id: str, width: int, height: int) -> None:
        record = self.get(exec_id)
        if record.exit_code is not None:
            raise errdefs.Conflict(f"exec {exec_id} is not running")
        await self._supervisor.tasks.resize_exec(record.container_id, record.id, width, height)

    async def close(self) -> None:
        for waiter in list(self._waiters):
            waiter.cancel()


DETACHED_MESSAGE = "exec attach failed: error on attach stdin: read escape sequence"


def _consume_error(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None and not isinstance(task.exception(), errdefs.WharfError):
        log.warning("exec registration failed: %r", task.exception())


def _error_message(text: str, options: AttachOptions) -> bytes:
    """As Docker: an error after the hijack goes to the client's stdout (the only stream it surely reads)."""
    from wharf.daemon.server.streams import STDOUT, frame

    message = f"{text}\r\n".encode()
    return message if options.unframed else frame(STDOUT, message)
