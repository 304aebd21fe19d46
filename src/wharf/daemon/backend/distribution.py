"""Pull and push as the Engine API shows them: Docker's progress messages, then the image named;
what a reference names in its registry (`GET /distribution/{name}/json`); what an index finds
(`GET /images/search`).

The supervisor transfers the blobs; here the pulled image is unpacked and only then named, so a
pull that fails halfway leaves no name on a half image.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

from wharf import errdefs
from wharf.api.units import human_size
from wharf.containerd.core.distribution import PullOutcome, PushOutcome, RegistryAuth, TransferProgress
from wharf.containerd.core.images import Image
from wharf.containerd.proxy.leases import leased
from wharf.daemon.backend.image_search import check_limit, search_filters, selected
from wharf.daemon.backend.images import REPO_DIGEST_LABEL, ImageService, LocalImage, parse_reference
from wharf.daemon.backend.supervisor import Supervisor
from wharf.oci import reference
from wharf.oci.image import MANIFEST_TYPES

Send = Callable[[dict[str, Any]], Awaitable[None]]
BAR_WIDTH = 50


def progress_bar(current: int, total: int) -> str:
    """Docker's rendering: `[=====>      ]  1.2MB/3.4MB`."""
    if total <= 0:
        return human_size(current)
    filled = min(BAR_WIDTH, BAR_WIDTH * current // total)
    arrow = ">" if filled < BAR_WIDTH else ""
    bar = "=" * max(0, filled - (1 if arrow else 0)) + arrow
    return f"[{bar.ljust(BAR_WIDTH)}] {human_size(current):>8}/{human_size(total)}"


def progress_message(item: TransferProgress) -> dict[str, Any]:
    message: dict[str, Any] = {"status": item.status, "progressDetail": {}, "id": item.id}
    if item.total or item.current:
        message["progressDetail"] = {"current": item.current, "total": item.total}
        message["progress"] = progress_bar(item.current, item.total)
    return message


def pull_reference(from_image: str, tag: str) -> reference.Reference:
    """`fromImage` and `tag` as the API takes them (the tag may be a digest)."""
    ref = parse_reference(from_image) if not tag else reference_without_default(from_image)
    if tag:
        if tag.startswith("sha256:"):
            return reference.parse(f"{ref.name}@{tag}")
        if not reference.valid_tag(tag):
            raise errdefs.InvalidArgument(f"invalid tag format: {tag}")
        ref = ref.with_tag(tag)
    return ref


def reference_without_default(text: str) -> reference.Reference:
    try:
        return reference.parse(text)
    except reference.InvalidReference as err:
        raise errdefs.InvalidArgument(str(err)) from None


_FULL_IMAGE_ID = re.compile(r"^(sha256:)?[a-f0-9]{64}$")


def inspect_reference(text: str) -> reference.Reference:
    """The name of `GET /distribution/{name}/json`, read as moby reads it: a full image ID (a bare
    digest) is refused with its words and status (500), a tag defaults to `latest`."""
    if _FULL_IMAGE_ID.match(text):
        raise errdefs.System("no manifest found for full image ID")
    return parse_reference(text)


class DistributionService:
    def __init__(self, supervisor: Supervisor, images: ImageService) -> None:
        self._supervisor = supervisor
        self._images = images

    async def pull(self, ref: reference.Reference, platform: str, auth: RegistryAuth, send: Send) -> LocalImage:
        """Pull `ref`, streaming Docker's progress messages through `send`. Under a lease from the
        first blob to the image record, so the garbage collector can't take what is not named yet."""
        async with leased(self._supervisor, purpose="pull"):
            return await self._pull(ref, platform, auth, send)

    async def _pull(self, ref: reference.Reference, platform: str, auth: RegistryAuth, send: Send) -> LocalImage:
        name = str(ref)
        try:
            previous = (await self._supervisor.images.get(name)).target.digest
        except errdefs.NotFound:
            previous = ""
        outcome: PullOutcome | None = None
        announced = False
        layers: list[str] = []
        try:
            async for item in self._supervisor.distribution.pull(name, platform, auth):
                if not announced:
                    await send({"status": f"Pulling from {ref.path if ref.domain == 'docker.io' else ref.familiar_name}",
                                "id": ref.tag or ref.digest or "latest"})
                    announced = True
                if isinstance(item, PullOutcome):
                    outcome = item
                else:
                    if item.status == "Pulling fs layer":
                        layers.append(item.id)
                    await send(progress_message(item))
        except errdefs.NotFound as err:
            if str(err).startswith(("image with reference", "no matching manifest")):
                raise  # platform errors: Docker's own words already
            raise errdefs.NotFound(f"manifest for {ref.familiar()} not found: {err}") from err
        except errdefs.Unauthorized as err:
            raise errdefs.NotFound(
                f"pull access denied for {ref.familiar_name}, repository does not exist or may require "
                f"'docker login': denied: {err}"
            ) from err
        if outcome is None:
            raise errdefs.System("the supervisor ended the pull without an outcome")
        if outcome.manifest.media_type and outcome.manifest.media_type not in MANIFEST_TYPES:
            raise errdefs.InvalidArgument(f"unsupported manifest media type {outcome.manifest.media_type}")
        for layer in layers:
            await send({"status": "Extracting", "progressDetail": {}, "id": layer})
        await self._supervisor.unpacker.unpack(outcome.manifest.digest)
        for layer in layers:
            await send({"status": "Pull complete", "progressDetail": {}, "id": layer})
        await self._supervisor.images.update(
            Image(name=name, target=outcome.target, labels={REPO_DIGEST_LABEL: outcome.target.digest}))
        await send({"status": f"Digest: {outcome.target.digest}"})
        if previous == outcome.target.digest:
            await send({"status": f"Status: Image is up to date for {ref.familiar()}"})
        else:
            await send({"status": f"Status: Downloaded newer image for {ref.familiar()}"})
        image = await self._images.resolve(name)
        self._images.publish("pull", image.id, ref.familiar())
        return image

    async def push(self, ref: reference.Reference, auth: RegistryAuth, send: Send) -> PushOutcome:
        image = await self._images.resolve(str(ref))
        await send({"status": f"The push refers to repository [{ref.name if ref.domain != 'docker.io' else 'docker.io/' + ref.path}]"})
        outcome: PushOutcome | None = None
        try:
            async for item in self._supervisor.distribution.push(str(ref), image.manifest, auth):
                if isinstance(item, PushOutcome):
                    outcome = item
                else:
                    await send(progress_message(item))
        except errdefs.Unauthorized as err:
            raise errdefs.Unauthorized(f"denied: requested access to the resource is denied: {err}") from err
        if outcome is None:
            raise errdefs.System("the supervisor ended the push without an outcome")
        await send({"status": f"{outcome.tag}: digest: {outcome.digest} size: {outcome.size}"})
        record = await self._supervisor.images.get(str(ref))
        if record.labels.get(REPO_DIGEST_LABEL) != outcome.digest:
            record.labels[REPO_DIGEST_LABEL] = outcome.digest
            await self._supervisor.images.update(record)
        await send({"progressDetail": {}, "aux": {"Tag": outcome.tag, "Digest": outcome.digest, "Size": outcome.size}})
        self._images.publish("push", image.id, ref.familiar())
        return outcome

    async def inspect(self, ref: reference.Reference, auth: RegistryAuth) -> dict[str, Any]:
        """Docker's DistributionInspect: the descriptor the reference resolves to in its registry and
        the platforms it offers. The registry's errors keep their words (`manifest unknown: …`)."""
        resolved = await self._supervisor.distribution.resolve(str(ref), auth)
        target = resolved.target
        return {
            "Descriptor": {"mediaType": target.media_type, "digest": target.digest, "size": target.size},
            "Platforms": resolved.platforms or None,  # Go's nil slice: null
        }

    async def search(self, term: str, limit: int, filters: dict[str, Any], auth: RegistryAuth) -> list[dict[str, Any]]:
        """docker search: the index named in `term` asked for it, its answer filtered (moby's order:
        the filters are checked first, and a search for automated builds asks nobody)."""
        wanted = search_filters(filters)
        if wanted.automated:
            return []
        check_limit(limit)
        return selected(await self._supervisor.distribution.search(term, limit, auth), wanted, limit)

    async def login(self, body: dict[str, Any]) -> dict[str, str]:
        """`POST /auth` (docker login): check the credentials with the registry."""
        server = str(body.get("serveraddress") or "https://index.docker.io/v1/")
        auth = RegistryAuth(username=str(body.get("username") or ""), password=str(body.get("password") or ""),
                            identity_token=str(body.get("identitytoken") or ""))
        if not auth.username and not auth.identity_token:
            raise errdefs.InvalidArgument("a username is required to log in")
        token = await self._supervisor.distribution.login(server, auth)
        return {"Status": "Login Succeeded", "IdentityToken": token}
