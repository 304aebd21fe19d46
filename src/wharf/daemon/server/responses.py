"""JSON answers with `Content-Type: application/json` exactly: the docker client decodes error
bodies only when the type is exactly that (no `; charset=utf-8`)."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web


def json_response(data: Any, status: int = 200) -> web.Response:
    return web.Response(body=json.dumps(data).encode(), status=status,
                        headers={"Content-Type": "application/json"})
