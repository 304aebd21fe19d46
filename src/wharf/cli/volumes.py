"""`volume create|ls|inspect|rm|prune`."""

from __future__ import annotations

from wharf.cli.containers import confirm, each, filters_param
from wharf.cli.inspect import inspect_each
from wharf.client.engine import quote_ref

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from wharf.cli.flags import Args
    from wharf.client import EngineClient


def create(client: EngineClient, args: Args) -> int:
    name = args.args[0] if args.args else args.name or ""
    if args.args and args.name and args.name != args.args[0]:
        from wharf import errdefs

        raise errdefs.InvalidArgument("conflicting options: cannot specify a volume-name through both "
                                      "--name and as a positional arg")
    body = {"Name": name, "Driver": args.driver, "DriverOpts": dict(o.partition("=")[::2] for o in args.opt),
            "Labels": dict(label.partition("=")[::2] for label in args.label)}
    answer = client.call("POST", "/volumes/create", body=body) or {}
    print(answer.get("Name", name))
    return 0


def ls(client: EngineClient, args: Args) -> int:
    from wharf.cli.formatters import VolumeContext, write_list

    answer = client.call("GET", "/volumes", {"filters": filters_param(args.filter)}) or {}
    volumes = sorted(answer.get("Volumes") or [], key=lambda v: v.get("Name", ""))
    rows = [VolumeContext(volume) for volume in volumes]
    write_list(rows, args.format, "table {{.Driver}}\t{{.Name}}", "Name" if args.quiet else None,
               headers=VolumeContext.headers)
    return 0


def inspect(client: EngineClient, args: Args) -> int:
    def fetch(ref: str) -> Any | None:
        return client.call("GET", f"/volumes/{quote_ref(ref)}")

    return inspect_each(args.args, fetch, args.format, "volume")


def rm(client: EngineClient, args: Args) -> int:
    return each(args.args, lambda ref: client.call("DELETE", f"/volumes/{quote_ref(ref)}", {"force": args.force}))


def prune(client: EngineClient, args: Args) -> int:
    from wharf.cli.output import human_size

    warning = "This will remove all local volumes not used by at least one container." if args.all else \
        "This will remove anonymous local volumes not used by at least one container."
    if not confirm(warning, args.force):
        return 0
    filters = list(args.filter) + (["all=true"] if args.all else [])
    answer = client.call("POST", "/volumes/prune", {"filters": filters_param(filters)}) or {}
    deleted = answer.get("VolumesDeleted") or []
    if deleted:
        print("Deleted Volumes:")
        for name in deleted:
            print(name)
        print()
    print(f"Total reclaimed space: {human_size(answer.get('SpaceReclaimed') or 0)}")
    return 0
