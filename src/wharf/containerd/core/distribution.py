"""Distribution: fetching images from registries into the content store, and pushing them back;
resolving what a reference names in a registry without fetching it; searching an index.

Neither operation names an image: after a pull the client unpacks and binds the name itself, so
that an interrupted pull never leaves a name pointing at a half image.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Protocol

from wharf.oci.image import Descriptor


@dataclass(frozen=True)
class RegistryAuth:
    """Credentials as Docker's X-Registry-Auth carries them; all empty for anonymous access."""

    username: str = ""
    password: str = ""
    identity_token: str = ""
    registry_token: str = ""


@dataclass
class TransferProgress:
    """One progress line in Docker's words (`Pulling fs layer`, `Downloading`, `Pushed`…)."""

    id: str
    status: str
    current: int = 0
    total: int = 0


@dataclass
class PullOutcome:
    target: Descriptor
    """What the tag or digest resolved to: a manifest, or an index (its digest is the RepoDigest)."""
    manifest: Descriptor
    """The platform's image manifest."""
    config: Descriptor


@dataclass
class PushOutcome:
    tag: str
    digest: str
    size: int


@dataclass
class Resolved:
    target: Descriptor
    """Media type, digest and size of what the tag or digest names: a manifest, or an index."""
    platforms: list[dict[str, Any]]
    """OCI platforms (`architecture`, `os`, `os.version`, `os.features`, `variant`): an index's
    entries', or the one an image manifest's config states."""


@dataclass(frozen=True)
class SearchResult:
    """One repository of an index's `/v1/search` answer."""

    name: str
    description: str = ""
    star_count: int = 0
    is_official: bool = False
    is_automated: bool = False


class Distribution(Protocol):
    def pull(self, reference: str, platform: str = "", auth: RegistryAuth | None = None
             ) -> AsyncIterator[TransferProgress | PullOutcome]:
        """Progress lines, then one PullOutcome last. `reference` is normalised (`docker.io/library/x:tag`);
        `platform` like `linux/amd64` ("" for the host's)."""

    def push(self, reference: str, manifest: Descriptor, auth: RegistryAuth | None = None
             ) -> AsyncIterator[TransferProgress | PushOutcome]:
        """Progress lines, then one PushOutcome last. `manifest` is an image manifest in the content store."""

    async def resolve(self, reference: str, auth: RegistryAuth | None = None) -> Resolved:
        """What the normalised `reference` names in its registry, and for which platforms; nothing
        is stored. NotFound, Unauthorized, Unavailable as for a pull."""

    async def search(self, term: str, limit: int, auth: RegistryAuth | None = None) -> list[SearchResult]:
        """What the index named in `term` (`[index/]name`, Docker Hub's by default) answers to a
        search for the name, at most `limit` (1–100) results, unfiltered. InvalidArgument for a term
        with a scheme or an index that cannot be reached at all; System for a failed search."""

    async def login(self, server: str, auth: RegistryAuth) -> str:
        """Check credentials against `server` (`docker.io` or `host:port`); returns an identity
        token when the registry gives one (else ""). Unauthorized when they are refused."""
