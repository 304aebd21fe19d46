"""`/images/...`: parse the request, hand on to the ImageBackend."""

from __future__ import annotations

import fnmatch
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

from wharf import errdefs
from wharf.daemon.backend.container_view import parse_filters
from wharf.daemon.backend.distribution import pull_reference, reference_without_default
from wharf.daemon.backend.images import LocalImage, image_config_for_api
from wharf.daemon.backend.registry_auth import decode_registry_auth
from wharf.daemon.backend.timefmt import rfc3339nano
from wharf.daemon.routers.common import Route, bool_value, filters_value, json_body
from wharf.daemon.routers.image.backend import DistributionBackend, ImageBackend
from wharf.daemon.server.responses import json_response
from wharf.daemon.server.streams import JSONMessageStream
from wharf.oci.reference import valid_tag


def _summary(image: LocalImage) -> dict[str, Any]:
    return {
        "Id": image.id,
        "ParentId": "",
        "RepoTags": image.repo_tags,
        "RepoDigests": image.repo_digests,
        "Created": image.created // 1_000_000_000,
        "Size": image.size,
        "SharedSize": -1,
        "VirtualSize": image.size,
        "Labels": (image.config.get("config") or {}).get("Labels") or {},
        "Containers": -1,
    }


def _inspect(image: LocalImage) -> dict[str, Any]:
    history = image.config.get("history") or []
    return {
        "Id": image.id,
        "RepoTags": image.repo_tags,
        "RepoDigests": image.repo_digests,
        "Parent": "",
        "Comment": history[-1].get("comment", "") if history else "",
        "Created": image.config.get("created") or rfc3339nano(0),
        "DockerVersion": "",
        "Author": image.config.get("author", ""),
        "Config": image_config_for_api(image),
        "Architecture": image.config.get("architecture", ""),
        "Variant": image.config.get("variant"),
        "Os": image.config.get("os", ""),
        "Size": image.size,
        "GraphDriver": {"Data": None, "Name": "overlayfs"},
        "RootFS": {"Type": "layers", "Layers": (image.config.get("rootfs") or {}).get("diff_ids", [])},
        "Metadata": {"LastTagTime": rfc3339nano(0)},
    }


def _matches(image: LocalImage, filters: dict[str, list[str]]) -> bool:
    if filters.get("dangling"):
        dangling = filters["dangling"][0].lower() in ("true", "1")
        if dangling != (not image.repo_tags):
            return False
    if filters.get("reference"):
        names = [ref.familiar() for ref in image.references] + [ref.familiar_name for ref in image.references]
        if not any(fnmatch.fnmatchcase(name, pattern) for pattern in filters["reference"] for name in names):
            return False
    for wanted in filters.get("label", []):
        labels = (image.config.get("config") or {}).get("Labels") or {}
        key, sep, value = wanted.partition("=")
        if key not in labels or (sep and labels[key] != value):
            return False
    return True


class ImageRouter:
    def __init__(self, backend: ImageBackend, distribution: DistributionBackend) -> None:
        self._backend = backend
        self._distribution = distribution

    def routes(self) -> list[Route]:
        return [
            ("POST", "/images/create", self.create),
            ("GET", "/images/json", self.list),
            ("POST", "/images/prune", self.prune),
            ("GET", "/images/{name:.+}/json", self.inspect),
            ("POST", "/images/{name:.+}/tag", self.tag),
            ("POST", "/images/{name:.+}/push", self.push),
            ("POST", "/auth", self.auth),
            ("DELETE", "/images/{name:.+}", self.delete),
        ]

    async def create(self, request: web.Request) -> web.StreamResponse:
        source = request.query.get("fromSrc", "")
        image_name = request.query.get("fromImage", "")
        if image_name:
            return await self._pull(request, image_name)
        if source != "-":
            if source:
                raise errdefs.NotImplementedYet("importing from a URL is not supported yet: use fromSrc=-")
            raise errdefs.InvalidArgument("fromImage or fromSrc is required")

        async def body() -> AsyncIterator[bytes]:
            async for chunk in request.content.iter_chunked(1 << 20):
                yield chunk

        image = await self._backend.import_tar(
            body(), request.query.get("repo", ""), request.query.get("tag", ""),
            request.query.getall("changes", []), request.query.get("message", ""),
            request.query.get("platform", ""),
        )  # fmt: skip
        stream = JSONMessageStream(request)
        await stream.send({"status": image.id})
        return await stream.finish()

    async def _pull(self, request: web.Request, image_name: str) -> web.StreamResponse:
        ref = pull_reference(image_name, request.query.get("tag", ""))
        auth = decode_registry_auth(request.headers.get("X-Registry-Auth"))
        stream = JSONMessageStream(request)
        try:
            await self._distribution.pull(ref, request.query.get("platform", ""), auth, stream.send)
        except errdefs.WharfError as err:
            if not stream.response.prepared:
                raise  # nothing sent yet: an ordinary error answer, as Docker gives
            await stream.send_error(str(err))
        return await stream.finish()

    async def push(self, request: web.Request) -> web.StreamResponse:
        ref = reference_without_default(request.match_info["name"])
        tag = request.query.get("tag", "")
        if tag:
            if not valid_tag(tag):
                raise errdefs.InvalidArgument(f"invalid tag format: {tag}")
            ref = ref.with_tag(tag)
        ref = ref.with_default_tag()
        auth = decode_registry_auth(request.headers.get("X-Registry-Auth"))
        stream = JSONMessageStream(request)
        try:
            await self._distribution.push(ref, auth, stream.send)
        except errdefs.WharfError as err:
            if not stream.response.prepared:
                raise
            await stream.send_error(str(err))
        return await stream.finish()

    async def auth(self, request: web.Request) -> web.Response:
        body = await json_body(request)
        if not isinstance(body, dict):
            raise errdefs.InvalidArgument("the body must be a JSON object")
        return json_response(await self._distribution.login(body))

    async def list(self, request: web.Request) -> web.Response:
        filters = parse_filters(filters_value(request))
        images = [image for image in await self._backend.list() if _matches(image, filters)]
        return json_response([_summary(image) for image in images])

    async def inspect(self, request: web.Request) -> web.Response:
        return json_response(_inspect(await self._backend.resolve(request.match_info["name"])))

    async def tag(self, request: web.Request) -> web.Response:
        await self._backend.tag(request.match_info["name"], request.query.get("repo", ""),
                                request.query.get("tag", ""))
        return web.Response(status=201)

    async def prune(self, request: web.Request) -> web.Response:
        filters = parse_filters(filters_value(request))
        all_unused = any(v.lower() in ("false", "0") for v in filters.get("dangling", []))
        report = await self._backend.prune(all_unused)
        return json_response({"ImagesDeleted": report or None, "SpaceReclaimed": 0})

    async def delete(self, request: web.Request) -> web.Response:
        report = await self._backend.delete(request.match_info["name"], bool_value(request, "force"))
        return json_response(report)
