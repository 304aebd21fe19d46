"""`inspect` (any object), and the JSON/template printing that `volume inspect` etc. share."""

from __future__ import annotations

import json
import sys

from wharf.client import APIError
from wharf.client.engine import quote_ref

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from wharf.cli.flags import Args
    from wharf.client import EngineClient

# --type → the path of its inspect endpoint
ENDPOINTS = {"container": "/containers/{}/json", "image": "/images/{}/json", "volume": "/volumes/{}",
             "network": "/networks/{}"}
ORDER = ("container", "image", "network", "volume")


def print_objects(objects: list[Any], fmt: str | None) -> None:
    """JSON indented by 4 (docker's default), or the template once per object."""
    if not fmt:
        if not objects:
            sys.stdout.write("[]\n")
            return
        sys.stdout.write(json.dumps(objects, indent=4, ensure_ascii=False) + "\n")
        return
    from wharf.cli.flags import ExitStatus
    from wharf.cli.gotemplate import Template, TemplateError

    try:
        template = Template(fmt.replace("\\t", "\t").replace("\\n", "\n"), strict_keys=True)
    except TemplateError as err:
        raise ExitStatus(64, f"template parsing error: template: {err}") from None
    for item in objects:
        try:
            sys.stdout.write(template.render(item) + "\n")
        except TemplateError as err:
            sys.stdout.flush()
            raise ExitStatus(1, f"template parsing error: template: {err}") from None


def inspect_each(refs: list[str], fetch: Callable[[str], Any | None], fmt: str | None, kind: str = "object") -> int:
    """Fetch every ref (None: not found), print what was found, report the rest; 1 if any missing."""
    found, errors = [], []
    for ref in refs:
        try:
            item = fetch(ref)
        except APIError as err:  # volume and network inspect show the daemon's message
            if err.status != 404:
                raise
            errors.append(f"Error response from daemon: {err}")
            continue
        if item is None:
            errors.append(f"Error: No such {kind}: {ref}")
        else:
            found.append(item)
    if found or not fmt:
        print_objects(found, fmt)
    else:
        sys.stdout.write("\n")  # docker prints an empty line when a template found nothing
    for message in errors:
        sys.stderr.write(message + "\n")
    return 1 if errors else 0


def inspect(client: EngineClient, args: Args) -> int:
    if args.type and args.type not in ENDPOINTS:
        from wharf.errdefs import InvalidArgument

        raise InvalidArgument(f'"{args.type}" is not a valid value for --type')
    kinds = [args.type] if args.type else list(ORDER)

    def fetch(ref: str) -> Any | None:
        for kind in kinds:
            params = {"size": True} if kind == "container" and args.size else None
            try:
                return client.call("GET", ENDPOINTS[kind].format(quote_ref(ref)), params)
            except APIError as err:
                if err.status not in (404, 400):
                    raise
        return None

    return inspect_each(args.args, fetch, args.format, args.type or "object")
