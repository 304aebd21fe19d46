"""The container service: Docker's container verbs over the supervisor's containers and tasks.

Lifecycle: create (record, snapshot, supervisor container) → start (task create, attachers connect
to the shim, task start) → exit (pushed by the supervisor's /tasks/exit event: state, task delete,
waiters, --rm) → remove. State changes of one container are serialised by its lock.

Each part lives in its own module, as a mixin over the shared state of containers_base.
"""

from __future__ import annotations

from wharf.daemon.backend.containers_attach import ContainerAttaching
from wharf.daemon.backend.containers_base import DaemonPaths
from wharf.daemon.backend.containers_control import ContainerControl
from wharf.daemon.backend.containers_create import ContainerCreation
from wharf.daemon.backend.containers_exit import ContainerExits
from wharf.daemon.backend.containers_remove import ContainerRemoval
from wharf.daemon.backend.containers_start import ContainerStarting

__all__ = ["ContainerService", "DaemonPaths"]


class ContainerService(
    ContainerCreation, ContainerStarting, ContainerAttaching, ContainerExits, ContainerControl, ContainerRemoval
):
    """Every container verb wharfd serves (the router's ContainerBackend)."""
