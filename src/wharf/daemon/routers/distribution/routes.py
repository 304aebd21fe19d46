"""`GET /distribution/{name}/json`: the manifest a reference names in its registry and its platforms,
without pulling (the docker SDK's `images.get_registry_data`, `docker service create`)."""

from __future__ import annotations

from aiohttp import web

from wharf import errdefs
from wharf.containerd.core.distribution import RegistryAuth
from wharf.daemon.backend.distribution import inspect_reference
from wharf.daemon.backend.registry_auth import decode_registry_auth
from wharf.daemon.routers.common import Route
from wharf.daemon.routers.distribution.backend import DistributionInspectBackend
from wharf.daemon.server.responses import json_response


class DistributionRouter:
    def __init__(self, backend: DistributionInspectBackend) -> None:
        self._backend = backend

    def routes(self) -> list[Route]:
        return [("GET", "/distribution/{name:.+}/json", self.inspect)]

    async def inspect(self, request: web.Request) -> web.Response:
        ref = inspect_reference(request.match_info["name"])
        try:
            auth = decode_registry_auth(request.headers.get("X-Registry-Auth"))
        except errdefs.InvalidArgument:
            auth = RegistryAuth()  # moby ignores a malformed header here and asks anonymously
        return json_response(await self._backend.inspect(ref, auth))
