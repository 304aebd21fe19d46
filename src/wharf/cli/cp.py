"""`cp`: tar archives to and from a container through `/containers/{id}/archive`."""

from __future__ import annotations

import io
import os
import sys

from wharf import errdefs
from wharf.client import APIError
from wharf.client.engine import quote_ref

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from wharf.cli.flags import Args
    from wharf.client import EngineClient


def split_container_path(text: str) -> tuple[str | None, str]:
    """'box:/etc' → ('box', '/etc'); a local path (even with a colon after a slash) → (None, path)."""
    if text.startswith((".", "/")) or ":" not in text:
        return None, text
    container, _, path = text.partition(":")
    return container, path


def _stat(client: EngineClient, container: str, path: str) -> dict[str, Any] | None:
    import base64
    import json

    try:
        response = client.open("HEAD", f"/containers/{quote_ref(container)}/archive", {"path": path})
    except APIError as err:
        if err.status == 404 and "No such container" not in str(err):
            return None
        raise
    response.close()
    header = response.getheader("X-Docker-Container-Path-Stat")
    return json.loads(base64.b64decode(header)) if header else {}


def cp(client: EngineClient, args: Args) -> int:
    source, destination = args.args
    source_container, source_path = split_container_path(source)
    dest_container, dest_path = split_container_path(destination)
    if source_container and dest_container:
        raise errdefs.InvalidArgument("copying between containers is not supported")
    if not source_container and not dest_container:
        raise errdefs.InvalidArgument("must specify at least one container source")
    if source_container:
        return _copy_from(client, source_container, source_path, dest_path)
    return _copy_to(client, source_path, dest_container or "", dest_path, args.archive, args.follow_link)


def _copy_from(client: EngineClient, container: str, path: str, destination: str) -> int:
    import tarfile

    response = client.open("GET", f"/containers/{quote_ref(container)}/archive", {"path": path})
    if destination == "-":
        out = sys.stdout.buffer
        while chunk := response.read1():
            out.write(chunk)
        out.flush()
        return 0
    data = response.read()
    response.close()
    if os.path.isdir(destination):
        target_dir, rename = destination, None
    else:
        parent = os.path.dirname(os.path.abspath(destination))
        if not os.path.isdir(parent):
            raise errdefs.NotFound(f"no such directory: {parent}")
        target_dir, rename = parent, os.path.basename(destination)
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        members = archive.getmembers()
        if rename and members:
            top = members[0].name.split("/")[0]
            for member in members:
                first, sep, rest = member.name.partition("/")
                if first == top:
                    member.name = rename + sep + rest
        archive.extractall(target_dir, members=members, filter="tar")
    return 0


def _copy_to(client: EngineClient, source: str, container: str, destination: str, archive: bool,
             follow: bool) -> int:
    import tarfile

    if source == "-":
        body: Any = sys.stdin.buffer
        target_dir = destination
    else:
        if not os.path.lexists(source):
            raise errdefs.NotFound(f'stat {source}: no such file or directory')
        stat = _stat(client, container, destination)
        if stat is not None and stat.get("mode", 0) & (1 << 31):  # Go's os.ModeDir
            target_dir, name = destination, os.path.basename(os.path.normpath(source))
        else:
            target_dir, name = os.path.dirname(destination.rstrip("/")) or "/", os.path.basename(
                destination.rstrip("/"))
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w") as tar:
            def owner(info: tarfile.TarInfo) -> tarfile.TarInfo:
                if not archive:
                    info.uid = info.gid = 0
                    info.uname = info.gname = "root"
                return info

            tar.dereference = follow
            tar.add(source, arcname=name, filter=owner)
        body = buffer.getvalue()
    client.call("PUT", f"/containers/{quote_ref(container)}/archive",
                {"path": target_dir, "copyUIDGID": archive or None}, body=body,
                headers={"Content-Type": "application/x-tar"})
    return 0
