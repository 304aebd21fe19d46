"""`docker create`: the record, its files, the OCI spec, the snapshot and the supervisor's container."""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
from typing import Any

from wharf import errdefs
from wharf.containerd.core.containers import Container
from wharf.daemon import ocispec, userns_remap
from wharf.daemon.backend import (
    containers_namespaces,
    create_options,
    host_config_checks,
    links,
    restart_policy,
)
from wharf.daemon.backend import record as records
from wharf.daemon.backend.container_config import (
    command_of,
    merge_image_config,
    normalise_host_config,
    random_name,
    split_create_body,
)
from wharf.daemon.backend.container_files import write_container_files
from wharf.daemon.backend.container_view import graph_driver_data
from wharf.daemon.backend.containers_base import ContainerServiceBase
from wharf.daemon.backend.images import chain_ids
from wharf.daemon.backend.index import validate_name
from wharf.daemon.backend.networking import port_mappings
from wharf.daemon.backend.record import ContainerRecord
from wharf.daemon.backend.timefmt import now_ns

RANDOM_NAME_PLAIN_TRIES, RANDOM_NAME_ATTEMPTS = 6, 64
"""Names without a number first, then with one (moby's way), then the id settles it."""


class ContainerCreation(ContainerServiceBase):
    async def create(self, name: str, body: Any) -> dict[str, Any]:
        config, host_config = split_create_body(body)
        image_ref = config.get("Image") or ""
        if not image_ref:
            raise errdefs.InvalidArgument("config cannot be empty in order to create a container")
        container_id = secrets.token_hex(32)
        if name:
            name = validate_name(name)
            self._index.reserve_name(name, container_id)
        else:
            name = self._reserve_random_name(container_id)
        directory = os.path.join(self._paths.containers_dir, container_id)
        try:
            return await self._create(container_id, name, directory, image_ref, config, host_config,
                                      body.get("NetworkingConfig"))
        except BaseException:
            self._index.release_name(name)
            shutil.rmtree(directory, ignore_errors=True)
            raise

    def _reserve_random_name(self, container_id: str) -> str:
        """A free `adjective_name`, or with a number after a few collisions (as moby does); taken
        means held by a container or reserved by a create in progress."""
        for attempt in range(RANDOM_NAME_ATTEMPTS):
            name = "/" + random_name() + (str(secrets.randbelow(100)) if attempt >= RANDOM_NAME_PLAIN_TRIES else "")
            try:
                self._index.get(name)
                continue
            except errdefs.NotFound:
                pass
            try:
                self._index.reserve_name(name, container_id)
                return name
            except errdefs.Conflict:
                continue
        name = f"/{random_name()}_{container_id[:12]}"
        self._index.reserve_name(name, container_id)
        return name

    async def _create(
        self, container_id: str, name: str, directory: str, image_ref: str,
        config: dict[str, Any], host_config: dict[str, Any], networking_config: Any = None,
    ) -> dict[str, Any]:  # fmt: skip
        host_config_checks.check_types(config, host_config)
        host_config_checks.check_workdir_and_hostname(config)
        host_config_checks.check_healthcheck(config)
        port_mappings(config, host_config)  # refused now, as moby refuses them at create
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
        host_config = containers_namespaces.resolve_at_create(host_config, self.get)
        host_config = links.resolve_at_create(host_config, name, self.get)
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
            containers_namespaces.spec_at_create(spec, host_config)  # the joins are made at start
            userns_remap.apply_to_spec(spec, host_config, self._paths.userns_remap,
                                       [record.hostname_path, record.hosts_path, record.resolv_conf_path])
            if init_binary is not None:
                ocispec.apply_init(spec, init_binary)
        except (TypeError, ValueError, KeyError, AttributeError) as err:
            if isinstance(err, errdefs.WharfError):
                raise
            raise errdefs.InvalidArgument(f"invalid container configuration: {err}") from None
        if self.networking is not None and not containers_namespaces.joins_network(host_config):
            ocispec.set_network_namespace(spec, self.networking.spec_namespace(container_id, host_config, self.get))
            userns_remap.join_user_namespace(
                spec, self.networking.spec_user_namespace(container_id, host_config, self.get))
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

    async def _create_in_supervisor(self, record: ContainerRecord, image: Any, spec: dict[str, Any]) -> None:
        container_id, merged = record.id, record.config
        mounts = await self._prepare_rootfs(container_id, image)
        record.graph_driver_data = graph_driver_data(mounts)
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

    async def _prepare_rootfs(self, container_id: str, image: Any) -> list[Any]:
        """The container's snapshot, on its image's top layer. That layer's name follows from the
        image's config (its chain id), and it is there once the image was unpacked (the usual case):
        the unpack (idempotent, one round trip) is asked for only when it is missing."""
        diff_ids = (image.config.get("rootfs") or {}).get("diff_ids") or []
        if diff_ids:
            with contextlib.suppress(errdefs.NotFound):
                return await self._supervisor.snapshots.prepare(container_id, chain_ids(diff_ids)[-1])
        return await self._supervisor.snapshots.prepare(container_id, await self._images.chain_id(image))
