"""A client of the OCI distribution API (`/v2/`): manifests and blobs, with auth and insecure hosts.

Registry addresses follow Docker: `docker.io` is served by `registry-1.docker.io`; loopback
addresses, `localhost` and the configured insecure registries may use plain HTTP (HTTPS is tried
first, as Docker does).
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import aiohttp

from wharf import errdefs
from wharf.containerd.distribution.auth import Authorizer, Credentials
from wharf.containerd.distribution.registry_config import RegistryConfig
from wharf.oci import image as oci

DOCKER_HUB_HOST = "registry-1.docker.io"
MANIFEST_ACCEPT = ", ".join(
    [oci.MEDIA_TYPE_OCI_INDEX, oci.MEDIA_TYPE_DOCKER_MANIFEST_LIST, oci.MEDIA_TYPE_OCI_MANIFEST,
     oci.MEDIA_TYPE_DOCKER_MANIFEST]
)
MAX_MANIFEST_SIZE = 4 << 20


class RegistryClient:
    """One registry host, one repository at a time; reuse it across the blobs of a pull or push."""

    def __init__(self, session: aiohttp.ClientSession, host: str, credentials: Credentials,
                 config: RegistryConfig | None = None, mirror: str = "") -> None:
        self.session = session
        self.domain = host
        """The registry as references name it (`docker.io`), not the host serving it."""
        self.host = DOCKER_HUB_HOST if host == "docker.io" else host
        self._scheme: str | None = None
        if mirror:  # a mirror URL (`https://mirror.example:5000`) serves the domain's repositories
            endpoint = urlsplit(mirror if "://" in mirror else f"https://{mirror}")
            self.host = endpoint.netloc
            self._scheme = endpoint.scheme or "https"
        self.config = config or RegistryConfig()
        self.insecure = self.config.is_insecure(self.host)
        self._authorizer = Authorizer(session, credentials)
        self._ssl: ssl.SSLContext | bool = True
        context = self.config.tls_context(self.host)
        if context is not None:
            self._ssl = context
        elif self.insecure:
            self._ssl = False

    async def _base(self) -> str:
        if self._scheme is None:
            # Decided before it is published: concurrent first requests (a push's blob uploads) must
            # not see "https" while the probe that may turn it into "http" is still running.
            scheme = "https"
            if self.insecure:
                try:
                    async with self.session.get(f"https://{self.host}/v2/", ssl=self._ssl):
                        pass
                except (aiohttp.ClientError, ssl.SSLError, OSError):
                    scheme = "http"
            self._scheme = scheme
        return f"{self._scheme}://{self.host}"

    async def request(self, method: str, path: str, scope: str, *, headers: dict[str, str] | None = None,
                      data: object = None, allow_redirects: bool = True,
                      params: dict[str, str] | None = None) -> aiohttp.ClientResponse:
        """Send with authorization, answering one 401 challenge. The caller releases the response."""
        url = path if path.startswith("http") else await self._base() + path
        for attempt in range(2):
            sent = dict(headers or {})
            if authorization := self._authorizer.header(scope):
                sent["Authorization"] = authorization
            try:
                response = await self.session.request(
                    method, url, headers=sent, data=data, ssl=self._ssl, allow_redirects=allow_redirects,
                    params=params,
                )
            except (aiohttp.ClientError, OSError) as err:
                raise errdefs.Unavailable(f"cannot reach registry {self.host}: {err}") from err
            if response.status != 401 or attempt == 1:
                return response
            challenge = response.headers.get("WWW-Authenticate", "")
            try:
                answered = bool(challenge) and await self._authorizer.answer(challenge, scope)
            except BaseException:
                response.release()
                raise
            if not answered:
                return response  # unread: the caller reports the registry's own error
            response.release()
        raise AssertionError("unreachable")

    async def login(self) -> None:
        """Prove the credentials: `/v2/` answers 200 once they are accepted."""
        response = await self.request("GET", "/v2/", "")
        async with response:
            if response.status == 200:
                return
            if response.status == 401:
                raise errdefs.Unauthorized(
                    f"login attempt to {response.url} failed with status: 401 Unauthorized")
            await raise_for_status(response, "", "/v2/")

    async def get_manifest(self, repository: str, reference: str) -> tuple[str, str | None, bytes]:
        """(media type, digest the registry claims, body) of a manifest, index or list."""
        scope = f"repository:{repository}:pull"
        response = await self.request("GET", f"/v2/{repository}/manifests/{reference}", scope,
                                      headers={"Accept": MANIFEST_ACCEPT})
        async with response:
            await raise_for_status(response, repository, reference)
            body = await _read_limited(response, MAX_MANIFEST_SIZE)
            media_type = response.headers.get("Content-Type", "").split(";")[0].strip()
            return media_type, response.headers.get("Docker-Content-Digest"), body

    async def blob_chunks(self, repository: str, digest: str, chunk_size: int = 1 << 20) -> AsyncIterator[bytes]:
        scope = f"repository:{repository}:pull"
        response = await self.request("GET", f"/v2/{repository}/blobs/{digest}", scope)
        async with response:
            await raise_for_status(response, repository, digest)
            try:
                async for chunk in response.content.iter_chunked(chunk_size):
                    yield chunk
            except (aiohttp.ClientError, OSError) as err:
                raise errdefs.Unavailable(f"reading blob {digest} from {self.host}: {err}") from err


async def _read_limited(response: aiohttp.ClientResponse, limit: int) -> bytes:
    body = await response.content.read(limit + 1)
    if len(body) > limit:
        raise errdefs.InvalidArgument(f"manifest larger than {limit} bytes")
    return body


async def raise_for_status(response: aiohttp.ClientResponse, repository: str, reference: str) -> None:
    if response.status < 400:
        return
    detail = ""
    try:
        errors = (await response.json(content_type=None)).get("errors") or []
        if errors:
            # Docker's words for a registry error: `manifest unknown: manifest unknown`.
            code = str(errors[0].get("code", "")).lower().replace("_", " ")
            detail = f"{code}: {errors[0].get('message', '')}".strip(": ")
    except (ValueError, AttributeError, aiohttp.ClientError):
        pass
    if response.status == 401 or response.status == 403:
        raise errdefs.Unauthorized(detail or "authentication required")
    if response.status == 404:
        raise errdefs.NotFound(detail or f"{reference} not found in {repository}")
    if response.status == 429:
        raise errdefs.Unavailable(detail or "toomanyrequests: the registry rate-limited this request")
    raise errdefs.Unavailable(f"registry answered {response.status}: {detail or response.reason}")
