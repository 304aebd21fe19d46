"""Assembling the aiohttp application from the routers."""

from __future__ import annotations

from collections.abc import Iterable

from aiohttp import web

from wharf.daemon.routers.common import Route
from wharf.daemon.server.middleware import add_common_headers, engine_middleware, trim_heap_when_quiet
from wharf.linux.heap import QuietTrimmer

VERSION_PREFIX = "/{api_version:v[0-9]+(?:\\.[0-9]+)?}"


def make_app(route_tables: Iterable[list[Route]]) -> web.Application:
    """Every route is served with and without the `/v1.NN` prefix (the middleware checks it)."""
    trimmer = QuietTrimmer()
    app = web.Application(middlewares=[trim_heap_when_quiet(trimmer), engine_middleware], client_max_size=0)
    for table in route_tables:
        for method, path, handler in table:
            app.router.add_route(method, path, handler)
            app.router.add_route(method, VERSION_PREFIX + path, handler)
    app.on_response_prepare.append(add_common_headers)

    async def stop_trimmer(_: web.Application) -> None:
        trimmer.close()

    app.on_cleanup.append(stop_trimmer)
    return app
