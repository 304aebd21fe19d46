"""`network create|ls|inspect|rm|prune|connect|disconnect`."""

from __future__ import annotations

from wharf.cli.containers import confirm, each, filters_param
from wharf.cli.inspect import inspect_each
from wharf.client import APIError
from wharf.client.engine import quote_ref

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from wharf.cli.flags import Args
    from wharf.client import EngineClient


def create(client: EngineClient, args: Args) -> int:
    pools = []
    for index, subnet in enumerate(args.subnet):
        pool: dict[str, Any] = {"Subnet": subnet}
        if index < len(args.gateway):
            pool["Gateway"] = args.gateway[index]
        if index < len(args.ip_range):
            pool["IPRange"] = args.ip_range[index]
        pools.append(pool)
    body = {
        "Name": args.args[0], "Driver": args.driver, "Internal": bool(args.internal),
        "Attachable": bool(args.attachable), "EnableIPv6": bool(args.ipv6),
        "Options": dict(o.partition("=")[::2] for o in args.opt),
        "Labels": dict(label.partition("=")[::2] for label in args.label),
        "IPAM": {"Driver": "default", "Config": pools, "Options": {}},
    }
    answer = client.call("POST", "/networks/create", body=body) or {}
    print(answer.get("Id", ""))
    return 0


def ls(client: EngineClient, args: Args) -> int:
    from wharf.cli.formatters import NetworkContext, write_list

    networks = client.call("GET", "/networks", {"filters": filters_param(args.filter)}) or []
    networks.sort(key=lambda n: n.get("Name", ""))
    rows = [NetworkContext(network, trunc=not args.no_trunc) for network in networks]
    write_list(rows, args.format, "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}",
               "ID" if args.quiet else None, headers=NetworkContext.headers)
    return 0


def inspect(client: EngineClient, args: Args) -> int:
    def fetch(ref: str) -> Any | None:
        return client.call("GET", f"/networks/{quote_ref(ref)}", {"verbose": args.verbose or None})

    return inspect_each(args.args, fetch, args.format, "network")


def rm(client: EngineClient, args: Args) -> int:
    def one(ref: str) -> None:
        try:
            client.call("DELETE", f"/networks/{quote_ref(ref)}")
        except APIError as err:
            if not (args.force and err.status == 404):
                raise

    return each(args.args, one)


def prune(client: EngineClient, args: Args) -> int:
    if not confirm("This will remove all custom networks not used by at least one container.", args.force):
        return 0
    answer = client.call("POST", "/networks/prune", {"filters": filters_param(args.filter)}) or {}
    deleted = answer.get("NetworksDeleted") or []
    if deleted:
        print("Deleted Networks:")
        for name in deleted:
            print(name)
    return 0


def connect(client: EngineClient, args: Args) -> int:
    network, container = args.args
    endpoint: dict[str, Any] = {}
    if args.alias:
        endpoint["Aliases"] = args.alias
    if args.ip or args.ip6:
        endpoint["IPAMConfig"] = {"IPv4Address": args.ip or "", "IPv6Address": args.ip6 or ""}
    client.call("POST", f"/networks/{quote_ref(network)}/connect",
                body={"Container": container, "EndpointConfig": endpoint})
    return 0


def disconnect(client: EngineClient, args: Args) -> int:
    network, container = args.args
    client.call("POST", f"/networks/{quote_ref(network)}/disconnect",
                body={"Container": container, "Force": bool(args.force)})
    return 0
