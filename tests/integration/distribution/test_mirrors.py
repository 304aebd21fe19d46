"""registry-mirrors: Docker Hub references are served by the mirror (never reaching Docker Hub here:
the mirror holds the image, so no request leaves the machine)."""

import asyncio

from tests.fixtures.registry import Registry
from wharf.containerd.core.distribution import PullOutcome, TransferProgress
from wharf.containerd.distribution.registry import RegistryConfig
from wharf.containerd.distribution.service import RegistryDistributor
from wharf.containerd.plugins.content_local import LocalContentStore


def test_docker_hub_image_comes_from_the_mirror(registry: Registry, content: LocalContentStore) -> None:
    async def scenario() -> tuple[list[TransferProgress], PullOutcome]:
        distributor = RegistryDistributor(content, RegistryConfig(mirrors=[registry.url]))
        events, outcome = [], None
        try:
            async for item in distributor.pull("docker.io/library/busybox:latest"):
                if isinstance(item, PullOutcome):
                    outcome = item
                else:
                    events.append(item)
        finally:
            await distributor.close()
        assert outcome is not None
        return events, outcome

    events, outcome = asyncio.run(scenario())
    assert events and events[-1].status == "Download complete"
    info = asyncio.run(content.info(outcome.manifest.digest))
    assert info.size == outcome.manifest.size
