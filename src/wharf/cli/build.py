"""`build`: send the context as a tar to `POST /build` and show the daemon's output stream.

The daemon applies .dockerignore; a Dockerfile outside the context (`-f ../x`) travels in the tar
under a hidden name, as the docker CLI does.
"""

from __future__ import annotations

import io
import json
import os
import sys

from wharf import errdefs

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from wharf.cli.flags import Args
    from wharf.client import EngineClient


def context_tar(context: str, dockerfile: str | None) -> tuple[bytes, str]:
    """(the context as an uncompressed tar, the Dockerfile's path inside it)."""
    import tarfile

    buffer = io.BytesIO()
    name = "Dockerfile"
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for entry in sorted(os.listdir(context)):
            tar.add(os.path.join(context, entry), arcname=entry)
        if dockerfile:
            absolute = os.path.abspath(dockerfile)
            root = os.path.abspath(context)
            if absolute.startswith(root + os.sep):
                name = os.path.relpath(absolute, root)
            else:
                name = f".dockerfile.{os.urandom(6).hex()}"
                tar.add(absolute, arcname=name)
    return buffer.getvalue(), name


def build_params(args: Args, dockerfile_name: str) -> dict[str, Any]:
    build_args = {}
    for item in args.build_arg:
        key, sep, value = item.partition("=")
        if sep:
            build_args[key] = value
        elif key in os.environ:
            build_args[key] = os.environ[key]
    return {
        "t": list(args.tag) or None,
        "dockerfile": dockerfile_name,
        "buildargs": json.dumps(build_args) if build_args else None,
        "labels": json.dumps(dict(label.partition("=")[::2] for label in args.label)) if args.label else None,
        "target": args.target or None,
        "nocache": args.no_cache or None,
        "q": args.quiet or None,
        "rm": args.rm,
        "forcerm": args.force_rm or None,
        "pull": args.pull or None,
        "platform": args.platform or None,
        "networkmode": args.network or None,
    }


def build(client: EngineClient, args: Args) -> int:
    from wharf.cli import progress

    context = args.args[0]
    if context == "-":
        data = sys.stdin.buffer.read()
        if len(data) > 262 and data[257:262] == b"ustar":
            body, name = data, args.file or "Dockerfile"
        else:  # a Dockerfile on stdin, no context
            body, name = _single_file_tar("Dockerfile", data), "Dockerfile"
    else:
        if not os.path.isdir(context):
            raise errdefs.InvalidArgument(f'unable to prepare context: path "{context}" not found')
        dockerfile = args.file
        if dockerfile and not os.path.isabs(dockerfile) and not os.path.exists(dockerfile):
            dockerfile = os.path.join(context, dockerfile)
        body, name = context_tar(context, dockerfile)
    stream = client.stream_json("POST", "/build", build_params(args, name), body=body,
                                headers={"Content-Type": "application/x-tar"})
    aux = progress.show(stream, quiet=args.quiet)
    image_id = aux.get("ID", "")
    if args.quiet and image_id:
        print(image_id)
    if args.iidfile and image_id:
        with open(args.iidfile, "w", encoding="utf-8") as handle:
            handle.write(image_id)
    return 0


def _single_file_tar(name: str, data: bytes) -> bytes:
    import tarfile

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo(name)
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()
