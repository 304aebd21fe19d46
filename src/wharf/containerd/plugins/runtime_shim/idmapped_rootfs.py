"""The rootfs of a task in its own user namespace (the spec has linux.uidMappings, as userns-remap
gives): mounted through idmapped views of the snapshot's directories, so the container's root
(a host uid from a subordinate range) owns its files while they stay owned by 0 on disk: layers are
shared with every other container, and diff/commit/cp see the ids of the image.

overlayfs itself cannot be idmapped here, but its layers can (Linux >= 5.19): each lowerdir, and
the snapshot's dir holding upperdir and workdir, gets an idmapped bind under `<bundle>/.idmapped/`,
and overlay is mounted over those by a thread whose fsuid/fsgid are the container's root, because
overlayfs creates upper files with its mounter's credentials and those must map into the view.
"""

from __future__ import annotations

import errno
import os
import threading
from pathlib import Path
from typing import Any

from wharf import errdefs
from wharf.containerd.core.snapshots import Mount
from wharf.containerd.mount import mount, unmount
from wharf.linux import idmap
from wharf.linux.fsids import run_with_fs_ids

VIEWS_DIR = ".idmapped"

_namespaces: dict[tuple[tuple[idmap.IdMap, ...], tuple[idmap.IdMap, ...]], int] = {}
"""One user namespace fd per distinct mapping, kept for the supervisor's life (cheap, and spares a
helper process per container)."""
_namespaces_lock = threading.Lock()


def id_maps(spec: dict[str, Any]) -> tuple[list[idmap.IdMap], list[idmap.IdMap]] | None:
    """The uid and gid mappings of a task in its own user namespace (made by the runtime, or
    joined by path with its mappings given too, as wharfd does), else None."""
    linux = spec.get("linux") or {}
    user = [ns for ns in linux.get("namespaces") or [] if ns.get("type") == "user"]
    if not user or not linux.get("uidMappings") or not linux.get("gidMappings"):
        return None
    try:
        return ([(int(m["containerID"]), int(m["hostID"]), int(m["size"])) for m in linux["uidMappings"]],
                [(int(m["containerID"]), int(m["hostID"]), int(m["size"])) for m in linux["gidMappings"]])
    except (KeyError, TypeError, ValueError) as err:
        raise errdefs.InvalidArgument(f"bad uidMappings/gidMappings: {err}") from err


def _host_id(mappings: list[idmap.IdMap], inner: int) -> int:
    for start, outer, count in mappings:
        if start <= inner < start + count:
            return outer + inner - start
    raise errdefs.InvalidArgument(f"the mappings do not map id {inner}")


def _user_namespace(uid_map: list[idmap.IdMap], gid_map: list[idmap.IdMap]) -> int:
    key = (tuple(uid_map), tuple(gid_map))
    with _namespaces_lock:
        if key not in _namespaces:
            _namespaces[key] = idmap.user_namespace(uid_map, gid_map)
        return _namespaces[key]


def mount_rootfs(bundle: Path, spec: dict[str, Any], mounts: list[Mount], rootfs: Path) -> bool:
    """Mount `mounts` on `rootfs` idmapped for the spec's user namespace; False if it has none."""
    maps = id_maps(spec)
    if maps is None:
        return False
    uid_map, gid_map = maps
    if not idmap.supported():
        raise errdefs.FailedPrecondition("user namespace remapping needs idmapped mounts on this architecture")
    userns_fd = _user_namespace(uid_map, gid_map)
    views = bundle / VIEWS_DIR
    views.mkdir(mode=0o700, exist_ok=True)
    counter = iter(range(1 << 20))

    def view_of(source: str) -> str:
        target = views / str(next(counter))
        target.mkdir(exist_ok=True)
        try:
            idmap.bind_idmapped(source, str(target), userns_fd)
        except OSError as err:
            raise errdefs.FailedPrecondition(f"idmapped mount of {source}: {err.strerror} "
                                             "(user namespace remapping needs a filesystem that supports it)") from err
        return str(target)

    try:
        for m in mounts:
            if m.type == "bind":
                mount(Mount("bind", view_of(m.source), [o for o in m.options if o != "rbind"]), rootfs)
            elif m.type == "overlay":
                options = _idmapped_overlay_options(m.options, view_of)
                _mount_as(Mount("overlay", m.source, options), rootfs,
                          _host_id(uid_map, 0), _host_id(gid_map, 0))
            else:
                mount(m, rootfs)
    except BaseException:
        unmount(rootfs)
        release_views(bundle)
        raise
    return True


def _idmapped_overlay_options(options: list[str], view_of: Any) -> list[str]:
    values = dict(o.split("=", 1) for o in options if "=" in o)
    flags = [o for o in options if "=" not in o]
    rewritten = [*flags]
    if "lowerdir" in values:
        rewritten.append("lowerdir=" + ":".join(view_of(d) for d in values["lowerdir"].split(":")))
    if "upperdir" in values:
        upper, work = Path(values["upperdir"]), Path(values.get("workdir", ""))
        if upper.parent != work.parent:
            raise errdefs.FailedPrecondition("idmapped overlay: upperdir and workdir must share a parent")
        base = view_of(str(upper.parent))
        rewritten += [f"upperdir={base}/{upper.name}", f"workdir={base}/{work.name}"]
    rewritten += [f"{k}={v}" for k, v in values.items() if k not in ("lowerdir", "upperdir", "workdir")]
    return rewritten


def _mount_as(m: Mount, target: Path, uid: int, gid: int) -> None:
    """mount(2) as the remapped root: the overlay's new files in upperdir get its ids."""
    run_with_fs_ids(uid, gid, lambda: mount(m, target))



def release_views(bundle: Path) -> None:
    """Unmount and remove the idmapped views of a bundle (after its rootfs is unmounted)."""
    views = bundle / VIEWS_DIR
    try:
        names = os.listdir(views)
    except FileNotFoundError:
        return
    for name in names:
        try:
            unmount(views / name)
        except OSError as err:
            if err.errno != errno.ENOENT:
                raise errdefs.System(f"bundle {bundle.name}: unmount idmapped view {name}: {err}") from err
        if os.path.ismount(views / name):  # never let the bundle's rmtree reach into a layer
            raise errdefs.System(f"bundle {bundle.name}: idmapped view {name} is still mounted")
        try:
            os.rmdir(views / name)
        except OSError:
            pass
    try:
        os.rmdir(views)
    except OSError:
        pass
