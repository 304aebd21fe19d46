"""The `local` volume driver and the volume store's rules (names, references, removal).

A volume `NAME` lives at `<data-root>/volumes/NAME/_data`; its metadata is `opts.json` beside
it. With driver options (`type`, `device`, `o`, as `mount -t type -o o device`), the data dir
is a mount point, mounted while some container uses the volume.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wharf import errdefs
from wharf.linux.mount import MNT_DETACH, MS_BIND, mount, umount2

_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]+$")
RESTRICTED_NAME_CHARS = "[a-zA-Z0-9][a-zA-Z0-9_.-]"
ANONYMOUS_LABEL = "com.docker.volume.anonymous"
DRIVER_OPTIONS = frozenset({"type", "device", "o", "size"})


def _rfc3339(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


@dataclass
class Volume:
    name: str
    mountpoint: str
    created_at: str
    labels: dict[str, str] = field(default_factory=dict)
    options: dict[str, str] = field(default_factory=dict)

    @property
    def anonymous(self) -> bool:
        return ANONYMOUS_LABEL in self.labels

    def inspect(self) -> dict[str, Any]:
        return {
            "CreatedAt": self.created_at,
            "Driver": "local",
            "Labels": dict(self.labels),
            "Mountpoint": self.mountpoint,
            "Name": self.name,
            "Options": dict(self.options) or None,
            "Scope": "local",
        }


class VolumeStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)
        self.references: dict[str, set[str]] = {}
        """Volume name → ids of the containers that use it (rebuilt from containers at start-up)."""
        self._mounts: dict[str, int] = {}
        self.owner: tuple[int, int] | None = None
        """(uid, gid) new volumes' `_data` belongs to: the remapped root with --userns-remap."""

    def _directory(self, name: str) -> Path:
        return self.root / name

    def _load(self, name: str) -> Volume | None:
        directory = self._directory(name)
        try:
            meta = json.loads((directory / "opts.json").read_text())
        except (OSError, ValueError):
            if not (directory / "_data").is_dir():
                return None
            meta = {}
        created = meta.get("created_at") or _rfc3339(directory.stat().st_ctime)
        return Volume(name, str(directory / "_data"), created, meta.get("labels") or {}, meta.get("options") or {})

    def create(self, name: str = "", labels: dict[str, str] | None = None,
               options: dict[str, str] | None = None, driver: str = "local") -> Volume:
        if driver not in ("", "local"):
            raise errdefs.NotFound(f'create {name}: error looking up volume plugin {driver}: plugin "{driver}" not found')
        labels = dict(labels or {})
        if not name:
            name = secrets.token_hex(32)
            labels.setdefault(ANONYMOUS_LABEL, "")
        elif len(name) == 1:
            raise errdefs.InvalidArgument(
                f"create {name}: volume name is too short, names should be at least two alphanumeric characters")
        elif not _NAME.match(name):
            raise errdefs.InvalidArgument(
                f'create {name}: "{name}" includes invalid characters for a local volume name, only '
                f'"{RESTRICTED_NAME_CHARS}" are allowed. If you intended to pass a host directory, use absolute path')
        options = dict(options or {})
        unknown = sorted(set(options) - DRIVER_OPTIONS)
        if unknown:
            raise errdefs.InvalidArgument(f"create {name}: invalid option: {unknown[0]!r}")
        if options and "type" not in options and "device" not in options:
            raise errdefs.InvalidArgument(f"create {name}: missing required option: \"type\"")
        if "type" in options and "device" not in options:
            raise errdefs.InvalidArgument(f"create {name}: missing required option: \"device\"")
        existing = self._load(name)
        if existing is not None:
            return existing
        directory = self._directory(name)
        (directory / "_data").mkdir(parents=True, mode=0o755)
        if self.owner is not None:
            os.chown(directory / "_data", *self.owner)
        volume = Volume(name, str(directory / "_data"), _rfc3339(time.time()), labels, options)
        temp = directory / "opts.json.tmp"
        temp.write_text(json.dumps({"created_at": volume.created_at, "labels": labels, "options": options}))
        os.replace(temp, directory / "opts.json")
        return volume

    def get(self, name: str) -> Volume:
        volume = self._load(name) if name and "/" not in name and name not in (".", "..") else None
        if volume is None:
            raise errdefs.NotFound(f"get {name}: no such volume")
        return volume

    def list(self) -> list[Volume]:
        found = []
        for entry in sorted(self.root.iterdir()) if self.root.is_dir() else []:
            volume = self._load(entry.name)
            if volume is not None:
                found.append(volume)
        return found

    def acquire(self, name: str, container_id: str) -> None:
        self.references.setdefault(name, set()).add(container_id)

    def release(self, name: str, container_id: str) -> None:
        users = self.references.get(name)
        if users is not None:
            users.discard(container_id)
            if not users:
                del self.references[name]

    def remove(self, name: str, force: bool = False) -> None:
        try:
            volume = self.get(name)
        except errdefs.NotFound:
            if force:
                return
            raise  # Docker looks the volume up first: "get <name>: no such volume"
        users = sorted(self.references.get(name, ()))
        if users:
            raise errdefs.Conflict(f"remove {name}: volume is in use - [{', '.join(users)}]")
        self._unmount_all(volume)
        shutil.rmtree(self._directory(volume.name))

    def prune(self, all_volumes: bool = False, labels: dict[str, str | None] | None = None) -> tuple[list[str], int]:
        """Remove unused volumes (only anonymous ones unless `all_volumes`); (names, bytes reclaimed)."""
        removed, reclaimed = [], 0
        for volume in self.list():
            if volume.name in self.references or (not all_volumes and not volume.anonymous):
                continue
            if labels and not all(
                key in volume.labels and (value is None or volume.labels[key] == value) for key, value in labels.items()
            ):
                continue
            reclaimed += disk_usage(Path(volume.mountpoint))
            self.remove(volume.name)
            removed.append(volume.name)
        return removed, reclaimed

    def mount(self, name: str) -> str:
        """The host path to bind into a container (mounting the driver's filesystem the first time)."""
        volume = self.get(name)
        if volume.options and self._mounts.get(name, 0) == 0:
            _mount_options(volume)
        self._mounts[name] = self._mounts.get(name, 0) + 1
        return volume.mountpoint

    def adopt_mount(self, name: str) -> None:
        """Count a use whose mount survived a daemon restart (a running container's)."""
        self._mounts[name] = self._mounts.get(name, 0) + 1

    def unmount(self, name: str) -> None:
        count = self._mounts.get(name, 0) - 1
        if count > 0:
            self._mounts[name] = count
            return
        self._mounts.pop(name, None)
        volume = self._load(name)
        if volume is not None and volume.options:
            _umount(volume.mountpoint)

    def _unmount_all(self, volume: Volume) -> None:
        self._mounts.pop(volume.name, None)
        if volume.options:
            _umount(volume.mountpoint)


def _mount_options(volume: Volume) -> None:
    options = volume.options
    kind = options.get("type", "")
    device = options.get("device", kind or "none")
    data = options.get("o", "")
    if "size" in options:
        data = ",".join(filter(None, [data, f"size={options['size']}"]))
    flags = MS_BIND if kind in ("", "none") and "bind" in data.split(",") else 0
    try:
        mount(device, volume.mountpoint, kind or "none", flags, data or None)
    except OSError as err:
        raise errdefs.System(f"error while mounting volume '{volume.mountpoint}': failed to mount local volume: "
                             f"mount {device}:{volume.mountpoint}, data: {data}: {err.strerror}") from err


def _umount(path: str) -> None:
    with contextlib.suppress(OSError):  # EINVAL when it is not mounted is fine
        umount2(path, MNT_DETACH)


def disk_usage(path: Path) -> int:
    total = 0
    for directory, _, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(directory, name)).st_blocks * 512
            except OSError:
                continue
    return total
