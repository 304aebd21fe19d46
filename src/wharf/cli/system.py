"""System commands: version, info, events, system df, system prune."""

from __future__ import annotations

import os
import sys

from wharf.client.engine import API_VERSION

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from wharf.cli.flags import Args
    from wharf.client import EngineClient

CLIENT_VERSION = "0.1.0"
_GOARCH = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "i686": "386", "ppc64le": "ppc64le",
           "s390x": "s390x", "riscv64": "riscv64"}


def _client_info() -> dict[str, Any]:
    return {"Version": CLIENT_VERSION, "ApiVersion": API_VERSION,
            "PythonVersion": ".".join(map(str, sys.version_info[:3])), "Os": "linux",
            "Arch": _GOARCH.get(os.uname().machine, os.uname().machine), "Context": "default"}


def _render(fmt: str, data: Any) -> None:
    from wharf.cli.inspect import print_objects

    print_objects([data], fmt)


def version(client: EngineClient, args: Args) -> int:
    from wharf.client.engine import DaemonUnreachable

    local = _client_info()
    server: dict[str, Any] | None = None
    error: Exception | None = None
    try:
        server = client.call("GET", "/version")
    except DaemonUnreachable as err:
        error = err
    if args.format:
        # the field names of docker's Go types (APIVersion, not the JSON's ApiVersion)
        local["APIVersion"] = local.pop("ApiVersion")
        if server is not None:
            server = dict(server)
            server["APIVersion"] = server.pop("ApiVersion", "")
        _render(args.format, {"Client": local, "Server": server})
        if error:
            raise error
        return 0
    lines = ["Client: Wharf",
             f" Version:           {local['Version']}",
             f" API version:       {local['ApiVersion']}",
             f" Python version:    {local['PythonVersion']}",
             f" OS/Arch:           {local['Os']}/{local['Arch']}",
             f" Context:           {local['Context']}"]
    if server is not None:
        lines += ["", f"Server: {(server.get('Platform') or {}).get('Name', '')}", " Engine:",
                  f"  Version:          {server.get('Version')}",
                  f"  API version:      {server.get('ApiVersion')} (minimum version {server.get('MinAPIVersion')})",
                  f"  Go version:       {server.get('GoVersion', '')}",
                  f"  Git commit:       {server.get('GitCommit', '')}",
                  f"  Built:            {server.get('BuildTime', '')}",
                  f"  OS/Arch:          {server.get('Os')}/{server.get('Arch')}",
                  f"  Experimental:     {str(bool(server.get('Experimental'))).lower()}"]
        for component in server.get("Components") or []:
            if component.get("Name") == "Engine":
                continue
            lines.append(f" {component.get('Name')}:")
            lines.append(f"  Version:          {component.get('Version')}")
            for key, value in (component.get("Details") or {}).items():
                lines.append(f"  {key + ':':<17} {value}")
    sys.stdout.write("\n".join(lines) + "\n")
    if error:
        sys.stdout.write("\n")
        raise error
    return 0


def info(client: EngineClient, args: Args) -> int:
    from wharf.cli.output import bytes_size

    data = client.call("GET", "/info") or {}
    if args.format:
        _render(args.format, data)
        return 0
    runtimes = " ".join(sorted((data.get("Runtimes") or {}).keys()))
    lines = [
        "Client:", f" Version:    {CLIENT_VERSION}", " Context:    default", " Debug Mode: false", "",
        "Server:",
        f" Containers: {data.get('Containers', 0)}",
        f"  Running: {data.get('ContainersRunning', 0)}",
        f"  Paused: {data.get('ContainersPaused', 0)}",
        f"  Stopped: {data.get('ContainersStopped', 0)}",
        f" Images: {data.get('Images', 0)}",
        f" Server Version: {data.get('ServerVersion')}",
        f" Storage Driver: {data.get('Driver')}",
        f" Logging Driver: {data.get('LoggingDriver', '')}",
        f" Cgroup Driver: {data.get('CgroupDriver')}",
        f" Cgroup Version: {data.get('CgroupVersion')}",
        f" Runtimes: {runtimes}",
        f" Default Runtime: {data.get('DefaultRuntime')}",
        f" Kernel Version: {data.get('KernelVersion')}",
        f" Operating System: {data.get('OperatingSystem')}",
        f" OSType: {data.get('OSType', 'linux')}",
        f" Architecture: {data.get('Architecture', '')}",
        f" CPUs: {data.get('NCPU')}",
        f" Total Memory: {bytes_size(data.get('MemTotal') or 0)}",
        f" Name: {data.get('Name', '')}",
        f" ID: {data.get('ID', '')}",
        f" Docker Root Dir: {data.get('DockerRootDir')}",
        f" Debug Mode: {str(bool(data.get('Debug'))).lower()}",
    ]
    for warning in data.get("Warnings") or []:
        lines.append(warning)
    sys.stdout.write("\n".join(lines) + "\n")
    return 0


def events(client: EngineClient, args: Args) -> int:
    from wharf.cli.containers import _since, filters_param

    params = {"since": _since(args.since), "until": _since(args.until), "filters": filters_param(args.filter)}
    template = None
    if args.format:
        from wharf.cli.formatters import template_or_error

        template = template_or_error("{{json .}}" if args.format == "json" else args.format)
    for event in client.stream_json("GET", "/events", params):
        if template is not None:
            sys.stdout.write(template.render(event) + "\n")
        else:
            sys.stdout.write(format_event(event) + "\n")
        sys.stdout.flush()
    return 0


def format_event(event: dict[str, Any]) -> str:
    """docker's default event line: '2024-01-02T15:04:05.000000000Z container start <id> (image=…, name=…)'."""
    import time

    nanos = event.get("timeNano") or int(event.get("time", 0)) * 1_000_000_000
    seconds, fraction = divmod(int(nanos), 1_000_000_000)
    moment = time.localtime(seconds)
    offset = moment.tm_gmtoff or 0
    zone = "Z" if offset == 0 else f"{'+' if offset > 0 else '-'}{abs(offset) // 3600:02d}:" \
                                   f"{abs(offset) % 3600 // 60:02d}"
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", moment) + f".{fraction:09d}{zone}"
    actor = event.get("Actor") or {}
    attributes = actor.get("Attributes") or {}
    details = ", ".join(f"{k}={v}" for k, v in sorted(attributes.items()))
    text = f"{stamp} {event.get('Type', '')} {event.get('Action', '')} {actor.get('ID', '')}"
    return f"{text} ({details})" if details else text


def df(client: EngineClient, args: Args) -> int:
    from wharf.cli.output import human_size, tabwrite

    data = client.call("GET", "/system/df") or {}
    images = data.get("Images") or []
    containers = data.get("Containers") or []
    volumes = data.get("Volumes") or []
    cache = data.get("BuildCache") or []
    used_images = [i for i in images if (i.get("Containers") or 0) > 0]
    image_size = data.get("LayersSize") or sum(i.get("Size", 0) for i in images)
    container_size = sum(c.get("SizeRw", 0) or 0 for c in containers)
    active_containers = [c for c in containers if c.get("State") == "running"]
    volume_size = sum(max((v.get("UsageData") or {}).get("Size", 0), 0) for v in volumes)
    active_volumes = [v for v in volumes if (v.get("UsageData") or {}).get("RefCount", 0) > 0]

    def reclaimable(part: float, total: float) -> str:
        percent = f" ({int(part * 100 / total)}%)" if total else ""
        return human_size(part, 3) + percent

    unused_image_size = sum(i.get("Size", 0) - max(i.get("SharedSize", 0), 0) for i in images
                            if not (i.get("Containers") or 0) > 0)
    rows = [
        ("Images", len(images), len(used_images), image_size, unused_image_size),
        ("Containers", len(containers), len(active_containers), container_size,
         sum(c.get("SizeRw", 0) or 0 for c in containers if c.get("State") != "running")),
        ("Local Volumes", len(volumes), len(active_volumes), volume_size,
         sum(max((v.get("UsageData") or {}).get("Size", 0), 0) for v in volumes if v not in active_volumes)),
        ("Build Cache", len(cache), sum(1 for c in cache if c.get("InUse")), sum(c.get("Size", 0) for c in cache),
         sum(c.get("Size", 0) for c in cache if not c.get("InUse"))),
    ]
    if args.format:
        from wharf.cli.formatters import write_list

        contexts = [_DiskUsage(*row) for row in rows]
        write_list(contexts, args.format, "", headers=_DiskUsage.headers)  # type: ignore[arg-type]
        return 0
    lines = ["TYPE\tTOTAL\tACTIVE\tSIZE\tRECLAIMABLE"]
    for kind, total, active, size, free in rows:
        lines.append(f"{kind}\t{total}\t{active}\t{human_size(size, 3)}\t{reclaimable(free, size)}")
    sys.stdout.write(tabwrite(lines))
    return 0


class _DiskUsage:
    headers = {"Type": "TYPE", "TotalCount": "TOTAL", "Active": "ACTIVE", "Size": "SIZE",
               "Reclaimable": "RECLAIMABLE"}

    def __init__(self, kind: str, total: int, active: int, size: float, free: float) -> None:
        from wharf.cli.output import human_size

        self.Type, self.TotalCount, self.Active = kind, str(total), str(active)
        self.Size, self.Reclaimable = human_size(size, 3), human_size(free, 3)

    def to_json(self) -> dict[str, str]:
        return {k: getattr(self, k) for k in ("Active", "Reclaimable", "Size", "TotalCount", "Type")}


def prune(client: EngineClient, args: Args) -> int:
    from wharf.cli.containers import confirm, filters_param
    from wharf.cli.output import human_size

    parts = ["all stopped containers", "all networks not used by at least one container"]
    if args.volumes:
        parts.append("all anonymous volumes not used by at least one container")
    parts.append("all images without at least one container associated to them" if args.all else
                 "all dangling images")
    warning = "This will remove:\n" + "".join(f"  - {part}\n" for part in parts)
    if not confirm(warning.rstrip("\n"), args.force):
        return 0
    filters = filters_param(args.filter)
    reclaimed = 0
    for path, key, title in (("/containers/prune", "ContainersDeleted", "Deleted Containers:"),
                             ("/networks/prune", "NetworksDeleted", "Deleted Networks:"),
                             ("/volumes/prune", "VolumesDeleted", "Deleted Volumes:"),
                             ("/images/prune", "ImagesDeleted", "Deleted Images:")):
        if path == "/volumes/prune" and not args.volumes:
            continue
        params: dict[str, Any] = {"filters": filters}
        if path == "/images/prune" and args.all:
            import json

            merged = json.loads(filters) if filters else {}
            merged["dangling"] = ["false"]
            params["filters"] = json.dumps(merged)
        answer = client.call("POST", path, params) or {}
        reclaimed += answer.get("SpaceReclaimed") or 0
        deleted = answer.get(key) or []
        if deleted:
            print(title)
            for item in deleted:
                if isinstance(item, dict):
                    for name, value in item.items():
                        print(f"{name.lower()}: {value}")
                else:
                    print(item)
            print()
    print(f"Total reclaimed space: {human_size(reclaimed)}")
    return 0
