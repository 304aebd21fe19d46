"""What wharfd knows about a container, kept in `<data-root>/containers/<id>/config.v2.json`."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wharf.daemon.backend.state import ContainerState
from wharf.daemon.backend.timefmt import parse_rfc3339, rfc3339nano

CONFIG_FILE = "config.v2.json"


@dataclass
class ContainerRecord:
    id: str
    name: str
    """With the leading slash, as the API shows it: `/web`."""
    created: int
    """Nanoseconds since the epoch."""
    path: str
    args: list[str]
    config: dict[str, Any]
    """Docker's container Config, merged with the image's (Env, Cmd, WorkingDir…)."""
    host_config: dict[str, Any]
    image_id: str
    """`sha256:` + digest of the image config."""
    directory: str
    state: ContainerState = field(default_factory=ContainerState)
    restart_count: int = 0
    has_been_started: bool = False
    manually_stopped: bool = False
    """Stopped or killed by a user: restart policies leave it alone until it is started again."""
    networking_config: dict[str, Any] = field(default_factory=dict)
    """The networks asked for: network name → EndpointSettings (Aliases, IPAMConfig…)."""
    network_settings: dict[str, Any] = field(default_factory=dict)
    """NetworkSettings as inspect shows them (kept up to date by the networking service)."""
    mount_points: list[dict[str, Any]] = field(default_factory=list)
    """Mounts in inspect's shape (Type, Name, Source, Destination, Driver, Mode, RW, Propagation)."""
    graph_driver_data: dict[str, str] | None = None
    """GraphDriver.Data: the snapshot's overlay directories (LowerDir, UpperDir, WorkDir)."""

    @property
    def short_id(self) -> str:
        return self.id[:12]

    @property
    def tty(self) -> bool:
        return bool(self.config.get("Tty"))

    @property
    def log_path(self) -> str:
        """The json-file log; "" when the container's log driver is `none`."""
        log_config = self.host_config.get("LogConfig")
        if isinstance(log_config, dict) and log_config.get("Type") == "none":
            return ""
        return os.path.join(self.directory, f"{self.id}-json.log")

    @property
    def hostname_path(self) -> str:
        return os.path.join(self.directory, "hostname")

    @property
    def hosts_path(self) -> str:
        return os.path.join(self.directory, "hosts")

    @property
    def resolv_conf_path(self) -> str:
        return os.path.join(self.directory, "resolv.conf")

    @property
    def auto_remove(self) -> bool:
        return bool(self.host_config.get("AutoRemove"))

    @property
    def command(self) -> str:
        """`docker ps`'s COMMAND: path and args joined by spaces."""
        return " ".join([self.path, *self.args]).strip()

    def to_json(self) -> dict[str, Any]:
        return {
            "ID": self.id,
            "Name": self.name,
            "Created": rfc3339nano(self.created),
            "Path": self.path,
            "Args": self.args,
            "Config": self.config,
            "HostConfig": self.host_config,
            "Image": self.image_id,
            "State": self.state.to_api(),
            "RestartCount": self.restart_count,
            "HasBeenStartedBefore": self.has_been_started,
            "HasBeenManuallyStopped": self.manually_stopped,
            "NetworkingConfig": self.networking_config,
            "NetworkSettings": self.network_settings,
            "MountPoints": self.mount_points,
            "GraphDriverData": self.graph_driver_data,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any], directory: str) -> ContainerRecord:
        return cls(
            id=data["ID"],
            name=data["Name"],
            created=parse_rfc3339(data["Created"]),
            path=data["Path"],
            args=list(data["Args"]),
            config=data["Config"],
            host_config=data["HostConfig"],
            image_id=data["Image"],
            directory=directory,
            state=ContainerState.from_api(data["State"]),
            restart_count=int(data.get("RestartCount", 0)),
            has_been_started=bool(data.get("HasBeenStartedBefore", False)),
            manually_stopped=bool(data.get("HasBeenManuallyStopped", False)),
            networking_config=dict(data.get("NetworkingConfig") or {}),
            network_settings=dict(data.get("NetworkSettings") or {}),
            mount_points=list(data.get("MountPoints") or []),
            graph_driver_data=data.get("GraphDriverData"),
        )


def save(record: ContainerRecord) -> None:
    """Write atomically: a crash leaves the old or the new file, never half of one."""
    target = Path(record.directory) / CONFIG_FILE
    temporary = target.with_suffix(".tmp")
    text = json.dumps(record.to_json())  # dumps, not dump: one call of the C encoder, not a Python walk
    with open(temporary, "w") as out:
        out.write(text)
        out.flush()
        os.fsync(out.fileno())
    os.replace(temporary, target)


def load_all(containers_dir: str) -> list[ContainerRecord]:
    """Every container with a readable record; directories without one are leftovers of a
    create that did not finish, and are skipped."""
    records = []
    root = Path(containers_dir)
    if not root.is_dir():
        return []
    for entry in sorted(root.iterdir()):
        try:
            data = json.loads((entry / CONFIG_FILE).read_text())
            records.append(ContainerRecord.from_json(data, str(entry)))
        except (OSError, ValueError, KeyError):
            continue
    return records
