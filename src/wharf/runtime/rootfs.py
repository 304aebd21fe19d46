"""The container's filesystem, built inside its new mount namespace by the init process.

Order (as runc): make / a slave (no mount leaks back to the host), bind the rootfs onto itself,
mount the spec's mounts under it, create /dev nodes and links, allocate the console, pivot_root
into it (or move + chroot with --no-pivot); then read-only root, masked and read-only paths.
"""

from __future__ import annotations

import errno
import os
import stat

from wharf import errdefs
from wharf.linux import mount as m
from wharf.runtime.devices import DEFAULT_DEVICES, DEFAULT_SYMLINKS
from wharf.runtime.specconv import PROPAGATION_FLAGS, Config, Device, Mount

_PROPAGATION_MASK = m.MS_PRIVATE | m.MS_SLAVE | m.MS_SHARED | m.MS_UNBINDABLE


def secure_join(root: str, unsafe_path: str) -> str:
    """ROOT + UNSAFE_PATH with every symlink resolved as if ROOT were '/': the result never escapes ROOT."""
    pending = [c for c in reversed(unsafe_path.split("/"))]
    resolved = ""
    links = 0
    while pending:
        part = pending.pop()
        if part in ("", "."):
            continue
        if part == "..":
            resolved = resolved.rpartition("/")[0]
            continue
        candidate = f"{resolved}/{part}"
        try:
            info = os.lstat(root + candidate)
        except FileNotFoundError:
            resolved = candidate
            continue
        if stat.S_ISLNK(info.st_mode):
            links += 1
            if links > 255:
                raise OSError(errno.ELOOP, "too many symlinks", unsafe_path)
            target = os.readlink(root + candidate)
            if target.startswith("/"):
                resolved = ""
            pending.extend(reversed(target.split("/")))
            continue
        resolved = candidate
    return root + resolved if resolved else root


def prepare_root(config: Config) -> None:
    """Cut propagation to the host and make the rootfs a mount point (pivot_root needs one)."""
    flags = PROPAGATION_FLAGS.get(config.rootfs_propagation, m.MS_SLAVE | m.MS_REC)
    m.mount(None, "/", None, flags)
    if flags & m.MS_SHARED:
        # pivot_root refuses a new root whose parent mount is shared: make just that one private.
        m.mount(None, _mount_point_of(config.rootfs), None, m.MS_PRIVATE)
    m.mount(config.rootfs, config.rootfs, None, m.MS_BIND | m.MS_REC)


def _mount_point_of(path: str) -> str:
    """The mount point of the mount that PATH is on (the longest mount point that contains it)."""
    best = "/"
    with open("/proc/self/mountinfo") as f:
        for line in f:
            point = line.split()[4].replace("\\040", " ")
            if (path == point or path.startswith(point.rstrip("/") + "/")) and len(point) > len(best):
                best = point
    return best


def apply_root_propagation(config: Config) -> None:
    """After pivot_root: give / the propagation the spec asked for (it was cut to pivot)."""
    if config.rootfs_propagation:
        m.mount(None, "/", None, PROPAGATION_FLAGS[config.rootfs_propagation])


def mount_all(config: Config, cgroup_paths: dict[str, str]) -> None:
    for mount in config.mounts:
        try:
            mount_one(config, mount, cgroup_paths)
        except OSError as err:
            raise errdefs.System(
                f"mount {mount.source or mount.type} to {mount.destination}: {err.strerror or err}"
            ) from err


def mount_one(config: Config, mount: Mount, cgroup_paths: dict[str, str]) -> None:
    dest = secure_join(config.rootfs, mount.destination)
    opts = mount.options
    if mount.type == "cgroup" or mount.type == "cgroup2":
        _mount_cgroups(dest, mount, cgroup_paths)
    elif opts.is_bind:
        source = mount.source if mount.source.startswith("/") else os.path.join(config.bundle, mount.source)
        if not os.path.exists(source):
            raise errdefs.InvalidArgument(f"mount source {source} for {mount.destination} does not exist")
        _make_target(dest, os.path.isdir(source))
        m.mount(source, dest, None, m.MS_BIND | (opts.flags & m.MS_REC))
        extra = opts.flags & ~(m.MS_BIND | m.MS_REC | m.MS_REMOUNT)
        if extra:
            m.mount(None, dest, None, m.MS_BIND | m.MS_REMOUNT | extra)
    else:
        if os.path.islink(dest):
            raise errdefs.InvalidArgument(f"mount destination {mount.destination} is a symlink")
        _make_target(dest, True)
        data = opts.data
        m.mount(mount.source or mount.type, dest, mount.type, opts.flags & ~_PROPAGATION_MASK, data or None)
    for flag in opts.propagation:
        m.mount(None, dest, None, flag)


def _make_target(dest: str, is_dir: bool) -> None:
    if is_dir:
        os.makedirs(dest, exist_ok=True)
    elif not os.path.exists(dest):
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        os.close(os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o644))


def _mount_cgroups(dest: str, mount: Mount, cgroup_paths: dict[str, str]) -> None:
    """Show the container its own cgroups: a tmpfs with each hierarchy's container dir bound in (v1),
    or the container's unified dir bound at DEST (v2)."""
    readonly = mount.options.flags & m.MS_RDONLY
    _make_target(dest, True)
    if set(cgroup_paths) == {"unified"} and not os.path.exists("/sys/fs/cgroup/unified"):
        m.mount(cgroup_paths["unified"], dest, None, m.MS_BIND | m.MS_REC)
        if readonly:
            m.mount(None, dest, None, m.MS_BIND | m.MS_REMOUNT | m.MS_RDONLY | m.MS_NOSUID | m.MS_NODEV
                    | m.MS_NOEXEC)
        return
    m.mount("tmpfs", dest, "tmpfs", m.MS_NOSUID | m.MS_NODEV | m.MS_NOEXEC, "mode=755")
    from wharf.runtime.cgroups.v1 import hierarchies

    mount_points = hierarchies()
    names: dict[str, str] = {}  # container cgroup dir -> its name under DEST (the host's: "cpu,cpuacct")
    links: list[tuple[str, str]] = []
    for key, path in cgroup_paths.items():
        if key == "unified":  # as runc, a hybrid host's controller-less v2 tree is not shown
            continue
        name = os.path.basename(mount_points.get(key, key.removeprefix("name=")))
        names.setdefault(path, name)
        if key.removeprefix("name=") != name:
            links.append((name, key.removeprefix("name=")))
    for path, name in names.items():
        target = os.path.join(dest, name)
        os.makedirs(target, exist_ok=True)
        m.mount(path, target, None, m.MS_BIND | m.MS_REC)
        flags = m.MS_NOSUID | m.MS_NODEV | m.MS_NOEXEC | (m.MS_RDONLY if readonly else 0)
        m.mount(None, target, None, m.MS_BIND | m.MS_REMOUNT | flags)
    for name, link in links:  # co-mounted controllers: cpu -> cpu,cpuacct
        if not os.path.lexists(os.path.join(dest, link)):
            os.symlink(name, os.path.join(dest, link))
    if readonly:
        m.mount(None, dest, None, m.MS_REMOUNT | m.MS_RDONLY | m.MS_NOSUID | m.MS_NODEV | m.MS_NOEXEC,
                "mode=755")


def create_devices(config: Config) -> None:
    """mknod the default and the spec's devices, and /dev's usual symlinks (unless /dev is a bind)."""
    if any(mt.destination == "/dev" and mt.options.is_bind for mt in config.mounts):
        return
    old_umask = os.umask(0)
    try:
        for device in list(DEFAULT_DEVICES) + config.devices:
            _make_device(config.rootfs, device)
    finally:
        os.umask(old_umask)
    for target, link in DEFAULT_SYMLINKS:
        path = secure_join(config.rootfs, link)
        if link == "/dev/ptmx" and os.path.lexists(path):
            os.unlink(path)
        if link == "/dev/core" and not os.path.exists("/proc/kcore"):
            continue
        try:
            os.symlink(target, path)
        except FileExistsError:
            pass


def _make_device(rootfs: str, device: Device) -> None:
    path = secure_join(rootfs, device.path)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    kind = {"c": stat.S_IFCHR, "u": stat.S_IFCHR, "b": stat.S_IFBLK, "p": stat.S_IFIFO}[device.type]
    if os.path.lexists(path):
        os.unlink(path)
    try:
        os.mknod(path, kind | (device.file_mode & 0o7777), os.makedev(device.major, device.minor))
    except PermissionError:
        # No CAP_MKNOD here: bind the host's node instead.
        _make_target(path, False)
        m.mount(device.path, path, None, m.MS_BIND)
        return
    os.chown(path, device.uid, device.gid)


def bind_console(rootfs: str, slave_path_in_container: str) -> None:
    """Bind the pty slave over /dev/console so the container's console is its terminal."""
    console = secure_join(rootfs, "/dev/console")
    _make_target(console, False)
    m.mount(secure_join(rootfs, slave_path_in_container), console, None, m.MS_BIND)


def pivot(rootfs: str) -> None:
    """pivot_root(".", ".") trick: stack the old root under the new one, then detach it."""
    old_root = os.open("/", os.O_DIRECTORY | os.O_RDONLY | os.O_CLOEXEC)
    new_root = os.open(rootfs, os.O_DIRECTORY | os.O_RDONLY | os.O_CLOEXEC)
    try:
        os.fchdir(new_root)
        m.pivot_root(".", ".")
        os.fchdir(old_root)
        # The old root may still propagate to the host: make it a slave before detaching it.
        m.mount(None, ".", None, m.MS_SLAVE | m.MS_REC)
        m.umount2(".", m.MNT_DETACH)
    finally:
        os.close(old_root)
        os.close(new_root)
    os.chdir("/")


def move_root(rootfs: str) -> None:
    """--no-pivot: move the rootfs over / and chroot into it (for ramfs roots where pivot_root fails)."""
    os.chdir(rootfs)
    m.mount(rootfs, "/", None, m.MS_MOVE)
    os.chroot(".")
    os.chdir("/")


def finish_root(config: Config) -> None:
    """Steps done inside the new root: read-only paths, masked paths, read-only /."""
    for path in config.readonly_paths:
        try:
            m.mount(path, path, None, m.MS_BIND | m.MS_REC)
            m.mount(None, path, None, m.MS_BIND | m.MS_REMOUNT | m.MS_RDONLY | m.MS_REC)
        except FileNotFoundError:
            continue
    for path in config.masked_paths:
        try:
            if os.path.isdir(path):
                m.mount("tmpfs", path, "tmpfs", m.MS_RDONLY)
            else:
                m.mount("/dev/null", path, None, m.MS_BIND)
        except FileNotFoundError:
            continue
    if config.root_readonly:
        m.mount(None, "/", None, m.MS_BIND | m.MS_REMOUNT | m.MS_RDONLY | _locked_flags("/"))


def _locked_flags(path: str) -> int:
    """The nosuid/nodev/noexec flags already on a mount: a bind remount must repeat them."""
    flags = 0
    info = os.statvfs(path)
    for bit, ms in ((os.ST_NOSUID, m.MS_NOSUID), (os.ST_NODEV, m.MS_NODEV), (os.ST_NOEXEC, m.MS_NOEXEC)):
        if info.f_flag & bit:
            flags |= ms
    return flags


def write_sysctls(sysctl: dict[str, str]) -> None:
    for key, value in sysctl.items():
        path = "/proc/sys/" + key.replace(".", "/")
        with open(path, "w") as f:
            f.write(value)
