"""Making and removing a task's OCI bundle: `<state>/bundles/<id>/{config.json, rootfs/}`."""

from __future__ import annotations

import copy
import json
import os
import shutil
from pathlib import Path
from typing import Any

from wharf import errdefs
from wharf.containerd.core.snapshots import Mount
from wharf.containerd.mount import mount_all, unmount
from wharf.containerd.plugins.runtime_shim.idmapped_rootfs import mount_rootfs, release_views
from wharf.containerd.plugins.runtime_shim.user import (
    GROUPS_ANNOTATION,
    USER_ANNOTATION,
    resolve_group_names,
    resolve_user,
)


def make_bundle(bundle: Path, spec: dict[str, Any], mounts: list[Mount]) -> None:
    """Mount the rootfs and write config.json; on failure nothing is left mounted."""
    rootfs = bundle / "rootfs"
    rootfs.mkdir(parents=True, exist_ok=True)
    if not mount_rootfs(bundle, spec, mounts, rootfs):  # idmapped when the spec has a user namespace
        mount_all(mounts, rootfs)
    try:
        config = copy.deepcopy(spec)
        config.setdefault("root", {})["path"] = "rootfs"
        user_value = (config.get("annotations") or {}).get(USER_ANNOTATION)
        if user_value:
            process = config.setdefault("process", {})
            current = process.get("user", {})
            resolved = resolve_user(rootfs, user_value)
            # Groups the client added (docker run --group-add) stay, next to the user's own.
            groups = sorted({*current.get("additionalGids", []), *resolved.pop("additionalGids", [])})  # type: ignore[misc]
            process["user"] = {**current, **resolved, **({"additionalGids": groups} if groups else {})}
        group_names = (config.get("annotations") or {}).get(GROUPS_ANNOTATION)
        if group_names:
            user = config.setdefault("process", {}).setdefault("user", {"uid": 0, "gid": 0})
            named = resolve_group_names(rootfs, group_names.split(","))
            user["additionalGids"] = sorted({*user.get("additionalGids", []), *named})
        temp = bundle / "config.json.tmp"
        temp.write_text(json.dumps(config))
        os.replace(temp, bundle / "config.json")
    except BaseException:
        remove_bundle(bundle)
        raise


def remove_bundle(bundle: Path) -> None:
    rootfs = bundle / "rootfs"
    try:
        unmount(rootfs)
    except OSError as err:
        raise errdefs.System(f"bundle {bundle.name}: unmount rootfs: {err}") from err
    if os.path.ismount(rootfs):
        raise errdefs.System(f"bundle {bundle.name}: rootfs is still mounted")
    release_views(bundle)
    shutil.rmtree(bundle, ignore_errors=True)
