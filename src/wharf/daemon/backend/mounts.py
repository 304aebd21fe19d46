"""A container's mounts: `-v` binds and volumes, `--mount`, the image's VOLUMEs (anonymous
volumes), `--volumes-from`, and the copy of the image's content into a new, empty volume.

Mount points are kept in the container's record in `docker inspect`'s `Mounts` shape; a volume is
referenced by a container from its create to its removal (an in-use volume cannot be removed).
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import stat
import tempfile
from collections.abc import Callable
from typing import Any

from wharf import errdefs
from wharf.daemon.backend.events import EventBus
from wharf.daemon.backend.record import ContainerRecord
from wharf.daemon.volume.local import VolumeStore
from wharf.linux import openat2
from wharf.linux.mount import MNT_DETACH, MS_BIND, MS_RDONLY, MS_REC, umount2
from wharf.linux.mount import mount as mount_syscall

log = logging.getLogger("wharfd.mounts")

PROPAGATIONS = ("shared", "rshared", "slave", "rslave", "private", "rprivate")
_BIND_MODES = {"ro", "rw", "z", "Z", "nocopy", *PROPAGATIONS}
INSPECT_KEYS = ("Type", "Name", "Source", "Destination", "Driver", "Mode", "RW", "Propagation")


def _invalid(spec: str) -> errdefs.InvalidArgument:
    return errdefs.InvalidArgument(f"invalid volume specification: '{spec}'")


def _check_destination(destination: str, spec: str) -> str:
    if not destination.startswith("/"):
        raise errdefs.InvalidArgument(f"invalid volume specification: '{spec}': invalid mount config for type "
                                      f"\"volume\": invalid mount path: '{destination}' mount path must be absolute")
    if destination == "/":
        raise errdefs.InvalidArgument(f"invalid volume specification: '{spec}': invalid mount config: "
                                      "destination can't be '/'")
    return os.path.normpath(destination)


def parse_bind(spec: str) -> dict[str, Any]:
    """`-v source:/destination[:mode,...]` → a mount point (source a host path or a volume name)."""
    parts = spec.split(":")
    if len(parts) == 1 or len(parts) > 3 or not parts[0]:
        raise _invalid(spec)
    source, destination = parts[0], _check_destination(parts[1], spec)
    modes = [m for m in parts[2].split(",") if m] if len(parts) == 3 else []
    if any(m not in _BIND_MODES for m in modes) or ("ro" in modes and "rw" in modes):
        raise _invalid(spec)
    propagation = next((m for m in modes if m in PROPAGATIONS), "")
    mode = ",".join(m for m in modes if m not in ("ro", "rw"))
    if source.startswith("/"):
        return {"Type": "bind", "Source": os.path.normpath(source), "Destination": destination, "Mode": mode,
                "RW": "ro" not in modes, "Propagation": propagation or "rprivate"}
    if "nocopy" in modes and propagation:
        raise _invalid(spec)
    # A volume's Mode is the mode text as given (ro included), "z" when there is none, as Docker shows it.
    return {"Type": "volume", "Name": source, "Source": "", "Destination": destination, "Driver": "local",
            "Mode": ",".join(modes) or "z", "RW": "ro" not in modes, "Propagation": "", "NoCopy": "nocopy" in modes}


def parse_mount(mount: dict[str, Any]) -> dict[str, Any]:
    """A HostConfig.Mounts entry (`--mount type=...`) → a mount point."""
    if not isinstance(mount, dict):
        raise errdefs.InvalidArgument("invalid mount config: must be an object")
    kind = mount.get("Type") or ""
    target = mount.get("Target") or ""
    if not target:
        raise errdefs.InvalidArgument("invalid mount config: Target must not be empty")
    if not target.startswith("/"):
        raise errdefs.InvalidArgument(f"invalid mount config for type \"{kind}\": invalid mount path: "
                                      f"'{target}' mount path must be absolute")
    target = os.path.normpath(target)
    rw = not mount.get("ReadOnly")
    source = mount.get("Source") or ""
    if kind == "bind":
        if not source:
            raise errdefs.InvalidArgument("invalid mount config for type \"bind\": field Source must not be empty")
        if not os.path.isabs(source):
            raise errdefs.InvalidArgument(f"invalid mount config for type \"bind\": invalid mount path: '{source}' "
                                          "mount path must be absolute")
        if not os.path.exists(source):
            raise errdefs.InvalidArgument(
                f"invalid mount config for type \"bind\": bind source path does not exist: {source}")
        propagation = (mount.get("BindOptions") or {}).get("Propagation") or "rprivate"
        return {"Type": "bind", "Source": os.path.normpath(source), "Destination": target, "Mode": "", "RW": rw,
                "Propagation": propagation, "CreateSource": False}
    if kind == "volume":
        options = mount.get("VolumeOptions") or {}
        point = {"Type": "volume", "Name": source, "Source": "", "Destination": target, "Driver": "local",
                 "Mode": "z", "RW": rw, "Propagation": "", "NoCopy": bool(options.get("NoCopy")),
                 "Labels": options.get("Labels") or {},
                 "DriverOptions": (options.get("DriverConfig") or {}).get("Options") or {}}
        if options.get("Subpath"):
            point["Subpath"] = _check_subpath(str(options["Subpath"]))
        return point
    if kind == "tmpfs":
        if source:
            raise errdefs.InvalidArgument("invalid mount config for type \"tmpfs\": field Source must not be specified")
        options = mount.get("TmpfsOptions") or {}
        extra = []
        if options.get("SizeBytes"):
            extra.append(f"size={int(options['SizeBytes'])}")
        if options.get("Mode"):
            extra.append(f"mode={int(options['Mode']):o}")
        return {"Type": "tmpfs", "Source": "", "Destination": target, "Mode": "", "RW": rw, "Propagation": "",
                "TmpfsOptions": extra}
    raise errdefs.InvalidArgument(f"invalid mount config: mount type unknown: \"{kind}\"")


def _check_subpath(subpath: str) -> str:
    clean = os.path.normpath(subpath)
    if os.path.isabs(clean) or clean == ".." or clean.startswith("../"):
        raise errdefs.InvalidArgument(f"invalid mount config for type \"volume\": subpath must be a relative "
                                      f"path within the volume: {subpath}")
    return clean


class ContainerMounts:
    def __init__(self, volumes: VolumeStore, subpaths_root: str = "") -> None:
        self.volumes = volumes
        self.subpaths_root = subpaths_root
        """Where a volume's subpath is bound for the runtime while its container runs."""
        self.events: EventBus | None = None
        """Set by the daemon: volume mount/unmount events, as Docker sends them."""
        self._mounted: set[str] = set()
        """Containers whose volumes with driver options are mounted now."""

    # ---- create -------------------------------------------------------------------------------

    def plan(self, container_id: str, config: dict[str, Any], host_config: dict[str, Any],
             find_container: Callable[[str], ContainerRecord]) -> list[dict[str, Any]]:
        """The container's mount points, with its volumes created (anonymous ones for image VOLUMEs
        and `-v /path`) and referenced. Docker's order: --volumes-from, then binds and --mount
        (which replace those at the same destination), then VOLUMEs not yet covered."""
        points: dict[str, dict[str, Any]] = {}
        for entry in host_config.get("VolumesFrom") or []:
            ref, _, mode = str(entry).partition(":")
            if mode not in ("", "ro", "rw"):
                raise errdefs.InvalidArgument(f"invalid mode for volumes-from: {mode}")
            other = find_container(ref)
            for point in other.mount_points:
                copied = dict(point)
                if mode:
                    copied["RW"] = mode == "rw"
                points[copied["Destination"]] = copied
        explicit: dict[str, dict[str, Any]] = {}
        for spec in host_config.get("Binds") or []:
            point = parse_bind(str(spec))
            if point["Destination"] in explicit:
                raise errdefs.InvalidArgument(f"Duplicate mount point: {point['Destination']}")
            explicit[point["Destination"]] = point
        for mount in host_config.get("Mounts") or []:
            point = parse_mount(mount)
            if point["Destination"] in explicit:
                raise errdefs.InvalidArgument(f"Duplicate mount point: {point['Destination']}")
            explicit[point["Destination"]] = point
        points.update(explicit)
        for destination in config.get("Volumes") or {}:
            destination = _check_destination(destination, destination)
            if destination not in points:
                points[destination] = {"Type": "volume", "Name": "", "Source": "", "Destination": destination,
                                       "Driver": "local", "Mode": "", "RW": True, "Propagation": "",
                                       "Anonymous": True}
        made: list[str] = []
        try:
            for point in points.values():
                if point["Type"] == "bind" and point.get("CreateSource", True):
                    os.makedirs(point["Source"], exist_ok=True)  # `-v /host:/ctr` makes a missing source
                if point["Type"] != "volume":
                    continue
                existed = bool(point["Name"]) and self._exists(point["Name"])
                volume = self.volumes.create(point["Name"], labels=point.get("Labels"),
                                             options=point.get("DriverOptions"))
                if not existed:
                    made.append(volume.name)
                point["Name"] = volume.name
                point["Source"] = volume.mountpoint
                point["Anonymous"] = volume.anonymous
                point["New"] = not existed
        except BaseException:
            for name in made:
                with contextlib.suppress(errdefs.WharfError, OSError):
                    self.volumes.remove(name, force=True)
            raise
        ordered = sorted(points.values(), key=lambda p: p["Destination"].count("/"))
        for index, point in enumerate(ordered):
            if point["Type"] == "volume":
                self.volumes.acquire(point["Name"], container_id)
            if point.get("Subpath"):
                point["SubpathMount"] = os.path.join(self.subpaths_root, container_id, str(index))
        return ordered

    def _exists(self, name: str) -> bool:
        try:
            self.volumes.get(name)
            return True
        except errdefs.NotFound:
            return False

    @staticmethod
    def spec_mounts(points: list[dict[str, Any]]) -> list[dict[str, Any]]:
        mounts = []
        for point in points:
            if point["Type"] == "tmpfs":
                options = ["nosuid", "nodev", "noexec", *(point.get("TmpfsOptions") or [])]
                if not point["RW"]:
                    options.append("ro")
                mounts.append({"destination": point["Destination"], "type": "tmpfs", "source": "tmpfs",
                               "options": options})
                continue
            options = ["rbind", "rw" if point["RW"] else "ro"]
            if point.get("Propagation"):
                options.append(point["Propagation"])
            # A volume's subpath reaches the runtime through a bind made at start (see _bind_subpath).
            source = point.get("SubpathMount") or point["Source"]
            mounts.append({"destination": point["Destination"], "type": "bind", "source": source,
                           "options": options})
        return mounts

    async def copy_up(self, supervisor: Any, container_id: str, points: list[dict[str, Any]]) -> None:
        """Copy what the image has at a new volume's destination into it (Docker does this for
        volumes that are empty when first used, unless `nocopy`)."""
        wanted = [p for p in points if p["Type"] == "volume" and p.get("New") and not p.get("NoCopy")]
        for point in points:
            point.pop("New", None)
        if not wanted:
            return
        mounts = await supervisor.snapshots.mounts(container_id)
        with tempfile.TemporaryDirectory(prefix="wharf-copyup-") as scratch:
            _mount_read_only(mounts, scratch)
            try:
                for point in wanted:
                    target = point["Source"]
                    if os.listdir(target):
                        continue
                    source = _resolve_inside(scratch, point["Destination"])
                    if source is not None and os.path.isdir(source):
                        _copy_tree(source, target)
            finally:
                _umount(scratch)

    # ---- start, stop, remove -----------------------------------------------------------------

    def mount(self, record: ContainerRecord) -> None:
        if record.id in self._mounted:
            return
        done = []
        try:
            for point in record.mount_points:
                if point["Type"] == "volume":
                    self.volumes.mount(point["Name"])
                    done.append(point["Name"])
            for point in record.mount_points:
                if point.get("SubpathMount"):
                    _bind_subpath(point)
        except BaseException:
            self._unbind_subpaths(record)
            for name in done:
                self.volumes.unmount(name)
            raise
        self._mounted.add(record.id)
        for point in record.mount_points:
            if point["Type"] == "volume" and self.events is not None:
                self.events.publish("volume", "mount", point["Name"], {
                    "container": record.id, "destination": point["Destination"], "driver": "local",
                    "propagation": point.get("Propagation", ""), "read/write": str(point["RW"]).lower()})

    def adopt(self, record: ContainerRecord) -> None:
        """After a daemon restart: a running container's volumes are mounted already."""
        if record.id in self._mounted:
            return
        for point in record.mount_points:
            if point["Type"] == "volume":
                self.volumes.adopt_mount(point["Name"])
        self._mounted.add(record.id)

    def unmount(self, record: ContainerRecord) -> None:
        if record.id not in self._mounted:
            return
        self._mounted.discard(record.id)
        self._unbind_subpaths(record)
        for point in record.mount_points:
            if point["Type"] == "volume":
                with contextlib.suppress(errdefs.WharfError):
                    self.volumes.unmount(point["Name"])
                if self.events is not None:
                    self.events.publish("volume", "unmount", point["Name"], {"container": record.id, "driver": "local"})

    def _unbind_subpaths(self, record: ContainerRecord) -> None:
        for point in record.mount_points:
            if point.get("SubpathMount"):
                _umount(point["SubpathMount"])

    def forget(self, record: ContainerRecord, remove_anonymous: bool) -> None:
        """The container is removed: drop its references (and with `rm -v`, its anonymous volumes)."""
        self.unmount(record)
        if any(point.get("SubpathMount") for point in record.mount_points):
            shutil.rmtree(os.path.join(self.subpaths_root, record.id), ignore_errors=True)
        for point in record.mount_points:
            if point["Type"] != "volume":
                continue
            self.volumes.release(point["Name"], record.id)
            if remove_anonymous and point.get("Anonymous"):
                try:
                    self.volumes.remove(point["Name"])
                except errdefs.WharfError as err:
                    log.info("keeping volume %s: %s", point["Name"], err)

    def load(self, records: list[ContainerRecord]) -> None:
        """At start-up: references from the stored containers."""
        for record in records:
            for point in record.mount_points:
                if point["Type"] == "volume":
                    self.volumes.acquire(point["Name"], record.id)

    def users(self, name: str) -> set[str]:
        return set(self.volumes.references.get(name, ()))


def inspect_mounts(points: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for point in points:
        shown = {k: point[k] for k in INSPECT_KEYS if k in point}
        if point["Type"] != "volume":
            shown.pop("Name", None)
            shown.pop("Driver", None)
        out.append(shown)
    return out


# ---- copy-up helpers ---------------------------------------------------------------------------


def _mount_read_only(mounts: list[Any], target: str) -> None:
    """The container's snapshot, read-only: the overlay's layers all as lower dirs."""
    if not mounts:
        raise errdefs.System("no mounts for the container's snapshot")
    mount = mounts[0]
    if mount.type == "overlay":
        options = dict(o.split("=", 1) if "=" in o else (o, "") for o in mount.options)
        lowers = [options["upperdir"]] if options.get("upperdir") else []
        lowers += [d for d in options.get("lowerdir", "").split(":") if d]
        if len(lowers) == 1:
            source, kind, flags, data = lowers[0], "", MS_BIND | MS_REC, None
        else:
            source, kind, flags, data = "overlay", "overlay", MS_RDONLY, "lowerdir=" + ":".join(lowers)
    else:
        source, kind, flags, data = mount.source, "", MS_BIND | MS_REC, None
    try:
        mount_syscall(source, target, kind or None, flags, data)
    except OSError as err:
        raise errdefs.System(f"mounting the container's rootfs for copy-up: {err.strerror}") from err


def _umount(target: str) -> None:
    with contextlib.suppress(OSError):
        umount2(target, MNT_DETACH)


def _resolve_inside(root: str, path: str) -> str | None:
    """`path` inside `root`, following symlinks as the container would see them (never out)."""
    current = root
    parts = [p for p in path.split("/") if p and p != "."]
    hops = 0
    while parts:
        part = parts.pop(0)
        if part == "..":
            current = os.path.dirname(current) if current != root else root
            continue
        candidate = os.path.join(current, part)
        try:
            info = os.lstat(candidate)
        except FileNotFoundError:
            return None
        if stat.S_ISLNK(info.st_mode):
            hops += 1
            if hops > 40:
                return None
            link = os.readlink(candidate)
            if link.startswith("/"):
                current = root
            parts = [p for p in link.split("/") if p and p != "."] + parts
            continue
        current = candidate
    return current


def _copy_tree(source: str, target: str) -> None:
    """Copy without following symlinks (they are copied as links), keeping modes and owners."""
    for name in os.listdir(source):
        src, dst = os.path.join(source, name), os.path.join(target, name)
        info = os.lstat(src)
        if stat.S_ISLNK(info.st_mode):
            os.symlink(os.readlink(src), dst)
        elif stat.S_ISDIR(info.st_mode):
            os.mkdir(dst)
            _copy_tree(src, dst)
        elif stat.S_ISREG(info.st_mode):
            with open(src, "rb") as reader, open(dst, "xb") as writer:
                while chunk := reader.read(1 << 20):
                    writer.write(chunk)
        else:
            continue  # devices, fifos, sockets: not copied
        os.lchown(dst, info.st_uid, info.st_gid)
        if not stat.S_ISLNK(info.st_mode):
            os.chmod(dst, stat.S_IMODE(info.st_mode))
    info = os.lstat(source)
    os.chown(target, info.st_uid, info.st_gid)
    os.chmod(target, stat.S_IMODE(info.st_mode))


def open_subpath(point: dict[str, Any]) -> int:
    """An O_PATH fd of a volume mount point's subpath, resolved inside the volume."""
    volume_fd = os.open(point["Source"], os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        return openat2.open_in_root(volume_fd, point["Subpath"], os.O_PATH)
    except OSError as err:
        raise errdefs.InvalidArgument(
            f"error while mounting volume '{point['Name']}': cannot access path {point['Subpath']}: "
            f"{err.strerror}") from None
    finally:
        os.close(volume_fd)


def _bind_subpath(point: dict[str, Any]) -> None:
    """Bind the volume's subpath where the runtime expects it. The subpath is resolved inside the
    volume (a symlink in it, written by some container, stays inside) and bound from its fd, so
    what the runtime mounts is what was resolved."""
    target = point["SubpathMount"]
    source_fd = open_subpath(point)
    try:
        is_dir = stat.S_ISDIR(os.fstat(source_fd).st_mode)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        if is_dir:
            os.makedirs(target, exist_ok=True)
        elif not os.path.exists(target):
            open(target, "a").close()
        if os.path.ismount(target):
            return  # bound already (a start after a daemon restart)
        mount_syscall(f"/proc/self/fd/{source_fd}", target, None, MS_BIND | MS_REC)
    finally:
        os.close(source_fd)
