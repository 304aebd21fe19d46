"""`run` and `create`: create (pulling if needed), then attach, start, wait — as the docker CLI."""

from __future__ import annotations

import sys
import threading

from wharf import errdefs
from wharf.cli import attach as attaching
from wharf.cli.flags import ExitStatus
from wharf.client import APIError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from wharf.cli.flags import Args
    from wharf.client import EngineClient


def status_of_start_error(message: str) -> int:
    """docker's toStatusError: 127 the command is missing, 126 it cannot be invoked, else 125."""
    if "executable file not found" in message or "no such file or directory" in message \
            or "system cannot find the file specified" in message:
        return 127
    if "permission denied" in message or "is a directory" in message:
        return 126
    return 125


def pull_image(client: EngineClient, image: str, platform: str | None, quiet: bool, out: Any = None) -> None:
    from wharf.cli import auth, progress

    name, tag = split_tag(image)
    params = {"fromImage": name, "tag": tag, "platform": platform or None}
    progress.show(client.stream_json("POST", "/images/create", params, headers=auth.auth_headers(image)),
                  quiet=quiet, out=out or sys.stderr)


def split_tag(image: str) -> tuple[str, str]:
    """'host:5000/app:1' → ('host:5000/app', '1'); a digest stays in the name; no tag → 'latest'."""
    if "@" in image:
        return image, ""
    name, sep, tag = image.rpartition(":")
    if not sep or "/" in tag:
        return image, "latest"
    return name, tag


def create_container(client: EngineClient, args: Args) -> str:
    from wharf.cli.runconfig import container_body

    image, command = args.args[0], args.args[1:]
    body = container_body(args, image, command)
    params = {"name": args.name or None, "platform": args.platform or None}
    if args.pull == "always":
        pull_image(client, image, args.platform, args.quiet)
    try:
        answer = client.call("POST", "/containers/create", params, body)
    except APIError as err:
        if err.status != 404 or "image" not in str(err).lower() or args.pull == "never":
            raise
        sys.stderr.write(f"Unable to find image '{_with_tag(image)}' locally\n")
        pull_image(client, image, args.platform, args.quiet)
        answer = client.call("POST", "/containers/create", params, body)
    for warning in answer.get("Warnings") or []:
        sys.stderr.write(f"WARNING: {warning}\n")
    container_id = str(answer["Id"])
    if args.cidfile:
        with open(args.cidfile, "x", encoding="utf-8") as handle:
            handle.write(container_id)
    return container_id


def _with_tag(image: str) -> str:
    name, tag = split_tag(image)
    return f"{name}:{tag}" if tag else name


def create(client: EngineClient, args: Args) -> int:
    print(create_container(client, args))
    return 0


def run(client: EngineClient, args: Args) -> int:
    try:
        detach_keys = attaching.parse_detach_keys(args.detach_keys)
    except ValueError as err:
        raise errdefs.InvalidArgument(str(err)) from None
    if args.tty and not args.detach and args.interactive and not sys.stdin.isatty():
        sys.stderr.write("the input device is not a TTY\n")
        return 1
    container_id = create_container(client, args)
    if args.detach:
        _start(client, container_id)
        print(container_id)
        return 0

    attach_streams = {s.lower() for s in args.attach}
    params = {"stream": True, "stdin": bool(args.interactive),
              "stdout": not attach_streams or "stdout" in attach_streams,
              "stderr": not attach_streams or "stderr" in attach_streams, "detachKeys": args.detach_keys or None}
    sock = client.hijack(f"/containers/{container_id}/attach", params)
    result: dict[str, Any] = {}
    wait_started = threading.Event()

    def wait_for_exit() -> None:
        condition = "removed" if args.rm else "next-exit"
        try:
            response = client.open("POST", f"/containers/{container_id}/wait", {"condition": condition})
            wait_started.set()  # the daemon registered the wait: no exit can be missed now
            import json

            result.update(json.loads(response.read() or b"{}"))
            response.close()
        except (APIError, errdefs.WharfError, OSError) as err:
            result["Error"] = {"Message": str(err)}
        finally:
            wait_started.set()

    waiter = threading.Thread(target=wait_for_exit, daemon=True)
    waiter.start()
    wait_started.wait(10)
    try:
        _start(client, container_id)
    except ExitStatus:
        sock.close()
        if args.rm:
            _remove_quietly(client, container_id)
        raise
    session = attaching.Session(
        sock, bool(args.tty), bool(args.interactive), detach_keys,
        resize=lambda h, w: client.call("POST", f"/containers/{container_id}/resize", {"h": h, "w": w}),
        forward_signal=(lambda name: client.call("POST", f"/containers/{container_id}/kill", {"signal": name}))
        if args.sig_proxy else None,
    )
    session.run()
    sock.close()
    if session.detached:
        return 0
    waiter.join()
    error = (result.get("Error") or {}).get("Message")
    if error and "StatusCode" not in result:
        sys.stderr.write(f"wharf: {error}\n")
        return 125
    return int(result.get("StatusCode", 0))


def _start(client: EngineClient, container_id: str) -> None:
    try:
        client.call("POST", f"/containers/{container_id}/start")
    except APIError as err:
        raise ExitStatus(status_of_start_error(str(err)), f"Error response from daemon: {err}") from None


def _remove_quietly(client: EngineClient, container_id: str) -> None:
    try:
        client.call("DELETE", f"/containers/{container_id}", {"force": True})
    except errdefs.WharfError:
        pass
