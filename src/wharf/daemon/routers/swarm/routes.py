"""Swarm mode's endpoints, answered as a Docker engine that is not part of a swarm answers them.

Wharf runs no swarm. Clients probe these paths (the docker CLI's `docker node ls`, the docker
SDK's `leave_swarm(force=True)` in clean-ups) and expect moby's 503s with its words, not a 404.
"""

from __future__ import annotations

from aiohttp import web

from wharf import errdefs
from wharf.daemon.routers.common import Route
from wharf.daemon.server.responses import json_response

NOT_A_MANAGER = (
    'This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" to connect '
    "this node to swarm and try again."
)
NOT_IN_A_SWARM = "This node is not part of a swarm"
NO_SWARM_MODE = "Wharf does not implement swarm mode"

# Objects only a swarm manager keeps: each has moby's list, inspect, create, update and remove.
_MANAGED = ("nodes", "services", "tasks", "secrets", "configs")


class SwarmRouter:
    def routes(self) -> list[Route]:
        routes: list[Route] = [
            ("GET", "/swarm", self._not_a_manager),
            ("POST", "/swarm/init", self._no_swarm_mode),
            ("POST", "/swarm/join", self._no_swarm_mode),
            ("POST", "/swarm/leave", self._not_in_a_swarm),
            ("POST", "/swarm/update", self._not_a_manager),
            ("GET", "/swarm/unlockkey", self._not_a_manager),
            ("POST", "/swarm/unlock", self._not_in_a_swarm),
            ("GET", "/plugins", self._no_plugins),
        ]
        for kind in _MANAGED:
            routes += [("GET", f"/{kind}", self._not_a_manager), ("GET", f"/{kind}/{{id}}", self._not_a_manager)]
            if kind in ("nodes", "tasks"):
                continue
            routes += [("POST", f"/{kind}/create", self._not_a_manager), ("DELETE", f"/{kind}/{{id}}", self._not_a_manager),
                       ("POST", f"/{kind}/{{id}}/update", self._not_a_manager)]
        routes += [("DELETE", "/nodes/{id}", self._not_a_manager), ("POST", "/nodes/{id}/update", self._not_a_manager),
                   ("GET", "/services/{id}/logs", self._not_a_manager), ("GET", "/tasks/{id}/logs", self._not_a_manager)]
        return routes

    async def _not_a_manager(self, request: web.Request) -> web.Response:
        raise errdefs.Unavailable(NOT_A_MANAGER)

    async def _not_in_a_swarm(self, request: web.Request) -> web.Response:
        raise errdefs.Unavailable(NOT_IN_A_SWARM)

    async def _no_swarm_mode(self, request: web.Request) -> web.Response:
        raise errdefs.Unavailable(NO_SWARM_MODE)

    async def _no_plugins(self, request: web.Request) -> web.Response:
        """No managed plugins: network and volume drivers are built in."""
        return json_response([])
