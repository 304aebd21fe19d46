"""`docker search`: asking an index's v1 search API (`/v1/search?q=…&n=…`) as Docker does.

Docker Hub's index (`https://index.docker.io/v1/`) is asked without a ping. Any other index is
pinged at `/v1/_ping` over HTTPS first; an insecure one (loopback, `localhost`, configured) that
cannot be reached that way is tried over plain HTTP. Only a failure to reach the index fails the
ping: whatever status it answers, the index is there.
"""

from __future__ import annotations

import asyncio
import base64
import json
import ssl
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote_plus

import aiohttp
from yarl import URL

from wharf import errdefs
from wharf.containerd.core.distribution import RegistryAuth, SearchResult
from wharf.containerd.distribution.registry_config import RegistryConfig

DOCKER_HUB_INDEX = "docker.io"
DOCKER_HUB_ENDPOINT = "https://index.docker.io/v1/"
_TRANSPORT_ERRORS = (aiohttp.ClientError, ssl.SSLError, OSError, asyncio.TimeoutError)


@dataclass(frozen=True)
class SearchTarget:
    index: str
    """The index host (`host:port`), or `docker.io` for Docker Hub's."""
    name: str
    """What is searched for there."""


def search_target(term: str) -> SearchTarget:
    """Docker's split: the part before the first `/` names an index only when it looks like a host
    (a `.` or a `:` in it, or `localhost`); otherwise the whole term is searched on Docker Hub,
    where `library/` (the official images' namespace) is implied and so left out."""
    if "://" in term:
        raise errdefs.InvalidArgument(f"invalid repository name: repository name ({term}) should not have a scheme")
    first, slash, rest = term.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"):
        return SearchTarget(first, rest)
    return SearchTarget(DOCKER_HUB_INDEX, term.removeprefix("library/"))


class IndexSearch:
    """One search against one index, over the supervisor's shared HTTP session."""

    def __init__(self, session: aiohttp.ClientSession, config: RegistryConfig) -> None:
        self._session = session
        self._config = config

    async def search(self, term: str, limit: int, auth: RegistryAuth | None = None) -> list[SearchResult]:
        target = search_target(term)
        tls = self._tls(target.index)
        endpoint = await self._endpoint(target.index, tls)
        url = f"{endpoint}search?q={quote_plus(target.name)}&n={limit}"
        headers = {"X-Docker-Token": "true"}
        if auth and auth.username:
            pair = f"{auth.username}:{auth.password}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()
        try:
            async with self._session.get(URL(url, encoded=True), headers=headers, ssl=tls) as response:
                if response.status != 200:
                    raise errdefs.System(f"Unexpected status code {response.status}")
                body = await response.read()
        except _TRANSPORT_ERRORS as err:
            raise errdefs.System(_transport_error(url, err)) from err
        return _results(body)

    def _tls(self, index: str) -> ssl.SSLContext | bool:
        """The index's trust (certs.d, the CA file); an insecure index's certificate is not checked."""
        if index == DOCKER_HUB_INDEX:
            return True
        context = self._config.tls_context(index)
        if context is not None:
            return context
        return not self._config.is_insecure(index)

    async def _endpoint(self, index: str, tls: ssl.SSLContext | bool) -> str:
        if index == DOCKER_HUB_INDEX:
            return DOCKER_HUB_ENDPOINT
        secure_endpoint = f"https://{index}/v1/"
        secure_error = await self._ping_error(secure_endpoint, tls)
        if secure_error is None:
            return secure_endpoint
        if not self._config.is_insecure(index):
            raise errdefs.InvalidArgument(
                f"invalid registry endpoint {secure_endpoint}: {secure_error}. If this private registry supports "
                f"only HTTP or HTTPS with an unknown CA certificate, please add `--insecure-registry {index}` to "
                f"the daemon's arguments. In the case of HTTPS, if you have access to the registry's CA "
                f"certificate, no need for the flag; simply place the CA certificate at "
                f"/etc/docker/certs.d/{index}/ca.crt")
        plain_endpoint = f"http://{index}/v1/"
        plain_error = await self._ping_error(plain_endpoint, tls)
        if plain_error is None:
            return plain_endpoint
        raise errdefs.InvalidArgument(f'invalid registry endpoint "{plain_endpoint}". HTTPS attempt: {secure_error}. '
                                      f"HTTP attempt: {plain_error}")

    async def _ping_error(self, endpoint: str, tls: ssl.SSLContext | bool) -> str | None:
        """None when the index answers its ping at all (any status), else Go's words for why not."""
        try:
            async with self._session.get(endpoint + "_ping", ssl=tls):
                return None
        except _TRANSPORT_ERRORS as err:
            return _transport_error(endpoint + "_ping", err)


def _transport_error(url: str, err: BaseException) -> str:
    """As Go's HTTP client words it: `Get "URL": what went wrong`."""
    return f'Get "{url}": {str(err) or type(err).__name__}'


def _results(body: bytes) -> list[SearchResult]:
    try:
        answer = json.loads(body)
        entries: list[Any] = answer.get("results") or []
        return [_result(entry) for entry in entries]
    except (ValueError, TypeError, AttributeError) as err:
        raise errdefs.System(f"error decoding registry search results: {err}") from err


def _result(entry: dict[str, Any]) -> SearchResult:
    return SearchResult(
        name=str(entry.get("name") or ""),
        description=str(entry.get("description") or ""),
        star_count=int(entry.get("star_count") or 0),
        is_official=bool(entry.get("is_official")),
        is_automated=bool(entry.get("is_automated")),
    )
