"""The container service: Docker's container verbs over the supervisor's containers and tasks.

Lifecycle: create (record, snapshot, supervisor container) → start (task create, attachers connect
to the shim, task start) → exit (pushed by the supervisor's /tasks/exit event: state, task delete,
waiters, --rm) → remove. State changes of one container are serialised by its lock.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import shutil
import signal as signals
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any

from wharf import errdefs
from wharf.containerd.core.containers import Container
from wharf.containerd.core.tasks import CreateTaskOptions, TaskInfo, TaskStatus
from wharf.daemon import ocispec
from wharf.daemon.backend import create_options, host_config_checks, resource_update, restart_policy
from wharf.daemon.backend import record as records
from wharf.daemon.backend.attach import AttachOptions, ClientConnection, ShimAttachment, parse_detach_keys
from wharf.daemon.backend.container_config import (
    command_of,
    merge_image_config,
    normalise_host_config,
    random_name,
    split_create_body,
)
from wharf.daemon.backend.container_files import write_container_files
from wharf.daemon.backend.events import EventBus
from wharf.daemon.backend.images import ImageService
from wharf.daemon.backend.index import ContainerIndex, validate_name
from wharf.daemon.backend.mounts import ContainerMounts
from wharf.daemon.backend.networking import ContainerNetworking
from wharf.daemon.backend.record import ContainerRecord
from wharf.daemon.backend.state import Status
from wharf.daemon.backend.supervisor import Supervisor
from wharf.daemon.backend.timefmt import now_ns

log = logging.getLogger("wharfd.containers")

ATTACH_READY_TIMEOUT = 2.0
"""How long start waits for attachers to reach the shim before releasing the process."""
ATTACH_DRAIN_TIMEOUT = 2.0
"""How long an exit waits for attached clients to receive the last output before the task goes."""
DEFAULT_STOP_TIMEOUT = 10
EXITED_UNKNOWN = 255


@dataclass
class DaemonPaths:
    data_root: str
    runtime: str
    cgroup_parent: str = "/wharf"

    @property
    def containers_dir(self) -> str:
        return os.path.join(self.data_root, "containers")


class _PendingAttach:
    """An attacher waiting for the next task of its container."""

    def __init__(self) -> None:
        loop = asyncio.get_running_loop()
        self.task: asyncio.Future[TaskInfo | None] = loop.create_future()
        self.connected: asyncio.Future[None] = loop.create_future()


class ContainerService:
    def __init__(self, supervisor: Supervisor, images: ImageService, events: EventBus, paths: DaemonPaths) -> None:
        self._supervisor = supervisor
        self._images = images
        self._events = events
        self._paths = paths
        self._index = ContainerIndex()
        self._locks: dict[str, asyncio.Lock] = {}
        self._exit_waiters: dict[str, list[asyncio.Future[int]]] = {}
        self._removed_waiters: dict[str, list[asyncio.Future[int]]] = {}
        self._pending_attach: dict[str, list[_PendingAttach]] = {}
        self._attach_sessions: dict[str, set[asyncio.Task[None]]] = {}
        self._removals: dict[str, asyncio.Future[None]] = {}
        self._background: set[asyncio.Task[Any]] = set()
        self.networking: ContainerNetworking | None = None
        """Set by the daemon: namespaces, endpoints, ports (None: containers get an empty netns)."""
        self.mounts: ContainerMounts | None = None
        """Set by the daemon: volumes, binds and tmpfs mounts."""

    # ---- lookup -------------------------------------------------------------------------------

    def get(self, ref: str) -> ContainerRecord:
        return self._index.get(ref)

    def all(self) -> list[ContainerRecord]:
        return list(self._index)

    def _lock(self, container_id: str) -> asyncio.Lock:
        return self._locks.setdefault(container_id, asyncio.Lock())

    async def users_of_image(self, image_id: str) -> list[str]:
        return [r.id for r in self._index if r.image_id == image_id]

    # ---- create -------------------------------------------------------------------------------

    async def create(self, name: str, body: Any) -> dict[str, Any]:
        config, host_config = split_create_body(body)
        image_ref = config.get("Image") or ""
        if not image_ref:
            raise errdefs.InvalidArgument("config cannot be empty in order to create a container")
        container_id = secrets.token_hex(32)
        if name:
            name = validate_name(name)
        else:
            name = "/" + random_name()
            while True:
                try:
                    self._index.get(name)
                except errdefs.NotFound:
                    break
                name = f"/{random_name()}{secrets.randbelow(100)}"
        self._index.reserve_name(name, container_id)
        directory = os.path.join(self._paths.containers_dir, container_id)
        try:
            return await self._create(container_id, name, directory, image_ref, config, host_config,
                                      body.get("NetworkingConfig"))
        except BaseException:
            self._index.release_name(name)
            shutil.rmtree(directory, ignore_errors=True)
            raise

    async def _create(
        self, container_id: str, name: str, directory: str, image_ref: str,
        config: dict[str, Any], host_config: dict[str, Any], networking_config: Any = None,
    ) -> dict[str, Any]:  # fmt: skip
        host_config_checks.check_types(config, host_config)
        host_config_checks.check_workdir_and_hostname(config)
        image = await self._images.resolve(image_ref)
        merged = merge_image_config(config, image.config.get("config") or {})
        merged["Image"] = image_ref
        path, args = command_of(merged)
        if not merged.get("Hostname"):
            # On the host's network a container has the host's name, as in Docker.
            on_host = (host_config.get("NetworkMode") == "host")
            merged["Hostname"] = os.uname().nodename if on_host else container_id[:12]
        if merged.get("StopSignal"):
            ocispec.stop_signal_number(merged["StopSignal"])  # refuse bad signals now, not at stop
        host_config = normalise_host_config(host_config, self._paths.runtime)
        restart_policy.validate(host_config)
        create_options.adapt(host_config)
        warnings = host_config_checks.verify_host_config(host_config)
        host_config["Runtime"] = create_options.runtime_of(host_config, self._paths.runtime)
        create_options.log_rotation(host_config)
        init_binary = create_options.init_binary() if host_config.get("Init") else None
        planned_networks = self.networking.plan(host_config, networking_config) if self.networking else {}
        os.makedirs(directory, mode=0o710, exist_ok=False)
        record = ContainerRecord(
            id=container_id, name=name, created=now_ns(), path=path, args=args, config=merged,
            host_config=host_config, image_id=image.id, directory=directory,
            networking_config=planned_networks,
        )  # fmt: skip
        write_container_files(
            record.hostname_path, record.hosts_path, record.resolv_conf_path, merged["Hostname"], host_config
        )
        files = ocispec.ContainerFiles(record.hostname_path, record.hosts_path, record.resolv_conf_path)
        try:
            spec_host_config = dict(host_config, Binds=None) if self.mounts else host_config
            spec = ocispec.build_spec(
                container_id, merged, spec_host_config, [path, *args], merged["Hostname"], files,
                self._paths.cgroup_parent,
            )
            ocispec.add_devices(spec, host_config)
            ocispec.add_groups(spec, host_config)
            ocispec.join_namespaces(spec, host_config, self._running_pid)
            if init_binary is not None:
                ocispec.apply_init(spec, init_binary)
        except (TypeError, ValueError, KeyError, AttributeError) as err:
            if isinstance(err, errdefs.WharfError):
                raise
            raise errdefs.InvalidArgument(f"invalid container configuration: {err}") from None
        if self.networking is not None:
            ocispec.set_network_namespace(spec, self.networking.spec_namespace(container_id, host_config, self.get))
        if self.networking is not None:
            record.network_settings = self.networking.settings_of(record)
        if self.mounts is not None:
            record.mount_points = self.mounts.plan(container_id, merged, host_config, self.get)
            spec["mounts"] += self.mounts.spec_mounts(record.mount_points)
        try:
            await self._create_in_supervisor(record, image, spec)
        except BaseException:
            if self.mounts is not None:
                self.mounts.forget(record, remove_anonymous=True)
            raise
        records.save(record)
        self._index.add(record)
        self._publish(record, "create")
        return {"Id": container_id, "Warnings": warnings}

    def _running_pid(self, ref: str) -> int:
        """The pid of a running container whose namespaces another one joins."""
        try:
            target = self.get(ref)
        except errdefs.NotFound as err:
            # 400, not 404: a 404 would make the docker CLI try to pull the image.
            raise errdefs.InvalidArgument(str(err)) from None
        if not target.state.running or not target.state.pid:
            raise errdefs.Conflict(f"cannot join namespaces of a non running container: {target.id}")
        return int(target.state.pid)

    async def _create_in_supervisor(self, record: ContainerRecord, image: Any, spec: dict[str, Any]) -> None:
        container_id, merged = record.id, record.config
        chain_id = await self._images.chain_id(image)
        await self._supervisor.snapshots.prepare(container_id, chain_id)
        try:
            if self.mounts is not None:
                await self.mounts.copy_up(self._supervisor, container_id, record.mount_points)
            await self._supervisor.containers.create(
                Container(
                    id=container_id, image=image.names[0] if image.names else image.id,
                    runtime=record.host_config.get("Runtime") or self._paths.runtime, spec=spec,
                    snapshot_key=container_id,
                    labels={str(k): str(v) for k, v in (merged.get("Labels") or {}).items()},
                )
            )  # fmt: skip
        except BaseException:
            with contextlib.suppress(Exception):
                await self._supervisor.snapshots.remove(container_id)
            raise

    # ---- events ------------------------------------------------------------------------------

    def _publish(self, record: ContainerRecord, action: str, **extra: str) -> None:
        attributes = {"image": record.config.get("Image", ""), "name": record.name.lstrip("/")}
        attributes.update({str(k): str(v) for k, v in (record.config.get("Labels") or {}).items()})
        attributes.update(extra)
        self._events.publish("container", action, record.id, attributes)

    # ---- start --------------------------------------------------------------------------------

    async def start(self, ref: str, by_policy: bool = False) -> None:
        record = self.get(ref)
        async with self._lock(record.id):
            if record.state.running:
                raise errdefs.NotModified("container already started")
            if record.state.status is Status.REMOVING or record.id in self._removals:
                raise errdefs.Conflict(f"cannot start container {record.id}: removal in progress")
            await self._delete_task(record.id)
            try:
                await self._attach_storage_and_network(record)
            except errdefs.WharfError as err:
                await self._start_failed(record, err)
                raise
            options = CreateTaskOptions(
                stdin=bool(record.config.get("OpenStdin")),
                terminal=record.tty,
                log_path=record.log_path,
            )
            options.log_max_size, options.log_max_files = create_options.log_rotation(record.host_config)
            try:
                info = await self._supervisor.tasks.create(record.id, options)
            except errdefs.WharfError as err:
                await self._start_failed(record, err)
                raise
            await self._hand_task_to_attachers(record.id, info)
            try:
                pid = await self._supervisor.tasks.start(record.id)
            except errdefs.WharfError as err:
                await self._delete_task(record.id)
                await self._start_failed(record, err)
                raise
            record.state.set_running(pid)
            record.has_been_started = True
            record.manually_stopped = False
            if not by_policy:
                record.restart_count = 0
            records.save(record)
            self._publish(record, "start")

    async def _attach_storage_and_network(self, record: ContainerRecord) -> None:
        """Before the task exists: mount volumes with driver options, make and connect the
        network namespace (the runtime joins it by path)."""
        if self.mounts is not None:
            self.mounts.mount(record)
        if self.networking is not None:
            try:
                await self.networking.setup(record)
            except BaseException:
                if self.mounts is not None:
                    self.mounts.unmount(record)
                raise

    async def _detach_storage_and_network(self, record: ContainerRecord, network: bool = True) -> None:
        """The task is gone: release the namespace, endpoints, ports, and volume mounts."""
        if network:
            await self._detach_network(record)
        if self.mounts is not None:
            self.mounts.unmount(record)

    async def _detach_network(self, record: ContainerRecord) -> None:
        if self.networking is not None:
            try:
                await self.networking.teardown(record)
            except errdefs.WharfError as err:
                log.warning("releasing the network of %s: %s", record.id, err)

    async def _start_failed(self, record: ContainerRecord, err: Exception) -> None:
        await self._detach_storage_and_network(record)
        message = str(err)
        code = 127 if "no such file" in message.lower() or "not found" in message.lower() else 128
        record.state.set_exited(code, now_ns(), error=message)
        records.save(record)
        self._fail_pending_attach(record.id)
        self._resolve(self._exit_waiters, record.id, code)
        if record.auto_remove:
            self._spawn(self._destroy(record, remove_volumes=True))

    async def _delete_task(self, container_id: str) -> None:
        with contextlib.suppress(errdefs.NotFound):
            await self._supervisor.tasks.delete(container_id)

    # ---- attach -------------------------------------------------------------------------------

    async def _hand_task_to_attachers(self, container_id: str, info: TaskInfo) -> None:
        pending = self._pending_attach.pop(container_id, [])
        for attacher in pending:
            if not attacher.task.done():
                attacher.task.set_result(info)
        if pending:
            await asyncio.wait([a.connected for a in pending], timeout=ATTACH_READY_TIMEOUT)

    def _fail_pending_attach(self, container_id: str) -> None:
        for attacher in self._pending_attach.pop(container_id, []):
            if not attacher.task.done():
                attacher.task.set_result(None)

    async def attach(self, record: ContainerRecord, client: ClientConnection, stdin: bool, stdout: bool,
                     stderr: bool, replay_logs: bytes = b"", detach_keys: str = "") -> None:
        """Carry the container's stdio over the client's connection. Before the task exists (`docker
        run` attaches before it starts), wait for it: start hands new tasks to waiting attachers
        and lets them connect before releasing the process, so no output is lost."""
        # As moby: the client's end of stdin closes the container's only without a terminal.
        options = AttachOptions(stdin=stdin, stdout=stdout, stderr=stderr,
                                stdin_once=bool(record.config.get("StdinOnce")) and not record.tty, tty=record.tty,
                                detach_keys=parse_detach_keys(detach_keys))
        session = asyncio.current_task()
        assert session is not None
        sessions = self._attach_sessions.setdefault(record.id, set())
        pending: _PendingAttach | None = None
        try:
            if replay_logs:
                await client.write(replay_logs)
            info: TaskInfo | None = None
            if record.state.running:
                try:
                    info = await self._supervisor.tasks.get(record.id)
                except errdefs.NotFound:
                    info = None
            if info is None:
                pending = _PendingAttach()
                self._pending_attach.setdefault(record.id, []).append(pending)
                gone = asyncio.ensure_future(client.closed.wait())
                await asyncio.wait({pending.task, gone}, return_when=asyncio.FIRST_COMPLETED)
                gone.cancel()
                if not pending.task.done() or pending.task.result() is None:
                    return  # the client left, or the container went away or failed to start
                info = pending.task.result()
            assert info is not None
            try:
                attachment = await ShimAttachment.open(info.attach_socket, options)
            except OSError as err:
                log.info("attach to %s: the task is gone (%s)", record.id, err)
                return
            finally:
                if pending is not None and not pending.connected.done():
                    pending.connected.set_result(None)
            sessions.add(session)  # type: ignore[arg-type]  # an exit waits for these to drain
            await attachment.pump(client)
        finally:
            if pending is not None:
                # Never make a start wait for an attacher that is gone.
                waiting = self._pending_attach.get(record.id, [])
                if pending in waiting:
                    waiting.remove(pending)
                if not pending.connected.done():
                    pending.connected.set_result(None)
            sessions.discard(session)  # type: ignore[arg-type]
            client.close()

    async def _drain_attach_sessions(self, container_id: str) -> None:
        sessions = list(self._attach_sessions.get(container_id, ()))
        if sessions:
            await asyncio.wait(sessions, timeout=ATTACH_DRAIN_TIMEOUT)

    async def resize(self, ref: str, width: int, height: int) -> None:
        record = self.get(ref)
        if not record.state.running:
            raise errdefs.Conflict(f"Container {record.id} is not running")
        await self._supervisor.tasks.resize_pty(record.id, width, height)

    # ---- exits --------------------------------------------------------------------------------

    def _resolve(self, waiters: dict[str, list[asyncio.Future[int]]], container_id: str, code: int) -> None:
        for future in waiters.pop(container_id, []):
            if not future.done():
                future.set_result(code)

    def _spawn(self, coroutine: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def task_exited(self, container_id: str, exit_code: int, exited_at: int) -> None:
        """From the supervisor's /tasks/exit event (or a reconcile): handled in the background."""
        self._spawn(self._handle_exit(container_id, exit_code, exited_at))

    async def _handle_exit(self, container_id: str, exit_code: int, exited_at: int) -> None:
        try:
            record = self._index.get(container_id)
        except errdefs.NotFound:
            return
        if record.id != container_id:
            return
        async with self._lock(container_id):
            if not record.state.running:
                return  # already handled (duplicate event, or a reconcile raced the event)
            await self._drain_attach_sessions(container_id)
            # Keep the exit before the task (and its exit status) goes: a wharfd killed between
            # the two finds it in reconcile instead of reporting EXITED_UNKNOWN.
            record.state.exit_code, record.state.finished_at = exit_code, exited_at or now_ns()
            records.save(record)

            async def delete_task() -> None:
                try:
                    await self._delete_task(container_id)
                except errdefs.WharfError as err:
                    log.warning("deleting the task of %s: %s", container_id, err)

            # The init has exited: the runtime's delete and the network's release (CNI DELs)
            # are independent, so they run together; volumes are unmounted after both.
            await asyncio.gather(delete_task(), self._detach_network(record))
            await self._detach_storage_and_network(record, network=False)
            record.state.set_exited(exit_code, exited_at)
            restart = restart_policy.should_restart(
                record.host_config, exit_code, record.restart_count, record.manually_stopped
            )
            if restart:
                record.state.status = Status.RESTARTING
            records.save(record)
            self._publish(record, "die", exitCode=str(exit_code))
            self._resolve(self._exit_waiters, container_id, exit_code)
        if restart:
            self._spawn(self._restart_later(record))
        elif record.auto_remove:
            await self._destroy(record, remove_volumes=True)

    async def _restart_later(self, record: ContainerRecord) -> None:
        await asyncio.sleep(restart_policy.delay_seconds(record.restart_count))
        if record.state.status is not Status.RESTARTING or record.manually_stopped:
            return
        record.restart_count += 1
        record.state.status = Status.EXITED
        try:
            await self.start(record.id, by_policy=True)
        except errdefs.WharfError as err:
            log.warning("restarting %s: %s", record.id, err)

    async def start_restartable(self) -> None:
        """At daemon start: containers whose restart policy wants them up (`always`, and
        `unless-stopped` unless a user stopped them)."""
        for record in list(self._index):
            if record.state.running or not record.has_been_started:
                continue
            if restart_policy.starts_with_daemon(record.host_config, record.manually_stopped):
                try:
                    await self.start(record.id, by_policy=True)
                except errdefs.WharfError as err:
                    log.warning("starting %s (restart policy): %s", record.id, err)

    async def reconcile(self) -> None:
        """Match recorded states with the supervisor's tasks (after wharfd or the supervisor
        restarted). Exits found here are fully handled before this returns, so the API never
        shows a container running whose process is gone."""
        tasks = {task.id: task for task in await self._supervisor.tasks.list()}
        work: list[Awaitable[Any]] = []
        for record in list(self._index):
            task = tasks.get(record.id)
            if record.state.status is Status.RESTARTING and task is None:
                self._spawn(self._restart_later(record))  # wharfd stopped during the back-off
            elif record.state.running:
                if task is None and record.state.finished_at:  # exit kept, task gone (see _handle_exit)
                    work.append(self._handle_exit(record.id, record.state.exit_code, record.state.finished_at))
                elif task is None:
                    work.append(self._handle_exit(record.id, EXITED_UNKNOWN, now_ns()))
                elif task.status is TaskStatus.STOPPED or task.exit_status is not None:
                    status = task.exit_status
                    work.append(self._handle_exit(record.id, status.code if status else EXITED_UNKNOWN,
                                                  status.exited_at if status else now_ns()))
                elif task.pid and task.pid != record.state.pid:
                    record.state.pid = task.pid
                    records.save(record)
            else:
                if task is not None and task.status is TaskStatus.STOPPED:
                    work.append(self._delete_task(record.id))
                if record.auto_remove and record.has_been_started:
                    work.append(self._destroy(record, remove_volumes=True))
        results = await asyncio.gather(*work, return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                log.warning("reconciling: %s", result)

    def load(self) -> None:
        for record in records.load_all(self._paths.containers_dir):
            self._index.add(record)

    # ---- wait ---------------------------------------------------------------------------------

    def wait(self, ref: str, condition: str) -> asyncio.Future[int]:
        """A future of the exit code, registered now (the CLI waits before it starts)."""
        record = self.get(ref)
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        if condition in ("", "not-running"):
            if not record.state.running:
                future.set_result(record.state.exit_code)
            else:
                self._exit_waiters.setdefault(record.id, []).append(future)
        elif condition == "next-exit":
            self._exit_waiters.setdefault(record.id, []).append(future)
        elif condition == "removed":
            self._removed_waiters.setdefault(record.id, []).append(future)
        else:
            raise errdefs.InvalidArgument(f"invalid condition: {condition!r}")
        return future

    # ---- stop, kill, restart ------------------------------------------------------------------

    async def stop(self, ref: str, timeout: int | None, signal: str | None) -> None:
        record = self.get(ref)
        if record.state.status is Status.RESTARTING:
            record.manually_stopped = True  # cancels the pending restart
            record.state.status = Status.EXITED
            records.save(record)
            return
        if not record.state.running:
            raise errdefs.NotModified("container already stopped")
        record.manually_stopped = True
        number = ocispec.stop_signal_number(signal or record.config.get("StopSignal"))
        if timeout is None:
            timeout = record.config.get("StopTimeout")
            timeout = DEFAULT_STOP_TIMEOUT if timeout is None else int(timeout)
        await self._signal_and_wait(record, number, timeout)
        self._publish(record, "stop")

    async def _signal_and_wait(self, record: ContainerRecord, number: int, timeout: float) -> None:
        exited: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._exit_waiters.setdefault(record.id, []).append(exited)
        try:
            await self._supervisor.tasks.kill(record.id, number)
        except errdefs.NotFound:
            # The process has exited but its exit is not final yet (the shim drains its output
            # first): wait for it, or a `rm -f` right now finds the task still "running".
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(exited), 10)
            return
        try:
            await asyncio.wait_for(asyncio.shield(exited), None if timeout < 0 else timeout)
            return
        except TimeoutError:
            log.info("container %s did not stop in %ss: killing it", record.id, timeout)
        with contextlib.suppress(errdefs.NotFound):
            await self._supervisor.tasks.kill(record.id, int(signals.SIGKILL), all=True)
        await asyncio.wait_for(asyncio.shield(exited), 30)

    async def kill(self, ref: str, signal: str | None) -> None:
        record = self.get(ref)
        number = ocispec.stop_signal_number(signal or "SIGKILL")
        if not record.state.running:
            raise errdefs.Conflict(f"Container {record.id} is not running")
        if number != signals.SIGKILL:
            await self._supervisor.tasks.kill(record.id, number)
            self._publish(record, "kill", signal=str(number))
            return
        self._publish(record, "kill", signal=str(number))
        record.manually_stopped = True
        # Like Docker, a SIGKILL returns once the exit is recorded (so `rm` right after works).
        with contextlib.suppress(TimeoutError):
            await self._signal_and_wait(record, number, 10)

    async def restart(self, ref: str, timeout: int | None, signal: str | None) -> None:
        record = self.get(ref)
        if record.state.running:
            await self.stop(ref, timeout, signal)
        await self.start(record.id)
        self._publish(record, "restart")

    # ---- pause, rename ------------------------------------------------------------------------

    async def pause(self, ref: str) -> None:
        record = self.get(ref)
        async with self._lock(record.id):
            if not record.state.running:
                raise errdefs.Conflict(f"Container {record.id} is not running")
            if record.state.status is Status.PAUSED:
                raise errdefs.Conflict(f"Container {record.id} is already paused")
            await self._supervisor.tasks.pause(record.id)
            record.state.status = Status.PAUSED
            records.save(record)
        self._publish(record, "pause")

    async def unpause(self, ref: str) -> None:
        record = self.get(ref)
        async with self._lock(record.id):
            if record.state.status is not Status.PAUSED:
                raise errdefs.Conflict(f"Container {record.id} is not paused")
            await self._supervisor.tasks.resume(record.id)
            record.state.status = Status.RUNNING
            records.save(record)
        self._publish(record, "unpause")

    async def rename(self, ref: str, new_name: str) -> None:
        record = self.get(ref)
        if not new_name:
            raise errdefs.InvalidArgument("Neither old nor new names may be empty")
        name = validate_name(new_name)
        if name == record.name:
            raise errdefs.InvalidArgument("Renaming a container with the same name as its current name")
        self._index.reserve_name(name, record.id)
        old = record.name
        self._index.release_name(old)
        record.name = name
        records.save(record)
        self._publish(record, "rename", oldName=old)

    async def update(self, ref: str, body: Any) -> dict[str, Any]:
        """`docker update`: resources (applied live to a running container's cgroups) and the
        restart policy, checked first so a refused update changes nothing, then persisted."""
        record = self.get(ref)
        async with self._lock(record.id):
            updated, warnings = resource_update.prepare(record.host_config, body)
            await resource_update.store_in_spec(self._supervisor, record.id, updated)
            if record.state.running:
                await resource_update.apply_live(record, updated, self._paths.cgroup_parent)
            record.host_config = updated
            records.save(record)
        self._publish(record, "update")
        return {"Warnings": warnings}

    async def prune(self) -> list[str]:
        """Remove every stopped container; returns their ids."""
        removed = []
        for record in list(self._index):
            if record.state.running or record.id in self._removals:
                continue
            await self._destroy(record)
            removed.append(record.id)
        return removed

    # ---- remove -------------------------------------------------------------------------------

    async def remove(self, ref: str, force: bool, volumes: bool = False) -> None:
        record = self.get(ref)
        if record.state.running:
            if not force:
                raise errdefs.Conflict(
                    f'cannot remove container "{record.name}": container is running: stop the container '
                    "before removing or force remove"
                )
            await self._signal_and_wait(record, int(signals.SIGKILL), 10)
        await self._destroy(record, remove_volumes=volumes)

    async def _destroy(self, record: ContainerRecord, remove_volumes: bool = False) -> None:
        """Remove everything of a stopped container; concurrent calls share one removal."""
        ongoing = self._removals.get(record.id)
        if ongoing is not None:
            await asyncio.shield(ongoing)
            return
        if record.id not in {r.id for r in self._index}:
            return
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._removals[record.id] = done
        try:
            async with self._lock(record.id):
                record.state.status = Status.REMOVING
                await self._delete_task(record.id)
                with contextlib.suppress(errdefs.NotFound):
                    await self._supervisor.containers.delete(record.id)
                with contextlib.suppress(errdefs.NotFound):
                    await self._supervisor.snapshots.remove(record.id)
                if self.mounts is not None:
                    self.mounts.forget(record, remove_anonymous=remove_volumes)
                shutil.rmtree(record.directory, ignore_errors=True)
                self._index.remove(record)
                self._locks.pop(record.id, None)
                self._attach_sessions.pop(record.id, None)
            self._fail_pending_attach(record.id)
            self._resolve(self._exit_waiters, record.id, record.state.exit_code)
            self._resolve(self._removed_waiters, record.id, record.state.exit_code)
            self._publish(record, "destroy")
        finally:
            self._removals.pop(record.id, None)
            done.set_result(None)

    async def close(self) -> None:
        for task in list(self._background):
            task.cancel()
