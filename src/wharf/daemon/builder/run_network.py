"""The network of a RUN step's container, as Docker's classic builder gives it: the build's
`networkmode` (or `RUN --network`) and `extrahosts`.

- "", "default", "none": a namespace of its own with only `lo` (up), as `docker run --network none`
  (no veth per step: builds stay fast);
- "host": the host's namespace, with the host's /etc/hosts and /etc/resolv.conf;
- any other name or id ("bridge", a user-defined network): a namespace connected to that network
  through the container networking service, with its hosts, resolv.conf and embedded DNS, as a
  container started on it (Docker's build containers are ordinary containers).

/etc/hosts (with the `--add-host` entries) and /etc/resolv.conf are bound in only when one of
these needs them. Their mount points must not end up in the step's layer (Docker keeps them in
an "init" layer): `RunFiles` notes which were missing before the run and removes them after."""

from __future__ import annotations

import contextlib
import os
import shutil
from dataclasses import dataclass, field
from typing import Any, Protocol

from wharf import errdefs
from wharf.daemon.backend.container_files import hosts_text, read_host_resolv_conf, resolv_conf_text
from wharf.daemon.backend.record import ContainerRecord
from wharf.daemon.builder.context import resolve_in_root

LOOPBACK_MODES = frozenset({"", "default", "none"})
NETWORK_FILES = ("/etc/hosts", "/etc/resolv.conf")


@dataclass
class RunNetwork:
    mode: str = ""
    extra_hosts: list[str] = field(default_factory=list)
    """`name:ip` entries (`--add-host`), as the API's `extrahosts` gives them."""

    @property
    def host(self) -> bool:
        return self.mode == "host"

    @property
    def loopback_only(self) -> bool:
        return self.mode in LOOPBACK_MODES

    @property
    def needs_files(self) -> bool:
        return not self.loopback_only or bool(self.extra_hosts)


def parse_network_mode(mode: str) -> str:
    """The API's `networkmode` checked as Docker's builder takes it; InvalidArgument otherwise."""
    if mode.startswith("container:"):
        raise errdefs.InvalidArgument(f"network mode {mode!r} is not supported by the builder")
    return mode


def parse_extra_hosts(values: list[str]) -> list[str]:
    """`extrahosts` (repeated; `name:ip` or `name=ip`, also comma-separated) → entries."""
    hosts = []
    for value in values:
        for entry in value.split(","):
            entry = entry.strip()
            if not entry:
                continue
            name, sep, address = entry.partition("=" if "=" in entry else ":")
            if not sep or not name or not address:
                raise errdefs.InvalidArgument(f"invalid argument {entry!r} for \"--add-host\" flag: bad format")
            hosts.append(entry)
    return hosts


class ContainerNetworkingLike(Protocol):
    """What the builder uses of backend.networking.ContainerNetworking."""

    def plan(self, host_config: dict[str, Any], networking_config: Any) -> dict[str, dict[str, Any]]: ...

    def spec_namespace(self, container_id: str, host_config: dict[str, Any], find_container: Any) -> str | None: ...

    async def setup(self, record: ContainerRecord) -> None: ...

    async def teardown(self, record: ContainerRecord) -> None: ...


class RunFiles:
    """hosts and resolv.conf of one build container, in a private directory."""

    def __init__(self, directory: str) -> None:
        self.directory = directory
        os.makedirs(directory, mode=0o700, exist_ok=True)
        self.hosts_path = os.path.join(directory, "hosts")
        self.resolv_conf_path = os.path.join(directory, "resolv.conf")

    def write_local(self, network: RunNetwork) -> None:
        """For loopback and host modes (a user network's files are written by the networking service)."""
        host_config = {"ExtraHosts": network.extra_hosts, "NetworkMode": network.mode}
        if network.host:
            try:
                with open("/etc/hosts") as source:
                    base = source.read()
            except OSError:
                base = hosts_text({})
            if base and not base.endswith("\n"):
                base += "\n"
            hosts = base + hosts_text(host_config)[len(hosts_text({})):]
        else:
            hosts = hosts_text(host_config)
        _write(self.hosts_path, hosts)
        _write(self.resolv_conf_path, resolv_conf_text(host_config, read_host_resolv_conf()))

    def spec_mounts(self) -> list[dict[str, Any]]:
        return [
            {"destination": "/etc/hosts", "type": "bind", "source": self.hosts_path,
             "options": ["rbind", "rprivate", "rw"]},
            {"destination": "/etc/resolv.conf", "type": "bind", "source": self.resolv_conf_path,
             "options": ["rbind", "rprivate", "rw"]},
        ]  # fmt: skip

    def remove(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)


def missing_mount_points(rootfs: str) -> list[str]:
    """The files (and /etc) the runtime would create in the rootfs to bind the network files on."""
    missing = [path for path in ("/etc", *NETWORK_FILES) if not os.path.lexists(resolve_in_root(rootfs, path))]
    return missing


def remove_mount_points(rootfs: str, created: list[str]) -> None:
    """Undo what the runtime created for the binds: empty files, then /etc if it is empty."""
    for path in sorted(created, key=len, reverse=True):
        host = resolve_in_root(rootfs, path, follow_final=False)
        with contextlib.suppress(OSError):
            if os.path.isdir(host) and not os.path.islink(host):
                os.rmdir(host)  # only when empty: the RUN may have put files in /etc
            elif os.path.isfile(host) and not os.path.islink(host) and os.path.getsize(host) == 0:
                os.unlink(host)


def build_record(container_id: str, network: RunNetwork, files: RunFiles,
                 networking: ContainerNetworkingLike) -> ContainerRecord:  # fmt: skip
    """The container record the networking service works on for a build container on a network."""
    # Loopback modes are Docker's `none` (a namespace of its own, `lo` up). No user namespace of
    # its own: build containers run without userns-remap.
    mode = "none" if network.loopback_only else network.mode
    host_config: dict[str, Any] = {"NetworkMode": mode, "ExtraHosts": network.extra_hosts, "UsernsMode": "host"}
    plan = networking.plan(host_config, None)
    return ContainerRecord(
        id=container_id, name="/" + container_id[:12], created=0, path="", args=[],
        config={"Hostname": container_id[:12]}, host_config=host_config, image_id="",
        directory=files.directory, networking_config=plan,
    )  # fmt: skip


def _write(path: str, text: str) -> None:
    with open(path, "w") as out:
        out.write(text)
    os.chmod(path, 0o644)
