"""`RUN --mount=…`, as BuildKit offers it (beyond the classic builder): `type=cache` (a directory
kept under `<data-root>/builder/work/cache-mounts/` across builds, by `id` or target), `type=bind`
(a path of the context or of a stage/image, read-only unless `rw`, and then a throw-away copy:
writes never reach the context or the source stage) and `type=tmpfs`.

Bind sources count in the RUN's cache key (their checksum), so a changed bound file re-runs it."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import secrets
import shutil
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from wharf import errdefs
from wharf.daemon.builder.context import resolve_in_root
from wharf.daemon.builder.sources import ContextSource, CopySource, DirectorySource

if TYPE_CHECKING:
    from wharf.daemon.builder.evaluator import BuildRun, Stage


@dataclass
class RunMount:
    kind: str
    target: str
    source: str = ""
    from_stage: str = ""
    identifier: str = ""
    readonly: bool | None = None
    mode: int | None = None
    uid: int | None = None
    gid: int | None = None
    size: str = ""


def parse_mount(value: str) -> RunMount:
    fields: dict[str, str] = {}
    flags: set[str] = set()
    for item in value.split(","):
        key, sep, val = item.strip().partition("=")
        if sep:
            fields[key.lower()] = val
        elif key:
            flags.add(key.lower())
    kind = fields.pop("type", "bind")
    target = fields.pop("target", "") or fields.pop("dst", "") or fields.pop("destination", "")
    if not target:
        raise errdefs.InvalidArgument(f"RUN --mount={value}: a target is required")
    readonly: bool | None = None
    if "ro" in flags or "readonly" in flags or fields.get("readonly", fields.get("ro", "")).lower() == "true":
        readonly = True
    if "rw" in flags or "readwrite" in flags or fields.get("rw", fields.get("readwrite", "")).lower() == "true":
        readonly = False
    try:
        mode = int(fields["mode"], 8) if "mode" in fields else None
        uid = int(fields["uid"]) if "uid" in fields else None
        gid = int(fields["gid"]) if "gid" in fields else None
    except ValueError:
        raise errdefs.InvalidArgument(f"RUN --mount={value}: invalid mode, uid or gid") from None
    if kind not in ("cache", "bind", "tmpfs"):
        raise errdefs.InvalidArgument(f"RUN --mount: unsupported mount type {kind!r} (cache, bind, tmpfs)")
    return RunMount(kind, target, fields.get("source", fields.get("src", "")), fields.get("from", ""),
                    fields.get("id", ""), readonly, mode, uid, gid, fields.get("size", ""))  # fmt: skip


def _absolute(stage: Stage, target: str) -> str:
    if target.startswith("/"):
        return target
    return os.path.join(stage.state.run_config.get("WorkingDir") or "/", target)


async def prepare_mounts(
    run: BuildRun, stage: Stage, values: list[str], stack: contextlib.AsyncExitStack
) -> tuple[list[dict[str, Any]], str]:
    """(OCI mounts for the RUN container, text for its cache key)."""
    from wharf.daemon.builder.dispatchers import stage_root

    mounts: list[dict[str, Any]] = []
    key_parts: list[str] = []
    for value in values:
        spec = parse_mount(run.expand(stage, value))
        target = _absolute(stage, spec.target)
        if spec.kind == "tmpfs":
            options = ["nosuid", "nodev"] + ([f"size={spec.size}"] if spec.size else [])
            mounts.append({"destination": target, "type": "tmpfs", "source": "tmpfs", "options": options})
            key_parts.append(f"tmpfs:{target}")
        elif spec.kind == "cache":
            name = hashlib.sha256((spec.identifier or target).encode()).hexdigest()[:32]
            host = os.path.join(run.builder.work_dir, "cache-mounts", name)
            if not os.path.isdir(host):
                os.makedirs(host, mode=0o755)
                os.chmod(host, spec.mode if spec.mode is not None else 0o755)
                os.chown(host, spec.uid or 0, spec.gid or 0)
            mounts.append({"destination": target, "type": "bind", "source": host, "options": ["rbind", "rw"]})
            key_parts.append(f"cache:{spec.identifier or target}:{target}")
        else:
            origin: CopySource
            if spec.from_stage:
                origin = DirectorySource(await stage_root(run, stage, spec.from_stage, stack))
            else:
                origin = ContextSource(run.context)
            relative = os.path.normpath("/" + spec.source).lstrip("/")
            try:
                digest = await asyncio.to_thread(origin.checksum, [relative] if relative else [""])
            except errdefs.NotFound:
                raise errdefs.NotFound(f"RUN --mount: source {spec.source or '/'} not found") from None
            await asyncio.to_thread(origin.prepare)
            source = resolve_in_root(origin.root, relative, strict=origin.strict)
            readonly = spec.readonly is not False
            if not readonly:  # writes go to a copy, thrown away after the RUN
                scratch = os.path.join(run.new_mount_dir(), "rw-" + secrets.token_hex(6))
                stack.callback(shutil.rmtree, scratch, True)
                if os.path.isdir(source):
                    await asyncio.to_thread(shutil.copytree, source, scratch, symlinks=True)
                    source = scratch
                else:
                    os.makedirs(scratch)
                    source = await asyncio.to_thread(shutil.copy2, source, scratch)
            mounts.append({"destination": target, "type": "bind", "source": source,
                           "options": ["rbind", "ro" if readonly else "rw"]})  # fmt: skip
            key_parts.append(f"bind:{spec.from_stage}:{relative}:{target}:{readonly}:{digest}")
    return mounts, "\n".join(key_parts)
