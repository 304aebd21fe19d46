"""Container commands: ps, start, stop, restart, kill, pause, unpause, rm, wait, logs, top, port,
rename, update, diff, export, container prune."""

from __future__ import annotations

import sys

from wharf import errdefs
from wharf.client import APIError
from wharf.client.engine import quote_ref

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from wharf.cli.flags import Args
    from wharf.client import EngineClient

PS_TABLE = "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}"


def filters_param(values: list[str]) -> str | None:
    """--filter k=v (repeatable) → the API's `filters` JSON: {"k": ["v", …]}."""
    if not values:
        return None
    filters: dict[str, list[str]] = {}
    for value in values:
        key, sep, text = value.partition("=")
        if not sep:
            raise errdefs.InvalidArgument("bad format of filter (expected name=value)")
        filters.setdefault(key.strip().lower(), []).append(text)
    from wharf.client.engine import dumps

    return dumps(filters)


def each(refs: list[str], action: Callable[[str], object], echo: bool = True) -> int:
    """Run `action` on every ref, printing it (as docker does) or the daemon's error; 1 if any failed."""
    status = 0
    for ref in refs:
        try:
            action(ref)
        except APIError as err:
            sys.stderr.write(f"Error response from daemon: {err}\n")
            status = 1
            continue
        if echo:
            print(ref)
    return status


def ps(client: EngineClient, args: Args) -> int:
    from wharf.cli.formatters import ContainerContext, write_list

    params: dict[str, Any] = {"all": args.all or args.latest or args.last > 0, "size": args.size,
                              "filters": filters_param(args.filter)}
    if args.latest:
        params["limit"] = 1
    elif args.last > 0:
        params["limit"] = args.last
    containers = client.call("GET", "/containers/json", params) or []
    default = PS_TABLE + ("\t{{.Size}}" if args.size else "")
    fmt = args.format
    if fmt is None and (config_format := _config_format("psFormat")):
        fmt = config_format
    items = [ContainerContext(c, trunc=not args.no_trunc) for c in containers]
    write_list(items, fmt, default, "ID" if args.quiet else None, headers=ContainerContext.headers)
    return 0


def _config_format(key: str) -> str | None:
    from wharf.cli.auth import load_config

    value = load_config().get(key)
    return value if isinstance(value, str) and value else None


def start(client: EngineClient, args: Args) -> int:
    if args.attach or args.interactive:
        if len(args.args) > 1:
            raise errdefs.InvalidArgument("you cannot start and attach multiple containers at once")
        return _start_attached(client, args)
    return each(args.args, lambda ref: client.call("POST", f"/containers/{quote_ref(ref)}/start"))


def _start_attached(client: EngineClient, args: Args) -> int:
    from wharf.cli import attach as attaching
    from wharf.cli.run import status_of_start_error

    ref = quote_ref(args.args[0])
    info = client.call("GET", f"/containers/{ref}/json")
    config = info.get("Config") or {}
    tty, use_stdin = bool(config.get("Tty")), bool(args.interactive and config.get("OpenStdin"))
    sock = client.hijack(f"/containers/{ref}/attach",
                         {"stream": True, "stdin": use_stdin, "stdout": True, "stderr": True})
    try:
        client.call("POST", f"/containers/{ref}/start")
    except APIError as err:
        sock.close()
        from wharf.cli.flags import ExitStatus

        raise ExitStatus(status_of_start_error(str(err)), f"Error response from daemon: {err}") from None
    session = attaching.Session(
        sock, tty, use_stdin, attaching.parse_detach_keys(args.detach_keys),
        resize=lambda h, w: client.call("POST", f"/containers/{ref}/resize", {"h": h, "w": w}),
        forward_signal=lambda name: client.call("POST", f"/containers/{ref}/kill", {"signal": name}),
    )
    session.run()
    sock.close()
    if session.detached:
        return 0
    result = client.call("POST", f"/containers/{ref}/wait") or {}
    return int(result.get("StatusCode", 0))


def _stop_params(args: Args) -> dict[str, Any]:
    params: dict[str, Any] = {}
    timeout = args.timeout if args.timeout is not None else args.time
    if timeout is not None:
        params["t"] = timeout
    if args.signal:
        params["signal"] = args.signal
    return params


def stop(client: EngineClient, args: Args) -> int:
    params = _stop_params(args)
    return each(args.args, lambda ref: client.call("POST", f"/containers/{quote_ref(ref)}/stop", params))


def restart(client: EngineClient, args: Args) -> int:
    params = _stop_params(args)
    return each(args.args, lambda ref: client.call("POST", f"/containers/{quote_ref(ref)}/restart", params))


def kill(client: EngineClient, args: Args) -> int:
    params = {"signal": args.signal} if args.signal else None
    return each(args.args, lambda ref: client.call("POST", f"/containers/{quote_ref(ref)}/kill", params))


def pause(client: EngineClient, args: Args) -> int:
    return each(args.args, lambda ref: client.call("POST", f"/containers/{quote_ref(ref)}/pause"))


def unpause(client: EngineClient, args: Args) -> int:
    return each(args.args, lambda ref: client.call("POST", f"/containers/{quote_ref(ref)}/unpause"))


def rm(client: EngineClient, args: Args) -> int:
    params = {"force": args.force, "v": args.volumes, "link": args.link or None}
    return each(args.args, lambda ref: client.call("DELETE", f"/containers/{quote_ref(ref)}", params))


def wait(client: EngineClient, args: Args) -> int:
    def one(ref: str) -> None:
        result = client.call("POST", f"/containers/{quote_ref(ref)}/wait") or {}
        print(result.get("StatusCode", 0))

    return each(args.args, one, echo=False)


def rename(client: EngineClient, args: Args) -> int:
    old, new = args.args
    if not new.strip():
        raise errdefs.InvalidArgument("Error: Neither old nor new names may be empty")
    client.call("POST", f"/containers/{quote_ref(old)}/rename", {"name": new})
    return 0


def logs(client: EngineClient, args: Args) -> int:
    from wharf.client.engine import read_frames

    ref = quote_ref(args.args[0])
    info = client.call("GET", f"/containers/{ref}/json")
    params = {"stdout": True, "stderr": True, "follow": args.follow, "timestamps": args.timestamps,
              "tail": args.tail, "since": _since(args.since), "until": _since(args.until),
              "details": args.details or None}
    response = client.open("GET", f"/containers/{ref}/logs", params)
    out, err = sys.stdout.buffer, sys.stderr.buffer
    try:
        if (info.get("Config") or {}).get("Tty"):
            while chunk := response.read1():
                out.write(chunk)
                out.flush()
            return 0
        for stream, payload in read_frames(response):
            target = err if stream == 2 else out
            target.write(payload)
            target.flush()
    finally:
        response.close()
    return 0


def _since(text: str | None) -> str | None:
    """'42m', '1h30m' (relative), a unix time or RFC 3339 → the API's unix-seconds string."""
    if not text:
        return None
    import time

    if text.replace(".", "", 1).isdigit():
        return text
    if text[-1] in "smh" and text[0].isdigit():
        from wharf.cli.runconfig import parse_duration

        return f"{time.time() - parse_duration(text) / 1e9:.9f}"
    from wharf.cli.output import parse_rfc3339

    try:
        return f"{parse_rfc3339(text if 'T' in text else text + 'T00:00:00Z'):.9f}"
    except ValueError:
        raise errdefs.InvalidArgument(f'invalid value for "since": {text}') from None


def top(client: EngineClient, args: Args) -> int:
    from wharf.cli.output import tabwrite

    ref, ps_args = args.args[0], args.args[1:]
    answer = client.call("GET", f"/containers/{quote_ref(ref)}/top",
                         {"ps_args": " ".join(ps_args) if ps_args else None}) or {}
    lines = ["\t".join(answer.get("Titles") or [])]
    lines += ["\t".join(str(cell) for cell in process) for process in answer.get("Processes") or []]
    sys.stdout.write(tabwrite(lines, min_width=20))
    return 0


def port(client: EngineClient, args: Args) -> int:
    info = client.call("GET", f"/containers/{quote_ref(args.args[0])}/json")
    ports = (info.get("NetworkSettings") or {}).get("Ports") or {}
    if len(args.args) == 2:
        wanted = args.args[1] if "/" in args.args[1] else args.args[1] + "/tcp"
        bindings = ports.get(wanted)
        if not bindings:
            raise errdefs.NotFound(f"Error: No public port '{wanted}' published for {args.args[0]}")
        for binding in bindings:
            print(_host_port(binding))
        return 0
    for key in sorted(ports, key=lambda k: (int(k.split("/")[0]), k)):
        for binding in ports[key] or []:
            print(f"{key} -> {_host_port(binding)}")
    return 0


def _host_port(binding: dict[str, str]) -> str:
    ip = binding.get("HostIp") or "0.0.0.0"
    return f"[{ip}]:{binding.get('HostPort')}" if ":" in ip else f"{ip}:{binding.get('HostPort')}"


def update(client: EngineClient, args: Args) -> int:
    from wharf.cli.output import parse_bytes
    from wharf.cli.runconfig import parse_restart

    body: dict[str, Any] = {}
    for key, value in (("Memory", args.memory), ("MemoryReservation", args.memory_reservation)):
        if value:
            body[key] = parse_bytes(value)
    if args.memory_swap:
        body["MemorySwap"] = -1 if args.memory_swap == "-1" else parse_bytes(args.memory_swap)
    if args.cpus:
        body["NanoCpus"] = int(round(float(args.cpus) * 1e9))
    for key, value in (("CpuShares", args.cpu_shares), ("CpuPeriod", args.cpu_period),
                       ("CpuQuota", args.cpu_quota), ("PidsLimit", args.pids_limit)):
        if value is not None:
            body[key] = value
    if args.cpuset_cpus:
        body["CpusetCpus"] = args.cpuset_cpus
    if args.restart:
        body["RestartPolicy"] = parse_restart(args.restart)
    if not body:
        raise errdefs.InvalidArgument("you must provide one or more flags when using this command")

    def one(ref: str) -> None:
        answer = client.call("POST", f"/containers/{quote_ref(ref)}/update", body=body) or {}
        for warning in answer.get("Warnings") or []:
            sys.stderr.write(f"WARNING: {warning}\n")

    return each(args.args, one)


def diff(client: EngineClient, args: Args) -> int:
    changes = client.call("GET", f"/containers/{quote_ref(args.args[0])}/changes") or []
    for change in changes:
        print(f"{'CAD'[change.get('Kind', 0)]} {change.get('Path')}")
    return 0


def export(client: EngineClient, args: Args) -> int:
    if not args.output and sys.stdout.isatty():
        raise errdefs.InvalidArgument("cowardly refusing to save to a terminal. Use the -o flag or redirect")
    response = client.open("GET", f"/containers/{quote_ref(args.args[0])}/export")
    write_stream(response, args.output)
    return 0


def write_stream(response: Any, path: str | None) -> None:
    """Copy a response body to a file (atomically) or to stdout."""
    import os

    if path:
        temporary = f"{path}.{os.getpid()}.tmp"
        with open(temporary, "wb") as handle:
            while chunk := response.read1():
                handle.write(chunk)
        os.replace(temporary, path)
    else:
        out = sys.stdout.buffer
        while chunk := response.read1():
            out.write(chunk)
        out.flush()
    response.close()


def confirm(warning: str, force: bool) -> bool:
    if force:
        return True
    sys.stdout.write(f"WARNING! {warning}\nAre you sure you want to continue? [y/N] ")
    sys.stdout.flush()
    return sys.stdin.readline().strip().lower() in ("y", "yes")


def prune(client: EngineClient, args: Args) -> int:
    from wharf.cli.output import human_size

    if not confirm("This will remove all stopped containers.", args.force):
        return 0
    answer = client.call("POST", "/containers/prune", {"filters": filters_param(args.filter)}) or {}
    deleted = answer.get("ContainersDeleted") or []
    if deleted:
        print("Deleted Containers:")
        for container_id in deleted:
            print(container_id)
        print()
    print(f"Total reclaimed space: {human_size(answer.get('SpaceReclaimed') or 0)}")
    return 0
