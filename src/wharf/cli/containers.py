"""Container commands: run, create, start, ps, logs, stop, kill, rm, wait, inspect."""

from __future__ import annotations

import argparse
import json
import sys
import threading
from typing import Any

from wharf.cli import attach
from wharf.cli.output import ago, print_table
from wharf.client import APIError, EngineClient
from wharf.client.engine import quote_ref, read_frames


def add_commands(commands: argparse._SubParsersAction) -> None:
    for name in ("run", "create"):
        parser = commands.add_parser(name, help=f"{name.capitalize()} a new container", add_help=False)
        parser.add_argument("--help", action="help")
        if name == "run":
            parser.add_argument("-d", "--detach", action="store_true")
            parser.add_argument("--rm", action="store_true")
        parser.add_argument("--name")
        parser.add_argument("-e", "--env", action="append", default=[])
        parser.add_argument("-w", "--workdir")
        parser.add_argument("-u", "--user")
        parser.add_argument("-h", "--hostname")
        parser.add_argument("-i", "--interactive", action="store_true")
        parser.add_argument("-t", "--tty", action="store_true")
        parser.add_argument("-l", "--label", action="append", default=[])
        parser.add_argument("-m", "--memory")
        parser.add_argument("--entrypoint")
        parser.add_argument("--runtime")
        parser.add_argument("--network")
        parser.add_argument("image")
        parser.add_argument("command", nargs=argparse.REMAINDER)
        parser.set_defaults(func=run if name == "run" else create)

    parser = commands.add_parser("start", help="Start one or more stopped containers")
    parser.add_argument("containers", nargs="+")
    parser.set_defaults(func=start)

    parser = commands.add_parser("ps", help="List containers")
    parser.add_argument("-a", "--all", action="store_true")
    parser.add_argument("-q", "--quiet", action="store_true")
    parser.add_argument("--no-trunc", action="store_true")
    parser.set_defaults(func=ps)

    parser = commands.add_parser("logs", help="Fetch the logs of a container")
    parser.add_argument("-f", "--follow", action="store_true")
    parser.add_argument("-t", "--timestamps", action="store_true")
    parser.add_argument("-n", "--tail", default="all")
    parser.add_argument("container")
    parser.set_defaults(func=logs)

    for name, helptext in (("stop", "Stop"), ("restart", "Restart")):
        parser = commands.add_parser(name, help=f"{helptext} one or more running containers")
        parser.add_argument("-t", "--time", type=int)
        parser.add_argument("-s", "--signal")
        parser.add_argument("containers", nargs="+")
        parser.set_defaults(func=stop, verb=name)

    parser = commands.add_parser("kill", help="Kill one or more running containers")
    parser.add_argument("-s", "--signal", default="KILL")
    parser.add_argument("containers", nargs="+")
    parser.set_defaults(func=kill)

    parser = commands.add_parser("rm", help="Remove one or more containers")
    parser.add_argument("-f", "--force", action="store_true")
    parser.add_argument("-v", "--volumes", action="store_true")
    parser.add_argument("containers", nargs="+")
    parser.set_defaults(func=rm)

    parser = commands.add_parser("wait", help="Block until containers stop, then print their exit codes")
    parser.add_argument("containers", nargs="+")
    parser.set_defaults(func=wait)

    parser = commands.add_parser("inspect", help="Return low-level information on objects")
    parser.add_argument("--type", choices=("container", "image"))
    parser.add_argument("objects", nargs="+")
    parser.set_defaults(func=inspect)


def _container_body(args: argparse.Namespace) -> dict[str, Any]:
    body: dict[str, Any] = {
        "Image": args.image,
        "Env": args.env,
        "Labels": dict(label.partition("=")[::2] for label in args.label),
        "Tty": args.tty,
        "OpenStdin": args.interactive,
        "StdinOnce": args.interactive,
        "AttachStdin": args.interactive,
        "AttachStdout": True,
        "AttachStderr": True,
        "HostConfig": {},
    }
    if args.command:
        body["Cmd"] = args.command
    if args.entrypoint is not None:
        body["Entrypoint"] = [args.entrypoint] if args.entrypoint else []
    for key, value in (("WorkingDir", args.workdir), ("User", args.user), ("Hostname", args.hostname)):
        if value:
            body[key] = value
    host: dict[str, Any] = body["HostConfig"]
    if getattr(args, "rm", False):
        host["AutoRemove"] = True
    if args.memory:
        host["Memory"] = _parse_bytes(args.memory)
    if args.runtime:
        host["Runtime"] = args.runtime
    if args.network:
        host["NetworkMode"] = args.network
    return body


def _parse_bytes(text: str) -> int:
    units = {"b": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}
    text = text.strip().lower()
    if text[-1:] in units:
        return int(float(text[:-1]) * units[text[-1]])
    return int(text)


def _create(client: EngineClient, args: argparse.Namespace) -> str:
    body = _container_body(args)
    params = {"name": args.name} if args.name else None
    try:
        answer = client.call("POST", "/containers/create", params, body)
    except APIError as err:
        if err.status == 404 and "No such image" in str(err):
            print(f"Unable to find image '{args.image}' locally", file=sys.stderr)
            _pull(client, args.image)
            answer = client.call("POST", "/containers/create", params, body)
        else:
            raise
    for warning in answer.get("Warnings") or []:
        print(f"WARNING: {warning}", file=sys.stderr)
    return str(answer["Id"])


def _pull(client: EngineClient, image: str) -> None:
    name, _, tag = image.partition(":")
    for message in client.stream_json("POST", "/images/create", {"fromImage": name, "tag": tag or "latest"}):
        if "error" in message:
            raise APIError(500, message["error"])


def create(client: EngineClient, args: argparse.Namespace) -> int:
    print(_create(client, args))
    return 0


def run(client: EngineClient, args: argparse.Namespace) -> int:
    container_id = _create(client, args)
    if args.detach:
        client.call("POST", f"/containers/{container_id}/start")
        print(container_id)
        return 0

    stream = client.hijack(
        f"/containers/{container_id}/attach",
        {"stream": True, "stdin": args.interactive, "stdout": True, "stderr": True},
    )
    condition = "removed" if args.rm else "next-exit"
    result: dict[str, Any] = {}

    def wait_for_exit() -> None:
        try:
            result.update(client.call("POST", f"/containers/{container_id}/wait", {"condition": condition}))
        except APIError as err:
            result["Error"] = {"Message": str(err)}

    waiter = threading.Thread(target=wait_for_exit, daemon=True)
    waiter.start()
    client.call("POST", f"/containers/{container_id}/start")
    if args.tty and (size := attach.terminal_size()):
        try:
            client.call("POST", f"/containers/{container_id}/resize", {"h": size[0], "w": size[1]})
        except APIError:
            pass
    if args.interactive:
        attach.pump_stdin(stream)
    with attach.raw_terminal(args.tty and args.interactive):
        attach.pump_output(stream, args.tty)
    stream.close()
    waiter.join()
    if result.get("Error") and result["Error"].get("Message"):
        print(f"wharf: {result['Error']['Message']}", file=sys.stderr)
        return 125 if "StatusCode" not in result else int(result["StatusCode"])
    return int(result.get("StatusCode", 0))


def start(client: EngineClient, args: argparse.Namespace) -> int:
    return _each(args.containers, lambda ref: client.call("POST", f"/containers/{quote_ref(ref)}/start"))


def ps(client: EngineClient, args: argparse.Namespace) -> int:
    containers = client.call("GET", "/containers/json", {"all": args.all})
    if args.quiet:
        for container in containers:
            print(container["Id"] if args.no_trunc else container["Id"][:12])
        return 0
    rows = []
    for c in containers:
        command = " ".join(filter(None, [c.get("Command", "")]))
        if not args.no_trunc and len(command) > 20:
            command = command[:19] + "…"
        rows.append([
            c["Id"] if args.no_trunc else c["Id"][:12],
            c.get("Image", ""),
            json.dumps(command),
            ago(c.get("Created", 0)),
            c.get("Status", ""),
            "",
            ",".join(name.lstrip("/") for name in c.get("Names") or []),
        ])
    print_table(["CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"], rows)
    return 0


def logs(client: EngineClient, args: argparse.Namespace) -> int:
    info = client.call("GET", f"/containers/{quote_ref(args.container)}/json")
    response = client.open(
        "GET",
        f"/containers/{quote_ref(args.container)}/logs",
        {"stdout": True, "stderr": True, "follow": args.follow, "timestamps": args.timestamps, "tail": args.tail},
    )
    if info["Config"].get("Tty"):
        while chunk := response.read(65536):
            sys.stdout.buffer.write(chunk)
        return 0
    for stream, payload in read_frames(_ResponseSocket(response)):
        (sys.stderr.buffer if stream == 2 else sys.stdout.buffer).write(payload)
    sys.stdout.flush()
    return 0


class _ResponseSocket:
    """Lets read_frames read an HTTP response body as it reads a hijacked socket."""

    def __init__(self, response: Any) -> None:
        self._response = response

    def recv(self, size: int) -> bytes:
        return self._response.read1(size)


def stop(client: EngineClient, args: argparse.Namespace) -> int:
    params: dict[str, Any] = {}
    if args.time is not None:
        params["t"] = args.time
    if args.signal:
        params["signal"] = args.signal
    return _each(args.containers, lambda ref: client.call("POST", f"/containers/{quote_ref(ref)}/{args.verb}", params))


def kill(client: EngineClient, args: argparse.Namespace) -> int:
    params = {"signal": args.signal}
    return _each(args.containers, lambda ref: client.call("POST", f"/containers/{quote_ref(ref)}/kill", params))


def rm(client: EngineClient, args: argparse.Namespace) -> int:
    params = {"force": args.force, "v": args.volumes}
    return _each(args.containers, lambda ref: client.call("DELETE", f"/containers/{quote_ref(ref)}", params))


def wait(client: EngineClient, args: argparse.Namespace) -> int:
    def one(ref: str) -> None:
        print(client.call("POST", f"/containers/{quote_ref(ref)}/wait")["StatusCode"])

    return _each(args.containers, one, echo=False)


def inspect(client: EngineClient, args: argparse.Namespace) -> int:
    found, status = [], 0
    for ref in args.objects:
        kinds = [args.type] if args.type else ["container", "image"]
        for kind in kinds:
            try:
                found.append(client.call("GET", f"/{kind}s/{quote_ref(ref)}/json"))
                break
            except APIError as err:
                if err.status != 404:
                    raise
        else:
            print(f"Error: No such object: {ref}", file=sys.stderr)
            status = 1
    print(json.dumps(found, indent=4))
    return status


def _each(refs: list[str], action: Any, echo: bool = True) -> int:
    status = 0
    for ref in refs:
        try:
            action(ref)
        except APIError as err:
            print(f"Error response from daemon: {err}", file=sys.stderr)
            status = 1
            continue
        if echo:
            print(ref)
    return status

