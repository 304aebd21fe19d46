"""A container's filesystem as wharfd reaches it, with every lookup kept inside it.

A running container is reached through `/proc/<pid>/root` (its root with its volumes and tmpfs, as
its processes see them); a stopped one through its snapshot, mounted for the length of one request.
Paths are resolved with openat2(RESOLVE_IN_ROOT): a symlink in the container (`/etc -> /`,
`x -> ../../../../host`) is interpreted as if the container's root were `/`, so a copy can't be led
onto the host (the CVE-2018-15664 class). Only fds cross this module's boundary, never host paths.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import stat
import tempfile
from collections.abc import AsyncIterator
from typing import Any

from wharf import errdefs
from wharf.containerd.core.snapshots import Mount
from wharf.daemon.backend.mounts import open_subpath
from wharf.daemon.backend.record import ContainerRecord
from wharf.daemon.backend.supervisor import Supervisor
from wharf.linux import mount as linux_mount
from wharf.linux import openat2


def open_in_root(root_fd: int, path: str, flags: int, mode: int = 0) -> int:
    """Open `path` resolved as if `root_fd` were `/`, crossing mount points inside as the container
    sees them (magic links like /proc/self/root are refused)."""
    return openat2.open_in_root(root_fd, path, flags, mode, cross_mounts=True)


def split_container_path(path: str) -> tuple[str, str]:
    """`/a/b/c` → (`/a/b`, `c`); the root is (`/`, `.`)."""
    clean = os.path.normpath("/" + path)
    if clean == "/":
        return "/", "."
    parent, name = os.path.split(clean)
    return parent, name


def resolve_in_root(root_fd: int, path: str) -> str:
    """The container-absolute path `path` leads to once every symlink is followed inside the root
    (Docker's linkTarget). /proc/self/fd of an opened fd would name the host's path, so links are
    followed by hand here, each step inside the root; a missing directory ends the resolution."""
    parts = [p for p in os.path.normpath("/" + path).split("/") if p]
    resolved: list[str] = []
    hops = 0
    while parts:
        part = parts.pop(0)
        if part == "..":
            if resolved:
                resolved.pop()
            continue
        candidate = "/" + "/".join([*resolved, part])
        try:
            parent_fd = open_in_root(root_fd, "/" + "/".join(resolved), os.O_PATH | os.O_DIRECTORY)
        except OSError:  # a missing directory: the rest of the path is taken as it is
            resolved.append(part)
            continue
        try:
            target = os.readlink(part, dir_fd=parent_fd)
        except OSError:
            resolved.append(part)
            continue
        finally:
            os.close(parent_fd)
        hops += 1
        if hops > 40:
            raise OSError(errno.ELOOP, os.strerror(errno.ELOOP), candidate)
        if target.startswith("/"):
            resolved = []
        parts = [p for p in target.split("/") if p and p != "."] + parts
    return "/" + "/".join(resolved)


@contextlib.asynccontextmanager
async def container_root(
    supervisor: Supervisor, record: ContainerRecord, with_mount_points: bool = False
) -> AsyncIterator[int]:
    """An O_PATH fd of the container's root for the length of the block; `with_mount_points`: a
    stopped container's volumes and binds are mounted in it, as its processes would see them."""
    if record.state.running and record.state.pid:
        try:
            fd = os.open(f"/proc/{record.state.pid}/root", os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
        except OSError as err:
            raise errdefs.Conflict(f"container {record.id}: its process is gone: {err}") from err
        try:
            yield fd
        finally:
            os.close(fd)
        return
    mounts = await supervisor.snapshots.mounts(record.id)
    target = tempfile.mkdtemp(prefix="wharf-rootfs-")
    try:
        _mount_all(mounts, target)
        try:
            fd = os.open(target, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
            try:
                if with_mount_points:
                    _bind_mount_points(fd, record.mount_points)
                yield fd
            finally:
                os.close(fd)
        finally:
            # Lazy: takes the volumes bound inside along with the root.
            linux_mount.umount2(target, linux_mount.MNT_DETACH)
    finally:
        shutil.rmtree(target, ignore_errors=True)


def _bind_mount_points(root_fd: int, points: list[dict[str, Any]]) -> None:
    """Bind the container's volumes and bind mounts where it would see them, as Docker does for a
    copy into or out of a stopped container; tmpfs mounts have nothing to show. Each destination is
    resolved inside the root and mounted on through its fd, so a symlink can't move it to the host."""
    for point in sorted(points, key=lambda p: os.path.normpath(p["Destination"]).count("/")):
        if point["Type"] not in ("bind", "volume") or not point.get("Source"):
            continue
        source_fd = open_subpath(point) if point.get("Subpath") else os.open(point["Source"], os.O_PATH | os.O_CLOEXEC)
        try:
            try:
                is_dir = stat.S_ISDIR(os.fstat(source_fd).st_mode)
                destination_fd = _mount_point_in_root(root_fd, point["Destination"], is_dir)
            except OSError as err:
                raise errdefs.System(f"cannot mount {point['Destination']} for the copy: {err}") from err
            try:
                linux_mount.mount(f"/proc/self/fd/{source_fd}", f"/proc/self/fd/{destination_fd}", None,
                                  linux_mount.MS_BIND | linux_mount.MS_REC)
            finally:
                os.close(destination_fd)
        finally:
            os.close(source_fd)


def _mount_point_in_root(root_fd: int, destination: str, is_dir: bool) -> int:
    """An O_PATH fd of `destination` inside the root, made (as the runtime would) when missing.
    The path is resolved first, then walked without following any link: a link that appears
    meanwhile is an error, not a way out."""
    parts = [p for p in resolve_in_root(root_fd, destination).split("/") if p]
    directory_flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
    parent_fd = os.open(f"/proc/self/fd/{root_fd}", directory_flags & ~os.O_NOFOLLOW)
    try:
        for name in parts[:-1]:
            with contextlib.suppress(FileExistsError):
                os.mkdir(name, 0o755, dir_fd=parent_fd)
            child_fd = os.open(name, directory_flags, dir_fd=parent_fd)
            os.close(parent_fd)
            parent_fd = child_fd
        if not parts:
            return os.open(".", os.O_PATH | os.O_CLOEXEC, dir_fd=parent_fd)
        name = parts[-1]
        if is_dir:
            with contextlib.suppress(FileExistsError):
                os.mkdir(name, 0o755, dir_fd=parent_fd)
        else:
            with contextlib.suppress(FileExistsError):
                os.close(os.open(name, os.O_CREAT | os.O_EXCL | os.O_WRONLY | os.O_CLOEXEC, 0o644, dir_fd=parent_fd))
        return os.open(name, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=parent_fd)
    finally:
        os.close(parent_fd)


def _mount_all(mounts: list[Mount], target: str) -> None:
    for m in mounts:
        if m.type == "bind":
            flags = linux_mount.MS_BIND | (linux_mount.MS_REC if "rbind" in m.options else 0)
            linux_mount.mount(m.source, target, None, flags)
            continue
        flags = linux_mount.MS_RDONLY if "ro" in m.options else 0
        data = ",".join(opt for opt in m.options if opt not in ("ro", "rw"))
        linux_mount.mount(m.source, target, m.type, flags, data or None)
