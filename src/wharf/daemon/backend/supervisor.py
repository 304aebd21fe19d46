"""What wharfd needs of the supervisor: the object `wharf.containerd.proxy.connect()` returns."""

from __future__ import annotations

from typing import Protocol

from wharf.containerd.core.containers import ContainerStore
from wharf.containerd.core.content import ContentStore
from wharf.containerd.core.diff import Differ
from wharf.containerd.core.distribution import Distribution
from wharf.containerd.core.events import EventService
from wharf.containerd.core.images import ImageStore, ImageUnpacker
from wharf.containerd.core.snapshots import Snapshotter
from wharf.containerd.core.tasks import TaskService


class Supervisor(Protocol):
    containers: ContainerStore
    tasks: TaskService
    content: ContentStore
    snapshots: Snapshotter
    images: ImageStore
    unpacker: ImageUnpacker
    events: EventService
    distribution: Distribution
    diff: Differ
