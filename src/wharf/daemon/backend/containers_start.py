"""`docker start`: volumes and network first, then the supervisor's task create, attachers, task start;
a failed start releases what it took."""

from __future__ import annotations

import copy
import dataclasses
import logging

from wharf import errdefs
from wharf.containerd.core.tasks import CreateTaskOptions
from wharf.daemon import ocispec
from wharf.daemon.backend import containers_namespaces, create_options, links
from wharf.daemon.backend import record as records
from wharf.daemon.backend.containers_base import ContainerServiceBase
from wharf.daemon.backend.record import ContainerRecord
from wharf.daemon.backend.state import Status
from wharf.daemon.backend.timefmt import now_ns

log = logging.getLogger("wharfd.containers")


class ContainerStarting(ContainerServiceBase):
    async def start(self, ref: str, by_policy: bool = False) -> None:
        record = self.get(ref)
        async with self._lock(record.id):
            if record.state.running:
                raise errdefs.NotModified("container already started")
            if record.state.status is Status.REMOVING or record.id in self._removals:
                raise errdefs.Conflict(f"cannot start container {record.id}: removal in progress")
            await self._delete_task(record.id)
            try:
                link_targets = links.linked_targets(record, self.get)  # each must run (Docker's check)
                await self._attach_storage_and_network(record)
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
