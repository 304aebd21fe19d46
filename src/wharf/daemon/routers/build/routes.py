"""`POST /build` (the classic builder's API) and `POST /build/prune`: parse and hand on."""

from __future__ import annotations

import base64
import binascii
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

from wharf import errdefs
from wharf.containerd.core.distribution import RegistryAuth
from wharf.daemon.builder.commit import CommitRequest
from wharf.daemon.builder.evaluator import BuildFailed, BuildOptions, DockerfileInvalid
from wharf.daemon.builder.run_network import parse_extra_hosts, parse_network_mode
from wharf.daemon.routers.build.backend import BuildBackend
from wharf.daemon.routers.common import Route, bool_value, json_body
from wharf.daemon.server.responses import json_response
from wharf.daemon.server.streams import JSONMessageStream


def _json_query(request: web.Request, name: str) -> dict[str, Any]:
    raw = request.query.get(name, "")
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        raise errdefs.InvalidArgument(f"invalid {name} value: {raw}") from None
    if not isinstance(value, dict):
        raise errdefs.InvalidArgument(f"invalid {name} value: {raw}")
    return value


def registry_config(header: str | None) -> dict[str, RegistryAuth]:
    """`X-Registry-Config`: base64url JSON of registry → auth config (the CLI sends every login)."""
    if not header:
        return {}
    text = header.strip()
    try:
        data = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)) or b"{}")
    except (binascii.Error, ValueError) as err:
        raise errdefs.InvalidArgument(f"invalid X-Registry-Config header: {err}") from None
    if not isinstance(data, dict):
        raise errdefs.InvalidArgument("invalid X-Registry-Config header: not a JSON object")
    out = {}
    for server, auth in data.items():
        if isinstance(auth, dict):
            out[str(server)] = RegistryAuth(
                username=str(auth.get("username") or ""), password=str(auth.get("password") or ""),
                identity_token=str(auth.get("identitytoken") or ""),
                registry_token=str(auth.get("registrytoken") or ""),
            )  # fmt: skip
    return out


def build_options(request: web.Request) -> BuildOptions:
    buildargs = {str(k): (None if v is None else str(v)) for k, v in _json_query(request, "buildargs").items()}
    labels = {str(k): str(v) for k, v in _json_query(request, "labels").items()}
    network = parse_network_mode(request.query.get("networkmode", ""))
    cache_from = request.query.get("cachefrom", "")
    try:
        cache_sources = json.loads(cache_from) if cache_from else []
    except ValueError:
        raise errdefs.InvalidArgument(f"invalid cachefrom value: {cache_from}") from None
    if not isinstance(cache_sources, list):
        raise errdefs.InvalidArgument(f"invalid cachefrom value: {cache_from}")
    return BuildOptions(
        tags=[t for t in request.query.getall("t", []) if t],
        dockerfile=request.query.get("dockerfile", ""),
        buildargs=buildargs,
        nocache=bool_value(request, "nocache"),
        rm=bool_value(request, "rm", True),
        forcerm=bool_value(request, "forcerm"),
        pull=bool_value(request, "pull"),
        quiet=bool_value(request, "q"),
        labels=labels,
        target=request.query.get("target", ""),
        network_mode=network,
        extra_hosts=parse_extra_hosts(request.query.getall("extrahosts", [])),
        cache_from=[str(name) for name in cache_sources if name],
        registry_auth=registry_config(request.headers.get("X-Registry-Config")),
    )


class BuildRouter:
    def __init__(self, backend: BuildBackend) -> None:
        self._backend = backend

    def routes(self) -> list[Route]:
        return [
            ("POST", "/build", self.build),
            ("POST", "/build/prune", self.prune),
            ("POST", "/commit", self.commit),
        ]

    async def build(self, request: web.Request) -> web.StreamResponse:
        if request.query.get("remote"):
            raise errdefs.NotImplementedYet("building from a remote context is not supported")
        options = build_options(request)

        async def body() -> AsyncIterator[bytes]:
            async for chunk in request.content.iter_chunked(1 << 20):
                yield chunk

        stream = JSONMessageStream(request)
        try:
            await self._backend.build(body(), options, stream.send)
        except errdefs.WharfError as err:
            if isinstance(err, DockerfileInvalid) and not stream.response.prepared:
                raise  # as Docker: an error before the first line of output is the HTTP answer
            # Errors travel inside the 200 stream, as Docker's builder sends them.
            message = str(err)
            detail: dict[str, Any] = {"message": message}
            if isinstance(err, BuildFailed) and err.code:
                detail["code"] = err.code
            await stream.send({"errorDetail": detail, "error": message})
        except Exception as err:  # noqa: BLE001 — once streaming, a 500 can no longer be sent: say it inside
            if not stream.response.prepared:
                raise
            logging.getLogger("wharfd.build").exception("build failed")
            await stream.send_error(f"internal error: {err or type(err).__name__}")
        return await stream.finish()

    async def prune(self, request: web.Request) -> web.StreamResponse:
        removed, reclaimed = await self._backend.prune(bool_value(request, "all"))
        return json_response({"CachesDeleted": removed, "SpaceReclaimed": reclaimed})

    async def commit(self, request: web.Request) -> web.Response:
        body = await json_body(request)
        if body is not None and not isinstance(body, dict):
            raise errdefs.InvalidArgument("invalid JSON: the body must be a container Config object")
        container = request.query.get("container", "")
        if not container:
            raise errdefs.InvalidArgument("container is required")
        image_id = await self._backend.commit(CommitRequest(
            container=container,
            repo=request.query.get("repo", ""),
            tag=request.query.get("tag", ""),
            comment=request.query.get("comment", ""),
            author=request.query.get("author", ""),
            pause=bool_value(request, "pause", True),
            changes=[c for c in request.query.getall("changes", []) if c],
            config=body or None,
        ))  # fmt: skip
        return json_response({"Id": image_id}, status=201)
