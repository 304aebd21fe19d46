"""`docker cp` and `docker export`: tars out of and into a container's filesystem.

Everything works from an fd of the container's root (container_fs): the source or destination is
resolved inside it, and below that the walk goes by directory fds with O_NOFOLLOW, so no symlink in
the container (or in the tar being extracted) can make us read or write a host file. Blocking: run
these in a thread.
"""

from __future__ import annotations

import base64
import contextlib
import errno
import json
import os
import shutil
import stat
import tarfile
from dataclasses import dataclass
from typing import IO, Any

from wharf import errdefs
from wharf.daemon.backend.container_fs import open_in_root, resolve_in_root, split_container_path
from wharf.daemon.backend.container_ids import ContainerIds
from wharf.daemon.backend.timefmt import rfc3339nano

# Go's os.FileMode type bits (the CLI decodes the stat header's mode as one).
_GO_MODE_DIR = 1 << 31
_GO_MODE_SYMLINK = 1 << 27
_GO_MODE_DEVICE = 1 << 26
_GO_MODE_NAMED_PIPE = 1 << 25
_GO_MODE_SOCKET = 1 << 24
_GO_MODE_SETUID = 1 << 23
_GO_MODE_SETGID = 1 << 22
_GO_MODE_CHAR_DEVICE = 1 << 21
_GO_MODE_STICKY = 1 << 20
COPY_CHUNK = 1 << 20


def go_file_mode(mode: int) -> int:
    out = mode & 0o777
    kind = stat.S_IFMT(mode)
    if kind == stat.S_IFDIR:
        out |= _GO_MODE_DIR
    elif kind == stat.S_IFLNK:
        out |= _GO_MODE_SYMLINK
    elif kind == stat.S_IFBLK:
        out |= _GO_MODE_DEVICE
    elif kind == stat.S_IFCHR:
        out |= _GO_MODE_DEVICE | _GO_MODE_CHAR_DEVICE
    elif kind == stat.S_IFIFO:
        out |= _GO_MODE_NAMED_PIPE
    elif kind == stat.S_IFSOCK:
        out |= _GO_MODE_SOCKET
    if mode & stat.S_ISUID:
        out |= _GO_MODE_SETUID
    if mode & stat.S_ISGID:
        out |= _GO_MODE_SETGID
    if mode & stat.S_ISVTX:
        out |= _GO_MODE_STICKY
    return out


@dataclass
class Source:
    """Where a copy out starts: the directory holding it and its name there ("." for the directory
    itself, a path ending in `/.`: its contents)."""

    parent: str
    name: str


def source_of(path: str) -> Source:
    if not path:
        raise errdefs.InvalidArgument("path cannot be empty")
    if path == "." or path.endswith("/."):
        return Source(os.path.normpath("/" + path), ".")
    parent, name = split_container_path(path)
    return Source(parent, name)


def _not_found(path: str, container_id: str) -> errdefs.NotFound:
    return errdefs.NotFound(f"Could not find the file {path} in container {container_id}")


def path_stat(root_fd: int, path: str, container_id: str) -> dict[str, Any]:
    """Docker's PathStat of `path` (the last component not followed): name, size, mode, mtime, linkTarget."""
    source = source_of(path)
    try:
        parent_fd = open_in_root(root_fd, source.parent, os.O_PATH | os.O_DIRECTORY)
    except OSError as err:
        raise _not_found(path, container_id) from err
    try:
        st = os.stat(source.name, dir_fd=parent_fd, follow_symlinks=False)
    except OSError as err:
        raise _not_found(path, container_id) from err
    finally:
        os.close(parent_fd)
    link_target = ""
    if stat.S_ISLNK(st.st_mode):
        link_target = resolve_in_root(root_fd, os.path.join(source.parent, source.name))
    name = source.name if source.name != "." or source.parent != "/" else "/"
    return {"name": name, "size": st.st_size, "mode": go_file_mode(st.st_mode),
            "mtime": rfc3339nano(st.st_mtime_ns), "linkTarget": link_target}


def encode_path_stat(stat_info: dict[str, Any]) -> str:
    """The `X-Docker-Container-Path-Stat` header: base64 of the JSON."""
    return base64.b64encode(json.dumps(stat_info).encode()).decode()


# ---- out ------------------------------------------------------------------------------------


class _TarWriter:
    def __init__(self, out: IO[bytes], one_file_system: bool, ids: ContainerIds | None = None) -> None:
        self._tar = tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT)
        self._one_file_system = one_file_system
        self._ids = ids
        self._device: int | None = None
        self._links: dict[tuple[int, int], str] = {}

    def set_device(self, device: int) -> None:
        self._device = device

    def add(self, dir_fd: int, name: str, arcname: str) -> None:
        try:
            st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        except FileNotFoundError:
            return  # removed while we walk
        if self._device is None:
            self._device = st.st_dev
        info = tarfile.TarInfo(arcname)
        info.mode = stat.S_IMODE(st.st_mode)
        info.uid, info.gid = self._ids.in_container(st.st_uid, st.st_gid) if self._ids else (st.st_uid, st.st_gid)
        info.mtime = st.st_mtime
        kind = stat.S_IFMT(st.st_mode)
        if kind != stat.S_IFDIR and st.st_nlink > 1:
            first = self._links.get((st.st_dev, st.st_ino))
            if first is not None:
                info.type, info.linkname = tarfile.LNKTYPE, first
                self._tar.addfile(info)
                return
            self._links[(st.st_dev, st.st_ino)] = arcname
        if kind == stat.S_IFDIR:
            self._add_directory(dir_fd, name, arcname, info, st)
        elif kind == stat.S_IFREG:
            self._add_file(dir_fd, name, info)
        elif kind == stat.S_IFLNK:
            info.type, info.linkname = tarfile.SYMTYPE, os.readlink(name, dir_fd=dir_fd)
            self._tar.addfile(info)
        elif kind in (stat.S_IFCHR, stat.S_IFBLK):
            info.type = tarfile.CHRTYPE if kind == stat.S_IFCHR else tarfile.BLKTYPE
            info.devmajor, info.devminor = os.major(st.st_rdev), os.minor(st.st_rdev)
            self._tar.addfile(info)
        elif kind == stat.S_IFIFO:
            info.type = tarfile.FIFOTYPE
            self._tar.addfile(info)
        # sockets are not archived (Docker skips them too)

    def _add_directory(self, dir_fd: int, name: str, arcname: str, info: tarfile.TarInfo, st: os.stat_result) -> None:
        info.type = tarfile.DIRTYPE
        self._tar.addfile(info)
        if self._one_file_system and st.st_dev != self._device:
            return  # a mount point (export): its own directory entry only
        try:
            fd = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=dir_fd)
        except OSError:
            return
        try:
            for entry in sorted(os.listdir(fd)):
                self.add(fd, entry, f"{arcname.rstrip('/')}/{entry}" if arcname != "." else f"./{entry}")
        finally:
            os.close(fd)

    def _add_file(self, dir_fd: int, name: str, info: tarfile.TarInfo) -> None:
        try:
            fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK, dir_fd=dir_fd)
        except OSError:
            return
        with os.fdopen(fd, "rb") as source:
            st = os.fstat(source.fileno())
            if self._one_file_system and st.st_dev != self._device:
                return  # a file bind-mounted over the rootfs (/etc/hosts): not the container's own
            info.size = st.st_size
            self._tar.addfile(info, _Exactly(source, st.st_size))

    def close(self) -> None:
        self._tar.close()


class _Exactly:
    """Reads exactly `size` bytes: a file that shrinks while archived is padded, one that grows cut."""

    def __init__(self, source: IO[bytes], size: int) -> None:
        self._source, self._left = source, size

    def read(self, n: int = -1) -> bytes:
        n = self._left if n < 0 else min(n, self._left)
        data = self._source.read(n)
        if len(data) < n:
            data += b"\0" * (n - len(data))
        self._left -= len(data)
        return data


def write_archive(root_fd: int, path: str, out: IO[bytes], container_id: str, one_file_system: bool = False,
                  ids: ContainerIds | None = None) -> None:
    """A tar of `path` (named by its base name, as Docker's archive) into `out`, owners as the
    container sees them."""
    source = source_of(path)
    try:
        parent_fd = open_in_root(root_fd, source.parent, os.O_PATH | os.O_DIRECTORY)
    except OSError as err:
        raise _not_found(path, container_id) from err
    try:
        try:
            os.stat(source.name, dir_fd=parent_fd, follow_symlinks=False)
        except OSError as err:
            raise _not_found(path, container_id) from err
        writer = _TarWriter(out, one_file_system, ids)
        writer.add(parent_fd, source.name, source.name if source.name != "." else ".")
        writer.close()
    finally:
        os.close(parent_fd)


# ---- in -------------------------------------------------------------------------------------


MAX_DEPTH = 256
_ARCHIVE_FAULTS = {errno.ENAMETOOLONG, errno.EPERM, errno.ENOTDIR, errno.EISDIR, errno.ELOOP, errno.EEXIST,
                   errno.ENOTEMPTY, errno.EINVAL, errno.EXDEV}


def _entry_parts(name: str) -> list[str]:
    parts = [p for p in name.replace("\\", "/").split("/") if p and p != "."]
    if ".." in parts:
        raise errdefs.InvalidArgument(f"invalid tar entry {name!r}: '..' is not allowed")
    if len(parts) > MAX_DEPTH:  # such trees could not be walked or removed (recursive rmtree)
        raise errdefs.InvalidArgument(f"invalid tar entry {name[:200]!r}…: more than {MAX_DEPTH} levels deep")
    return parts


class _Extractor:
    def __init__(self, dest_fd: int, no_overwrite_dir_non_dir: bool, copy_uid_gid: bool,
                 ids: ContainerIds | None = None) -> None:
        self._ids = ids
        self._dest_fd = dest_fd
        self._no_overwrite = no_overwrite_dir_non_dir
        self._copy_ids = copy_uid_gid

    def _directory(self, parts: list[str]) -> int:
        """An fd of the directory `parts` below the destination, made if missing; never through a
        symlink (a symlink where a directory should be is refused)."""
        fd = os.dup(self._dest_fd)
        for part in parts:
            try:
                next_fd = os.open(part, os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=fd)
            except FileNotFoundError:
                os.mkdir(part, 0o755, dir_fd=fd)
                next_fd = os.open(part, os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=fd)
            except OSError as err:
                os.close(fd)
                if err.errno in (errno.ENOTDIR, errno.ELOOP):
                    raise errdefs.InvalidArgument(f"cannot extract below {'/'.join(parts)}: not a directory") from err
                raise
            os.close(fd)
            fd = next_fd
        return fd

    def _clear(self, parent_fd: int, name: str, member: tarfile.TarInfo) -> os.stat_result | None:
        """Make room for `member`: what is there is replaced (a symlink is removed, never followed)."""
        try:
            st = os.stat(name, dir_fd=parent_fd, follow_symlinks=False)
        except FileNotFoundError:
            return None
        existing_dir = stat.S_ISDIR(st.st_mode)
        if existing_dir and member.isdir():
            return st
        if self._no_overwrite and existing_dir != member.isdir():
            what = "directory" if existing_dir else "non-directory"
            raise errdefs.InvalidArgument(f"cannot overwrite {what} {name!r} with "
                                          f"{'directory' if member.isdir() else 'non-directory'}")
        if existing_dir:
            shutil.rmtree(name, dir_fd=parent_fd)
        else:
            os.unlink(name, dir_fd=parent_fd)
        return None

    def extract(self, tar: tarfile.TarFile) -> None:
        for member in tar:
            parts = _entry_parts(member.name)
            if not parts:
                continue  # the destination itself
            parent_fd = self._directory(parts[:-1])
            try:
                self._extract_one(tar, member, parent_fd, parts[-1])
            finally:
                os.close(parent_fd)

    def _extract_one(self, tar: tarfile.TarFile, member: tarfile.TarInfo, parent_fd: int, name: str) -> None:
        self._clear(parent_fd, name, member)
        mode = member.mode & 0o7777
        if member.isdir():
            with contextlib.suppress(FileExistsError):
                os.mkdir(name, 0o700, dir_fd=parent_fd)
        elif member.isreg():
            fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600,
                         dir_fd=parent_fd)
            with os.fdopen(fd, "wb") as out:
                source = tar.extractfile(member)
                if source is not None:
                    shutil.copyfileobj(source, out, COPY_CHUNK)
        elif member.issym():
            os.symlink(member.linkname, name, dir_fd=parent_fd)
        elif member.islnk():
            self._hardlink(member, parent_fd, name)
            return
        elif member.ischr() or member.isblk() or member.isfifo():
            kind = stat.S_IFCHR if member.ischr() else stat.S_IFBLK if member.isblk() else stat.S_IFIFO
            os.mknod(name, kind | 0o600, os.makedev(member.devmajor, member.devminor), dir_fd=parent_fd)
        else:
            return
        uid, gid = (member.uid, member.gid) if self._copy_ids else (0, 0)
        if self._ids is not None:
            uid, gid = self._ids.to_host(uid, gid)
        os.chown(name, uid, gid, dir_fd=parent_fd, follow_symlinks=False)
        if not member.issym():
            fd = os.open(name, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=parent_fd)
            try:
                os.chmod(f"/proc/self/fd/{fd}", mode)
                os.utime(f"/proc/self/fd/{fd}", ns=(int(member.mtime * 1e9),) * 2)
            finally:
                os.close(fd)

    def _hardlink(self, member: tarfile.TarInfo, parent_fd: int, name: str) -> None:
        target_parts = _entry_parts(member.linkname)
        if not target_parts:
            raise errdefs.InvalidArgument(f"invalid hard link {member.name!r}")
        target_parent = self._directory(target_parts[:-1])
        try:
            source_fd = os.open(target_parts[-1], os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=target_parent)
        except FileNotFoundError as err:  # a link to something the archive (and the container) lacks
            raise errdefs.InvalidArgument(f"invalid hard link {member.name!r}: no {member.linkname!r}") from err
        finally:
            os.close(target_parent)
        try:
            os.link(f"/proc/self/fd/{source_fd}", name, dst_dir_fd=parent_fd, follow_symlinks=True)
        finally:
            os.close(source_fd)


def extract_archive(
    root_fd: int, path: str, archive: IO[bytes], container_id: str,
    no_overwrite_dir_non_dir: bool = False, copy_uid_gid: bool = False, ids: ContainerIds | None = None,
) -> None:  # fmt: skip
    """Extract the tar `archive` into the directory `path` of the container; owners are the
    container's ids (shifted to the host's through `ids` under userns-remap)."""
    try:
        dest_fd = open_in_root(root_fd, path, os.O_PATH)
    except OSError as err:
        raise _not_found(path, container_id) from err
    try:
        if not stat.S_ISDIR(os.fstat(dest_fd).st_mode):
            raise errdefs.InvalidArgument("extraction point is not a directory")
        try:
            tar = tarfile.open(fileobj=archive, mode="r|*")
        except tarfile.TarError as err:
            raise errdefs.InvalidArgument(f"invalid tar archive: {err}") from err
        with tar:
            _Extractor(dest_fd, no_overwrite_dir_non_dir, copy_uid_gid, ids).extract(tar)
    except tarfile.TarError as err:
        raise errdefs.InvalidArgument(f"invalid tar archive: {err}") from err
    except OSError as err:
        if err.errno not in _ARCHIVE_FAULTS:
            raise
        # A name too long, a hardlink to a directory, a path through a file: the archive is bad.
        raise errdefs.InvalidArgument(f"cannot extract the archive: {err.strerror or err}") from err
    finally:
        os.close(dest_fd)


def write_rootfs(root_fd: int, out: IO[bytes], ids: ContainerIds | None = None) -> None:
    """`docker export`: every entry of the root by its relative name, staying on the root's own
    filesystem (/proc, /sys, /dev and files bind-mounted in are not the container's)."""
    writer = _TarWriter(out, one_file_system=True, ids=ids)
    writer.set_device(os.fstat(root_fd).st_dev)
    fd = open_in_root(root_fd, "/", os.O_RDONLY | os.O_DIRECTORY)
    try:
        for entry in sorted(os.listdir(fd)):
            writer.add(fd, entry, entry)
    finally:
        os.close(fd)
    writer.close()
