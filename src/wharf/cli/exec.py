"""`exec`: create an exec instance, start it hijacked (or detached), return its exit code."""

from __future__ import annotations

import sys
import time

from wharf import errdefs
from wharf.cli import attach as attaching
from wharf.client.engine import quote_ref

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from wharf.cli.flags import Args
    from wharf.client import EngineClient


def exec_body(args: Args) -> dict[str, Any]:
    from wharf.cli.runconfig import env_entries, read_env_file

    env = []
    for path in args.env_file:
        env += read_env_file(path)
    env += env_entries(args.env)
    body: dict[str, Any] = {
        "User": args.user or "",
        "Privileged": bool(args.privileged),
        "Tty": bool(args.tty),
        "AttachStdin": bool(args.interactive) and not args.detach,
        "AttachStdout": not args.detach,
        "AttachStderr": not args.detach,
        "Detach": bool(args.detach),
        "DetachKeys": args.detach_keys or "",
        "Env": env or None,
        "WorkingDir": args.workdir or "",
        "Cmd": args.args[1:],
    }
    if args.tty and (size := attaching.terminal_size()):
        body["ConsoleSize"] = [size[0], size[1]]
    return body


def exec(client: EngineClient, args: Args) -> int:  # noqa: A001 - the command's name
    try:
        detach_keys = attaching.parse_detach_keys(args.detach_keys)
    except ValueError as err:
        raise errdefs.InvalidArgument(str(err)) from None
    if args.tty and args.interactive and not args.detach and not sys.stdin.isatty():
        sys.stderr.write("the input device is not a TTY\n")
        return 1
    container = quote_ref(args.args[0])
    body = exec_body(args)
    exec_id = client.call("POST", f"/containers/{container}/exec", body=body)["Id"]
    start = {"Detach": bool(args.detach), "Tty": bool(args.tty)}
    if "ConsoleSize" in body:
        start["ConsoleSize"] = body["ConsoleSize"]
    if args.detach:
        client.call("POST", f"/exec/{exec_id}/start", body=start)
        return 0
    sock = client.hijack(f"/exec/{exec_id}/start", body=start)
    session = attaching.Session(
        sock, bool(args.tty), bool(args.interactive), detach_keys,
        resize=lambda h, w: client.call("POST", f"/exec/{exec_id}/resize", {"h": h, "w": w}),
    )
    session.run()
    sock.close()
    if session.detached:
        return 0
    return _exit_code(client, exec_id)


def _exit_code(client: EngineClient, exec_id: str) -> int:
    """The exec's exit code; the daemon may record it a moment after the stream ends."""
    for _ in range(100):
        info = client.call("GET", f"/exec/{exec_id}/json") or {}
        if not info.get("Running") and info.get("ExitCode") is not None:
            return int(info["ExitCode"])
        time.sleep(0.02)
    return 0
