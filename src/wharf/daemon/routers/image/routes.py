"""`/images/...`: parse the request, hand on to the ImageBackend."""

from __future__ import annotations

import fnmatch
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from wharf import errdefs
from wharf.containerd.core.distribution import RegistryAuth
from wharf.daemon.backend.container_view import parse_filters
from wharf.daemon.backend.distribution import pull_reference, reference_without_default
from wharf.daemon.backend.image_history import image_history
from wharf.daemon.backend.image_search import search_limit
from wharf.daemon.backend.images import LocalImage, container_config_for_api, image_config_for_api
from wharf.daemon.backend.registry_auth import decode_registry_auth
from wharf.daemon.backend.timefmt import parse_rfc3339, rfc3339nano
from wharf.daemon.routers.common import Route, api_version, bool_value, filters_value, json_body
from wharf.daemon.routers.image.backend import ArchiveBackend, DistributionBackend, ImageBackend
from wharf.daemon.server.responses import json_response
from wharf.daemon.server.streams import JSONMessageStream
from wharf.daemon.server.versions import at_least
from wharf.oci.reference import valid_tag

UNSET_TIME = "0001-01-01T00:00:00Z"
"""Go's zero time: what moby shows for a time never set."""

LEGACY_CONFIG_BEFORE_1_50 = {
    "Hostname": "", "Domainname": "", "User": "", "AttachStdin": False, "AttachStdout": False,
    "AttachStderr": False, "Tty": False, "OpenStdin": False, "StdinOnce": False, "Env": None, "Cmd": None,
    "Image": "", "Volumes": None, "WorkingDir": "", "Entrypoint": None, "OnBuild": None, "Labels": None,
}  # fmt: skip
"""Image config fields API < 1.50 always showed (the image config was a container config then)."""
LEGACY_CONFIG_1_50 = {"User": "", "Env": None, "Entrypoint": None, "Cmd": None, "Volumes": None,
                      "WorkingDir": "", "Labels": None, "OnBuild": None}
"""The ones API 1.50 and 1.51 still showed when empty."""


def _config_for(image: LocalImage, version: str) -> dict[str, Any]:
    legacy = LEGACY_CONFIG_1_50 if at_least(version, "1.50") else LEGACY_CONFIG_BEFORE_1_50
    return {**legacy, **image_config_for_api(image)}


def _inspect(image: LocalImage, size: int, version: str) -> dict[str, Any]:
    """`GET /images/{name}/json` as moby answers the API version asked."""
    history = image.config.get("history") or []
    created = image.config.get("created") or ("" if at_least(version, "1.44") else UNSET_TIME)
    answer: dict[str, Any] = {
        "Id": image.id,
        "RepoTags": image.repo_tags,
        "RepoDigests": image.repo_digests,
        "Parent": image.parent,
        "Comment": history[-1].get("comment", "") if history else "",
    }
    if created:
        answer["Created"] = created
    if not at_least(version, "1.45"):
        answer["Container"] = image.config.get("container", "")
        answer["ContainerConfig"] = container_config_for_api(image)
    answer.update({
        "DockerVersion": "",
        "Author": image.config.get("author", ""),
        "Config": _config_for(image, version),
        "Architecture": image.config.get("architecture", ""),
    })
    if image.config.get("variant"):
        answer["Variant"] = image.config["variant"]
    answer["Os"] = image.config.get("os", "")
    if image.config.get("os.version"):
        answer["OsVersion"] = image.config["os.version"]
    answer["Size"] = size
    if not at_least(version, "1.44"):
        answer["VirtualSize"] = size
    answer.update({
        "GraphDriver": {"Data": None, "Name": "overlayfs"},
        "RootFS": {"Type": "layers", "Layers": image.diff_ids},
        "Metadata": {"LastTagTime": rfc3339nano(image.last_tag_time) if image.last_tag_time else UNSET_TIME},
    })
    if at_least(version, "1.48"):
        answer["Descriptor"] = _target_descriptor(image)
    return answer


def _target_descriptor(image: LocalImage) -> dict[str, Any]:
    """What the image's name points at (an index for a multi-platform pull), as moby's `Descriptor`."""
    return (image.target or image.manifest).to_json()


@dataclass
class CreatedBounds:
    """before/since/until filters as creation times (ns): an image must be older than every
    `before`, newer than every `since` and not newer than every `until`."""

    before: list[int] = field(default_factory=list)
    since: list[int] = field(default_factory=list)
    until: list[int] = field(default_factory=list)

    def admit(self, created: int) -> bool:
        return (all(created < bound for bound in self.before) and all(created > bound for bound in self.since)
                and all(created < bound for bound in self.until))


def _matches(image: LocalImage, filters: dict[str, list[str]], bounds: CreatedBounds) -> bool:
    """`docker images --filter`."""
    if filters.get("dangling"):
        dangling = "true" in filters["dangling"]
        if dangling != (not image.repo_tags):
            return False
    if filters.get("reference"):
        names = [ref.familiar() for ref in image.references] + [ref.familiar_name for ref in image.references]
        if not any(fnmatch.fnmatchcase(name, pattern) for pattern in filters["reference"] for name in names):
            return False
    if not all(_has_label(image, wanted) for wanted in filters.get("label", [])):
        return False
    if any(_has_label(image, unwanted) for unwanted in filters.get("label!", [])):
        return False
    return bounds.admit(image.created)


LIST_FILTERS = frozenset({"dangling", "reference", "label", "label!", "before", "since", "until"})
PRUNE_FILTERS = frozenset({"dangling", "label", "label!", "until"})


def _check_filter_names(filters: dict[str, list[str]], known: frozenset[str]) -> None:
    unknown = set(filters) - known
    if unknown:
        raise errdefs.InvalidArgument(f"invalid filter '{sorted(unknown)[0]}'")


def _check_dangling(filters: dict[str, list[str]]) -> None:
    """moby takes exactly `true` or `false` (as given) for the list's dangling filter."""
    values = filters.get("dangling")
    if values and "true" not in values and "false" not in values:
        raise errdefs.InvalidArgument(f"invalid filter 'dangling=[{' '.join(values)}]'")


def _has_label(image: LocalImage, wanted: str) -> bool:
    key, sep, value = wanted.partition("=")
    return key in image.labels and (not sep or image.labels[key] == value)


def _until_ns(text: str) -> int:
    """`until`: a unix time (with fraction), an RFC3339 time, or a duration before now (`24h`)."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)(ns|us|ms|s|m|h)", text)
    if match:
        scale = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}[match.group(2)]
        return int((time.time() - float(match.group(1)) * scale) * 1_000_000_000)
    try:
        return int(float(text) * 1_000_000_000)
    except ValueError:
        pass
    ns = parse_rfc3339(text)
    if not ns:
        raise errdefs.InvalidArgument(f"invalid value for until: {text}")
    return ns


class ImageRouter:
    def __init__(self, backend: ImageBackend, distribution: DistributionBackend,
                 archives: ArchiveBackend | None = None) -> None:
        self._backend = backend
        self._distribution = distribution
        self._archives = archives

    def routes(self) -> list[Route]:
        return [
            ("POST", "/images/create", self.create),
            ("GET", "/images/json", self.list),
            ("POST", "/images/prune", self.prune),
            ("GET", "/images/get", self.save),
            ("POST", "/images/load", self.load),
            ("GET", "/images/search", self.search),
            ("GET", "/images/{name:.+}/get", self.save),
            ("GET", "/images/{name:.+}/json", self.inspect),
            ("GET", "/images/{name:.+}/history", self.history),
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

    async def search(self, request: web.Request) -> web.Response:
        term = request.query.get("term", "")
        if not term:
            raise errdefs.InvalidArgument("term is required")
        limit = search_limit(request.query.get("limit", ""))
        filters = filters_value(request)
        try:
            auth = decode_registry_auth(request.headers.get("X-Registry-Auth"))
        except errdefs.InvalidArgument:
            auth = RegistryAuth()  # moby searches anonymously when the header cannot be read
        return json_response(await self._distribution.search(term, limit, filters, auth))

    async def _summary(self, image: LocalImage, version: str, counts: dict[str, int] | None) -> dict[str, Any]:
        """One image of `GET /images/json` as moby answers the API version asked."""
        size = await self._backend.disk_size(image)
        repo_tags: list[str] | None = image.repo_tags
        repo_digests: list[str] | None = image.repo_digests
        if not at_least(version, "1.43"):
            # Older clients knew an untagged image by these placeholders, and an empty list as null.
            if not repo_tags and not repo_digests:
                repo_tags, repo_digests = ["<none>:<none>"], ["<none>@<none>"]
            repo_tags, repo_digests = repo_tags or None, repo_digests or None
        summary: dict[str, Any] = {
            "Id": image.id,
            "ParentId": image.parent,
            "RepoTags": repo_tags,
            "RepoDigests": repo_digests,
            "Created": image.created // 1_000_000_000,
            "Size": size,
            "SharedSize": -1,
            "Labels": image.labels,
            "Containers": -1 if counts is None else counts.get(image.id, 0),  # not counted before 1.51
        }
        if not at_least(version, "1.44"):
            summary["VirtualSize"] = size
        if at_least(version, "1.48"):
            summary["Descriptor"] = _target_descriptor(image)
        return summary

    async def list(self, request: web.Request) -> web.Response:
        filters = parse_filters(filters_value(request))
        version = api_version(request)
        if not at_least(version, "1.25") and "reference" not in filters and request.query.get("filter"):
            filters["reference"] = [request.query["filter"]]  # API 1.24's own way to name a reference
        _check_filter_names(filters, LIST_FILTERS)
        _check_dangling(filters)
        bounds = CreatedBounds(
            before=[(await self._backend.resolve(ref)).created for ref in filters.get("before", [])],
            since=[(await self._backend.resolve(ref)).created for ref in filters.get("since", [])],
            until=[_until_ns(text) for text in filters.get("until", [])],
        )
        images = [image for image in await self._backend.list() if _matches(image, filters, bounds)]
        counts = self._backend.container_counts() if at_least(version, "1.51") else None
        return json_response([await self._summary(image, version, counts) for image in images])

    async def inspect(self, request: web.Request) -> web.Response:
        image = await self._backend.resolve(request.match_info["name"])
        return json_response(_inspect(image, await self._backend.disk_size(image), api_version(request)))

    async def history(self, request: web.Request) -> web.Response:
        image = await self._backend.resolve(request.match_info["name"])
        return json_response(await image_history(self._backend, image))

    async def tag(self, request: web.Request) -> web.Response:
        await self._backend.tag(request.match_info["name"], request.query.get("repo", ""),
                                request.query.get("tag", ""))
        return web.Response(status=201)

    async def prune(self, request: web.Request) -> web.Response:
        filters = parse_filters(filters_value(request))
        _check_filter_names(filters, PRUNE_FILTERS)
        all_unused = any(v.lower() in ("false", "0") for v in filters.get("dangling", []))
        until = [_until_ns(text) for text in filters.get("until", [])]

        def keep(image: LocalImage) -> bool:
            if not all(_has_label(image, wanted) for wanted in filters.get("label", [])):
                return True
            if any(_has_label(image, unwanted) for unwanted in filters.get("label!", [])):
                return True
            return any(image.created >= bound for bound in until)

        report, reclaimed = await self._backend.prune_reclaiming(all_unused, keep)
        return json_response({"ImagesDeleted": report or None, "SpaceReclaimed": reclaimed})

    async def delete(self, request: web.Request) -> web.Response:
        report = await self._backend.delete(request.match_info["name"], bool_value(request, "force"))
        return json_response(report)

    def _archive_backend(self) -> ArchiveBackend:
        if self._archives is None:
            raise errdefs.NotImplementedYet("image archives are not available")
        return self._archives

    async def save(self, request: web.Request) -> web.StreamResponse:
        """`docker save`: resolve every name first (a 404 is an ordinary answer), then stream."""
        archives = self._archive_backend()
        names = [request.match_info["name"]] if "name" in request.match_info else request.query.getall("names", [])
        selection = await archives.selection(names)
        response = web.StreamResponse(status=200, headers={"Content-Type": "application/x-tar"})
        await response.prepare(request)
        async for chunk in archives.save(selection):
            await response.write(chunk)
        await response.write_eof()
        return response

    async def load(self, request: web.Request) -> web.StreamResponse:
        archives = self._archive_backend()

        async def body() -> AsyncIterator[bytes]:
            async for chunk in request.content.iter_chunked(1 << 20):
                yield chunk

        lines: list[dict[str, Any]] = []

        async def collect(message: dict[str, Any]) -> None:
            lines.append(message)

        failure = ""
        try:
            await archives.load(body(), collect)
        except errdefs.WharfError as err:
            # As moby: the answer is 200 and a refused archive is an error message in the stream.
            failure = str(err)
        stream = JSONMessageStream(request)
        for line in lines:
            await stream.send(line)
        if failure:
            await stream.send_error(failure)
        return await stream.finish()
