"""`docker commit`: a container's changes (its snapshot's diff) as a new image over its image.

The container's snapshot stays as it is (diffed without commit: the container keeps using it). The
new config is the image's, with the container's run settings (Cmd, Env, User…) and `--change`
instructions on top, as Docker merges them. `pause` (the default) freezes a running container
while its layer is read."""

from __future__ import annotations

import asyncio
import contextlib
import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from wharf import errdefs
from wharf.containerd.core.images import Image
from wharf.containerd.core.tasks import TaskStatus
from wharf.daemon.backend.image_changes import apply_changes
from wharf.daemon.backend.images import DANGLING_PREFIX, PARENT_LABEL, ImageService, parse_reference
from wharf.daemon.backend.record import ContainerRecord
from wharf.daemon.backend.state import Status
from wharf.daemon.backend.supervisor import Supervisor
from wharf.daemon.builder import imagestate
from wharf.daemon.builder.imagestate import ImageState
from wharf.oci import reference

COMMITTED_KEYS = (
    "User", "ExposedPorts", "Env", "Cmd", "Healthcheck", "ArgsEscaped", "Volumes", "WorkingDir",
    "Entrypoint", "OnBuild", "Labels", "StopSignal", "Shell",
)  # fmt: skip
EXIT_SETTLE_CHECKS, EXIT_SETTLE_INTERVAL = 10, 0.05
"""How long a pause that failed waits for the container's exit to be seen (checks, seconds apart)."""


@dataclass
class CommitRequest:
    container: str
    repo: str = ""
    tag: str = ""
    comment: str = ""
    author: str = ""
    pause: bool = True
    changes: list[str] = field(default_factory=list)
    config: dict[str, Any] | None = None
    """A container Config in the body: its fields override the container's."""


class CommitService:
    def __init__(self, supervisor: Supervisor, images: ImageService,
                 container_lookup: Callable[[str], ContainerRecord]) -> None:  # fmt: skip
        self._supervisor = supervisor
        self._images = images
        self._lookup = container_lookup

    async def commit(self, request: CommitRequest) -> str:
        record = self._lookup(request.container)
        target = None
        if request.repo:
            target = parse_reference(request.repo)
            if request.tag:
                if not reference.valid_tag(request.tag):
                    raise errdefs.InvalidArgument(f"invalid tag format: {request.tag}")
                target = target.with_tag(request.tag)
        base = await self._images.resolve(record.image_id)
        pause = request.pause and record.state.status is Status.RUNNING
        if pause:
            pause = await self._pause_if_still_running(record.id)
        try:
            result = await self._supervisor.diff.diff(record.id, False, False)
        finally:
            if pause:
                with contextlib.suppress(errdefs.WharfError):
                    await self._supervisor.tasks.resume(record.id)
        state = ImageState(copy.deepcopy(base.config), [layer.to_json() for layer in base.layers])
        run_config = {key: copy.deepcopy(record.config.get(key)) for key in COMMITTED_KEYS
                      if record.config.get(key) is not None}  # fmt: skip
        if request.config:
            run_config.update({k: v for k, v in request.config.items() if k in COMMITTED_KEYS and v is not None})
        state.config["config"] = apply_changes(run_config, request.changes)
        state.config["container"] = record.id
        if request.author:
            state.config["author"] = request.author
        state.add_layer(result.layer, result.diff_id)
        state.add_history(" ".join([record.path, *record.args]), empty_layer=False, comment=request.comment)
        if request.author:
            state.config["history"][-1]["author"] = request.author
        await imagestate.save(self._supervisor.content, state)
        descriptor = imagestate.manifest_descriptor(state)
        name = str(target) if target else DANGLING_PREFIX + state.image_id
        await self._supervisor.images.update(Image(name=name, target=descriptor, labels={PARENT_LABEL: base.id}))
        self._images.publish("commit" if target is None else "tag", state.image_id,
                             target.familiar() if target else "")  # fmt: skip
        return state.image_id

    async def _pause_if_still_running(self, container_id: str) -> bool:
        """Freeze the container for the copy; one that exited meanwhile (its exit not yet seen
        here) is committed as it is, as Docker commits a stopped container."""
        try:
            await self._supervisor.tasks.pause(container_id)
            return True
        except errdefs.WharfError:
            # The runtime may see the process gone before the shim has reaped it: give the exit
            # a moment to land before calling the failure real.
            for _ in range(EXIT_SETTLE_CHECKS):
                try:
                    info = await self._supervisor.tasks.get(container_id)
                except errdefs.NotFound:
                    return False
                if info.status is not TaskStatus.RUNNING:
                    return False
                await asyncio.sleep(EXIT_SETTLE_INTERVAL)
            raise
