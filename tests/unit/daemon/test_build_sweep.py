"""The sweep of interrupted builds at wharfd's start takes build containers only, even from a
supervisor older than the label filter of its container listing (it outlives wharfd upgrades)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from tests.unit.daemon.harness import started
from wharf.containerd.core.containers import Container
from wharf.containerd.core.tasks import CreateTaskOptions
from wharf.daemon.builder.runner import BUILD_LABEL


def test_a_supervisor_that_ignores_the_label_filter_loses_only_build_containers() -> None:
    async def main() -> None:
        async with started() as h:
            await h.import_image()
            root, supervisor = h.root, h.supervisor
            await h.daemon.stop()
            every_container = supervisor.containers.list

            async def list_ignoring_labels(labels: Mapping[str, str] | None = None) -> list[Container]:
                return await every_container()

            supervisor.containers.list = list_ignoring_labels  # type: ignore[method-assign]
            build_id, other_id = "build-" + "0" * 58, "other-" + "0" * 58
            for container_id, labels in ((build_id, {BUILD_LABEL: "1"}), (other_id, {})):
                await supervisor.containers.create(Container(
                    container_id, "busybox", "wharf-runc", {"process": {"args": ["sleep", "60"]}}, container_id,
                    labels=labels))  # fmt: skip
                await supervisor.tasks.create(container_id, CreateTaskOptions())
                await supervisor.tasks.start(container_id)
            async with started(root, supervisor):
                assert build_id not in supervisor.tasks.tasks
                assert build_id not in supervisor.containers.items
                assert other_id in supervisor.tasks.tasks
                assert other_id in supervisor.containers.items
            await supervisor.tasks.kill(other_id, 9)
            await supervisor.tasks.wait(other_id)
            await supervisor.tasks.delete(other_id)
            await supervisor.containers.delete(other_id)

    asyncio.run(asyncio.wait_for(main(), 20))
