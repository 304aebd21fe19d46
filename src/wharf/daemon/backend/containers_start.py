"""`docker start`: volumes and the network namespace first, then the supervisor's task create while
the namespace is connected, attachers, task start; a failed start releases what it took."""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import logging
from collections.abc import Awaitable
from typing import TypeVar

from wharf import errdefs
from wharf.containerd.core.tasks import CreateTaskOptions, TaskInfo
from wharf.daemon import ocispec
from wharf.daemon.backend import containers_namespaces, create_options, links
from wharf.daemon.backend import record as records
from wharf.daemon.backend.containers_base import ContainerServiceBase
from wharf.daemon.backend.record import ContainerRecord
from wharf.daemon.backend.state import Status
from wharf.daemon.backend.timefmt import now_ns

log = logging.getLogger("wharfd.containers")

T = TypeVar("T")


async def _outcome(work: Awaitable[T]) -> T | Exception:
    """The result or the error of `work`, so that both of two concurrent steps end before either's
    failure is handled."""
    try:
        return await work
    except Exception as err:  # noqa: BLE001 - handed back to be raised by the caller
        return err


def _sets_net_sysctls(host_config: dict[str, object]) -> bool:
    """`net.*` sysctls are written by the runtime at create, and may name an interface the network's
    connect makes (`net.ipv4.conf.eth0.…`)."""
    sysctls = host_config.get("Sysctls")
    return isinstance(sysctls, dict) and any(str(key).startswith("net.") for key in sysctls)


class ContainerStarting(ContainerServiceBase):
    async def start(self, ref: str, by_policy: bool = False) -> None:
        record = self.get(ref)
        async with self._lock(record.id):
            if record.state.running:
                raise errdefs.NotModified("container already started")
            if record.state.status is Status.REMOVING or record.id in self._removals:
                raise errdefs.Conflict(f"cannot start container {record.id}: removal in progress")
            try:
                link_targets = links.linked_targets(record, self.get)  # each must run (Docker's check)
                await self._attach_storage_and_sandbox(record)
                await self._join_shared_namespaces(record)
                await self._apply_link_env(record, link_targets)
            except errdefs.WharfError as err:
                await self._start_failed(record, err)
                raise
            options = CreateTaskOptions(
                stdin=bool(record.config.get("OpenStdin")),
                terminal=record.tty,
                log_path=record.log_path,
            )
            options.log_max_size, options.log_max_files = create_options.log_rotation(record.host_config)
            info = await self._create_task_and_connect(record, options)
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

    async def _join_shared_namespaces(self, record: ContainerRecord) -> None:
        """`container:<ref>` modes: the spec gets the other containers' namespaces as they are now
        (Docker resolves them at each start, so a restart of the other container is followed)."""
        if not containers_namespaces.joins_any(record.host_config):
            return
        container = await self._supervisor.containers.get(record.id)
        spec = copy.deepcopy(container.spec)
        containers_namespaces.join_at_start(spec, record.host_config, self.get)
        if self.networking is not None and containers_namespaces.joins_network(record.host_config):
            ocispec.set_network_namespace(spec, self.networking.spec_namespace(record.id, record.host_config, self.get))
        if spec != container.spec:
            await self._supervisor.containers.update(dataclasses.replace(container, spec=spec))

    async def _apply_link_env(self, record: ContainerRecord, targets: list[tuple[str, ContainerRecord]]) -> None:
        """Legacy links: the targets' variables as they are now go into the spec's env (and those
        of a removed link go away); containers that never had links are not touched."""
        if record.host_config.get("Links") is None:
            return
        container = await self._supervisor.containers.get(record.id)
        spec = copy.deepcopy(container.spec)
        links.apply_env(spec, links.env_for(record, targets))
        if spec != container.spec:
            await self._supervisor.containers.update(dataclasses.replace(container, spec=spec))

    async def _attach_storage_and_sandbox(self, record: ContainerRecord) -> None:
        """Before the task exists: mount volumes with driver options, make the network namespace
        (the runtime joins it by path)."""
        if self.mounts is not None:
            self.mounts.mount(record)
        if self.networking is not None:
            try:
                await self.networking.make_sandbox(record)
            except BaseException:
                if self.mounts is not None:
                    self.mounts.unmount(record)
                raise

    async def _create_task_and_connect(self, record: ContainerRecord, options: CreateTaskOptions) -> TaskInfo:
        """The supervisor's task create while the namespace is connected (CNI ADDs, hosts/resolv.conf,
        DNS): the runtime only joins the namespace, and nothing of the container runs before
        `start`. Both end before a failure is handled: a failed connect deletes the created task,
        then the start fails as any failed start does, with the network's error first (as when
        the connect came first)."""
        networking = self.networking
        connect = networking.connect_sandbox(record) if networking is not None else asyncio.sleep(0)
        if _sets_net_sysctls(record.host_config):  # one after the other, as before
            network_error = await _outcome(connect)
            task = await _outcome(self._create_task(record.id, options)) if network_error is None else None
        else:
            network_error, task = await asyncio.gather(_outcome(connect), _outcome(self._create_task(record.id, options)))
        if network_error is None and isinstance(task, TaskInfo):
            return task
        if isinstance(task, TaskInfo):
            try:
                await self._delete_task(record.id)
            except errdefs.WharfError as err:  # left for the next start's create, or reconcile
                log.warning("deleting the task of a failed start of %s: %s", record.id, err)
        error = network_error if network_error is not None else task
        assert isinstance(error, Exception)
        if isinstance(error, errdefs.WharfError):
            await self._start_failed(record, error)
        elif network_error is not None and self.mounts is not None:
            self.mounts.unmount(record)  # as after a failed make_sandbox: the network undid itself
        raise error

    async def _create_task(self, container_id: str, options: CreateTaskOptions) -> TaskInfo:
        """The supervisor refuses to create a task over one left by an interrupted start (or an exit
        whose task delete failed): that one is deleted and the create made again. Asked only then,
        instead of a delete (answering NotFound) before every create."""
        try:
            return await self._supervisor.tasks.create(container_id, options)
        except errdefs.AlreadyExists:
            await self._delete_task(container_id)
            return await self._supervisor.tasks.create(container_id, options)

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
