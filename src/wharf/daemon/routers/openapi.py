"""`GET /_wharf/openapi.json`: the OpenAPI 3 document of every route wharfd serves (Docker serves
none; ours is written from the routes and checked against them by tests/interop/test_openapi.py)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from aiohttp import web

from wharf.daemon.routers.common import Route

DOCUMENT_PATH = "/_wharf/openapi.json"
DOCUMENT_FILE = Path(__file__).resolve().parents[2] / "api" / "engine_openapi.json"


@cache
def document_bytes() -> bytes:
    return DOCUMENT_FILE.read_bytes()


async def _serve(request: web.Request) -> web.Response:
    return web.Response(body=document_bytes(), content_type="application/json")


def routes() -> list[Route]:
    return [("GET", DOCUMENT_PATH, _serve)]
