"""`--userns-remap`: containers' root is an unprivileged host uid/gid range, as in Docker.

`default` uses (and creates when missing, as dockerd does) the user `dockremap` and its ranges in
/etc/subuid and /etc/subgid; `<user>[:<group>]` uses that user's (and group's) ranges, which must
exist. Each container then gets a user namespace mapping its ids 0..n-1 to the range, unless it
asks for `--userns=host`. Its rootfs is idmapped by the supervisor (see
containerd/plugins/runtime_shim/idmapped_rootfs.py), so images are stored once for every range.
"""

from __future__ import annotations

import fcntl
import grp
import os
import pwd
import subprocess
from dataclasses import dataclass
from typing import Any

from wharf import errdefs

DEFAULT_USER = "dockremap"
RANGE_SIZE = 65536
FIRST_ID = 100000
SUBUID, SUBGID = "/etc/subuid", "/etc/subgid"


@dataclass(frozen=True)
class IdRemap:
    """The host ids a remapped container's ids 0..size-1 become."""
    user: str
    group: str
    uid_start: int
    uid_size: int
    gid_start: int
    gid_size: int

    @property
    def root(self) -> tuple[int, int]:
        """The host uid and gid of the containers' root."""
        return self.uid_start, self.gid_start

    def uid_mappings(self) -> list[dict[str, int]]:
        return [{"containerID": 0, "hostID": self.uid_start, "size": self.uid_size}]

    def gid_mappings(self) -> list[dict[str, int]]:
        return [{"containerID": 0, "hostID": self.gid_start, "size": self.gid_size}]


def _ranges(path: str, names: set[str]) -> list[tuple[int, int]]:
    """(start, size) entries of /etc/sub[ug]id whose owner is one of `names` (a name or a number)."""
    found = []
    try:
        with open(path) as source:
            for line in source:
                fields = line.strip().split(":")
                if len(fields) == 3 and fields[0] in names and fields[1].isdigit() and fields[2].isdigit():
                    found.append((int(fields[1]), int(fields[2])))
    except FileNotFoundError:
        pass
    return found


def _ensure_user(name: str) -> None:
    try:
        pwd.getpwnam(name)
        return
    except KeyError:
        pass
    # As dockerd: a system user with no login and a group of its own.
    done = subprocess.run(["useradd", "--system", "--user-group", "--no-create-home", "--shell", "/bin/false", name],
                          capture_output=True, text=True)
    if done.returncode != 0 and done.returncode != 9:  # 9: made meanwhile by another daemon
        raise errdefs.System(f"userns-remap: cannot create user {name}: {done.stderr.strip()}")


def _ensure_range(path: str, name: str) -> None:
    """Give `name` a range in `path` after every range already there, unless it has one."""
    with open(path, "a+") as ids:
        fcntl.flock(ids, fcntl.LOCK_EX)  # daemons starting at once must not take the same range
        ids.seek(0)
        ends = [FIRST_ID]
        for line in ids.read().splitlines():
            fields = line.strip().split(":")
            if len(fields) != 3 or not (fields[1].isdigit() and fields[2].isdigit()):
                continue
            if fields[0] == name:
                return
            ends.append(int(fields[1]) + int(fields[2]))
        ids.write(f"{name}:{max(ends)}:{RANGE_SIZE}\n")
        ids.flush()
        os.fsync(ids.fileno())


def _one_range(path: str, names: set[str], what: str) -> tuple[int, int]:
    ranges = _ranges(path, names)
    if not ranges:
        raise errdefs.InvalidArgument(f"userns-remap: no subordinate {what} ranges found for {sorted(names)[0]} in {path}")
    # Docker joins several ranges into consecutive mappings; one (the first) is what is used here.
    return ranges[0]


def resolve_userns_remap(value: str) -> IdRemap | None:
    """The remapping `--userns-remap value` asks for (None for ""), creating dockremap if asked."""
    if not value:
        return None
    user, _, group = value.partition(":")
    if user == "default":
        user, group = DEFAULT_USER, DEFAULT_USER
        _ensure_user(DEFAULT_USER)
        _ensure_range(SUBUID, DEFAULT_USER)
        _ensure_range(SUBGID, DEFAULT_USER)
    try:
        entry = pwd.getpwnam(user) if not user.isdigit() else pwd.getpwuid(int(user))
    except KeyError:
        raise errdefs.InvalidArgument(f"userns-remap: user {user} not found") from None
    group = group or entry.pw_name
    try:
        group_entry = grp.getgrnam(group) if not group.isdigit() else grp.getgrgid(int(group))
    except KeyError:
        raise errdefs.InvalidArgument(f"userns-remap: group {group} not found") from None
    uid_start, uid_size = _one_range(SUBUID, {entry.pw_name, str(entry.pw_uid)}, "uid")
    gid_start, gid_size = _one_range(SUBGID, {group_entry.gr_name, str(group_entry.gr_gid)}, "gid")
    return IdRemap(entry.pw_name, group_entry.gr_name, uid_start, uid_size, gid_start, gid_size)


def check_host_config(host_config: dict[str, Any], remap: IdRemap | None) -> None:
    """Refuse what cannot run in a remapped user namespace (as Docker does)."""
    if remap is None or host_config.get("UsernsMode") == "host":
        return
    if host_config.get("Privileged"):
        raise errdefs.InvalidArgument(
            "privileged mode is incompatible with user namespaces.  You must run the container in the host "
            "namespace when running privileged mode")
    if host_config.get("NetworkMode") == "host":
        raise errdefs.InvalidArgument("cannot share the host's network namespace when user namespaces are enabled")
    if host_config.get("PidMode") == "host":
        raise errdefs.InvalidArgument("cannot share the host PID namespace when user namespaces are enabled")


def apply_to_spec(spec: dict[str, Any], host_config: dict[str, Any], remap: IdRemap | None,
                  container_files: list[str]) -> None:
    """Give a container its user namespace and mappings; its files (hostname, hosts, resolv.conf)
    become its root's, so it can change them as in Docker."""
    check_host_config(host_config, remap)
    if remap is None or host_config.get("UsernsMode") == "host":
        return
    mode = str(host_config.get("UsernsMode") or "")
    if mode and mode != "host":
        raise errdefs.InvalidArgument(f"invalid USER mode: {mode}")
    linux = spec.setdefault("linux", {})
    linux["namespaces"] = [ns for ns in linux.get("namespaces", []) if ns.get("type") != "user"]
    linux["namespaces"].append({"type": "user"})
    linux["uidMappings"] = remap.uid_mappings()
    linux["gidMappings"] = remap.gid_mappings()
    _sysfs_as_bind(spec)  # until it joins a user namespace owning its network namespace
    uid, gid = remap.root
    for path in container_files:
        try:
            os.chown(path, uid, gid)
        except FileNotFoundError:
            pass
        directory = os.path.dirname(path)
        # The container's directory stays root's, but its root must reach the files in it.
        try:
            os.chown(directory, 0, gid)
        except FileNotFoundError:
            pass


def join_user_namespace(spec: dict[str, Any], path: str | None) -> None:
    """Join the pinned user namespace at `path` (made with the network namespace the container
    joins, so that namespace is the container root's) instead of making one. The mappings stay in
    the spec: they are that namespace's, and the supervisor idmaps the rootfs with them."""
    linux = spec.get("linux") or {}
    user = [ns for ns in linux.get("namespaces") or [] if ns.get("type") == "user"]
    if path is None or not user:
        return
    user[0]["path"] = path
    for mount in spec.get("mounts") or []:
        if mount.get("destination") == "/sys" and mount.get("source") == "/sys" and mount.get("type") == "bind":
            mount.update({"type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]})


def _sysfs_as_bind(spec: dict[str, Any]) -> None:
    """A sysfs can only be mounted from a user namespace that owns the network namespace, and
    wharfd makes the container's network namespace (owned by the host's) before the task: /sys is
    then a read-only bind of the host's, as runc does for rootless containers."""
    for mount in spec.get("mounts") or []:
        if mount.get("destination") == "/sys" and mount.get("type") == "sysfs":
            mount.update({"type": "bind", "source": "/sys",
                          "options": ["rbind", "nosuid", "noexec", "nodev", "ro"]})
