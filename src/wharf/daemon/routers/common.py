"""Request parsing shared by the routers (Docker's query conventions)."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from wharf import errdefs
from wharf.daemon.routers.go_json import canonical_keys

Route = tuple[str, str, Any]
"""(method, path, handler)"""


def bool_value(request: web.Request, name: str, default: bool = False) -> bool:
    """Docker's boolean query values: absent → default; "", "0", "no", "false", "none" → false."""
    if name not in request.query:
        return default
    return request.query[name].strip().lower() not in ("", "0", "no", "false", "none")


def int_value(request: web.Request, name: str, default: int | None = None) -> int | None:
    raw = request.query.get(name, "")
    if raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise errdefs.InvalidArgument(f"invalid value for {name}: {raw!r}") from None


async def json_body(request: web.Request) -> Any:
    """The JSON body with moby's field names (matched without case, as Go does); malformed or
    non-UTF-8 input is InvalidArgument (400)."""
    raw = await request.read()
    if not raw:
        return None
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as err:
        raise errdefs.InvalidArgument(f"invalid JSON: {err}") from None
    return canonical_keys(body)


def filters_value(request: web.Request) -> dict[str, Any]:
    raw = request.query.get("filters", "")
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        raise errdefs.InvalidArgument(f"invalid filter: {raw}") from None
    if not isinstance(value, dict):
        raise errdefs.InvalidArgument(f"invalid filter: {raw}")
    return value


def api_version(request: web.Request) -> str:
    from wharf.daemon.server.middleware import API_VERSION_KEY

    return str(request[API_VERSION_KEY])
