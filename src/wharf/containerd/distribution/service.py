"""The Distribution plugin: pull, push, resolve and search over HTTP with one shared client session."""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from wharf import errdefs
from wharf.containerd.core.content import ContentStore
from wharf.containerd.core.distribution import (
    PullOutcome,
    PushOutcome,
    RegistryAuth,
    Resolved,
    SearchResult,
    TransferProgress,
)
from wharf.containerd.core.leases import LeaseManager
from wharf.containerd.distribution import platform as platforms
from wharf.containerd.distribution.registry_config import RegistryConfig
from wharf.oci.image import Descriptor
from wharf.oci.reference import InvalidReference, Reference, parse

# The HTTP client (aiohttp, with yarl, multidict, email, http.cookies…: ≈10 MiB of modules) and the
# pull/push code that uses it are imported on the first registry operation, not by an idle supervisor
# (RegistryDistributor._load_registry_code).
if TYPE_CHECKING:
    import aiohttp

    from wharf.containerd.distribution.pull import Progress
    from wharf.containerd.distribution.registry import RegistryClient

_DONE = object()
_REGISTRY_CODE = ("wharf.containerd.distribution.registry", "wharf.containerd.distribution.pull",
                  "wharf.containerd.distribution.push", "wharf.containerd.distribution.resolve",
                  "wharf.containerd.distribution.search")


def _import_registry_code() -> None:
    for name in _REGISTRY_CODE:
        importlib.import_module(name)


class RegistryDistributor:
    def __init__(self, content: ContentStore, config: RegistryConfig | None = None,
                 leases: LeaseManager | None = None) -> None:  # fmt: skip
        self.leases = leases
        self.content = content
        self.config = config or RegistryConfig()
        self._session: aiohttp.ClientSession | None = None
        self._registry_code: asyncio.Future[None] | None = None

    async def _load_registry_code(self) -> None:
        """Import the registry client on a worker thread, once: its ~100–200 ms of imports must not
        hold up the RPCs the supervisor's loop serves meanwhile (task starts, exits)."""
        if self._registry_code is None:
            self._registry_code = asyncio.ensure_future(asyncio.to_thread(_import_registry_code))
        await asyncio.shield(self._registry_code)

    def _http_session(self) -> aiohttp.ClientSession:
        import aiohttp

        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None, sock_connect=30,
                                                                                sock_read=120))
        return self._session

    def _client(self, domain: str, auth: RegistryAuth | None, mirror: str = "") -> RegistryClient:
        from wharf.containerd.distribution.auth import Credentials
        from wharf.containerd.distribution.registry import RegistryClient

        auth = auth or RegistryAuth()
        credentials = Credentials(auth.username, auth.password, auth.identity_token, auth.registry_token)
        return RegistryClient(self._http_session(), domain, credentials, self.config, mirror)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    def _sources(self, ref: Reference, auth: RegistryAuth | None) -> list[RegistryClient]:
        """Docker Hub images come from the configured mirrors first, as Docker does; the next
        source is tried when one does not have the image or cannot be reached."""
        mirrors = self.config.mirrors if ref.domain == "docker.io" else []
        return [self._client(ref.domain, auth, mirror) for mirror in mirrors] + [self._client(ref.domain, auth)]

    async def pull(self, reference: str, platform: str = "", auth: RegistryAuth | None = None
                   ) -> AsyncIterator[TransferProgress | PullOutcome]:
        ref = _parsed(reference)
        wanted = platforms.parse(platform) if platform else platforms.host()
        await self._load_registry_code()
        sources = self._sources(ref, auth)
        for index, client in enumerate(sources):

            async def run(report: Any, client: RegistryClient = client) -> PullOutcome:
                from wharf.containerd.distribution.pull import pull

                result = await pull(ref, self.content, client, wanted, report, strict_platform=bool(platform),
                                    leases=self.leases)
                return PullOutcome(result.target, result.manifest, result.config)

            try:
                async for item in _with_progress(run):
                    yield item
                return
            except _NEXT_SOURCE_ERRORS:
                if index == len(sources) - 1:
                    raise

    async def resolve(self, reference: str, auth: RegistryAuth | None = None) -> Resolved:
        ref = _parsed(reference)
        await self._load_registry_code()
        from wharf.containerd.distribution.resolve import resolve

        sources = self._sources(ref, auth)
        for client in sources[:-1]:
            try:
                return await resolve(ref, client)
            except _NEXT_SOURCE_ERRORS:
                pass
        return await resolve(ref, sources[-1])

    async def search(self, term: str, limit: int, auth: RegistryAuth | None = None) -> list[SearchResult]:
        await self._load_registry_code()
        from wharf.containerd.distribution.search import IndexSearch

        return await IndexSearch(self._http_session(), self.config).search(term, limit, auth)

    async def login(self, server: str, auth: RegistryAuth) -> str:
        await self._load_registry_code()
        client = self._client(_login_host(server), auth)
        await client.login()
        return ""

    async def push(self, reference: str, manifest: Descriptor, auth: RegistryAuth | None = None
                   ) -> AsyncIterator[TransferProgress | PushOutcome]:
        ref = _parsed(reference)
        await self._load_registry_code()
        client = self._client(ref.domain, auth)

        async def run(report: Any) -> PushOutcome:
            from wharf.containerd.distribution.push import push

            result = await push(ref, manifest, self.content, client, report)
            return PushOutcome(result.tag, result.digest, result.size)

        async for item in _with_progress(run):
            yield item


_NEXT_SOURCE_ERRORS = (errdefs.NotFound, errdefs.Unavailable, errdefs.Unauthorized)
"""What makes a pull or resolve go on to the next source (a mirror that lacks the image)."""


def _parsed(reference: str) -> Reference:
    try:
        return parse(reference).with_default_tag()
    except InvalidReference as err:
        raise errdefs.InvalidArgument(str(err)) from err


def _login_host(server: str) -> str:
    """`https://index.docker.io/v1/` and friends → `docker.io`; `http://host:port/` → `host:port`."""
    host = server.split("://", 1)[-1].split("/", 1)[0]
    return "docker.io" if host in ("", "index.docker.io", "registry-1.docker.io", "docker.io") else host


async def _with_progress(run: Any) -> AsyncIterator[Any]:
    """Run `run(report)` and yield what it reports as it happens, then its result."""
    queue: asyncio.Queue[Any] = asyncio.Queue()

    def report(progress: Progress) -> None:
        queue.put_nowait(TransferProgress(progress.id, progress.status, progress.current, progress.total))

    task = asyncio.ensure_future(run(report))
    task.add_done_callback(lambda _: queue.put_nowait(_DONE))
    try:
        while (item := await queue.get()) is not _DONE:
            yield item
        yield task.result()
    finally:
        if not task.done():
            task.cancel()
