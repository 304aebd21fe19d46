"""wharfd's networks and volumes: the controller, embedded DNS and volume store, handed to the
container service, and their API routes."""

from __future__ import annotations

import logging
from pathlib import Path

from wharf.daemon.backend.containers import ContainerService
from wharf.daemon.backend.events import EventBus
from wharf.daemon.backend.mounts import ContainerMounts
from wharf.daemon.backend.networking import ContainerNetworking, make_dns
from wharf.daemon.backend.networks import NetworkService
from wharf.daemon.backend.volumes import VolumeService
from wharf.daemon.network.controller import NetworkController
from wharf.daemon.routers.common import Route
from wharf.daemon.routers.network.routes import NetworkRouter
from wharf.daemon.routers.volume.routes import VolumeRouter
from wharf.daemon.volume.local import VolumeStore

log = logging.getLogger("wharfd.networks")


class NetworksAndVolumes:
    def __init__(self, containers: ContainerService, events: EventBus, data_root: str, exec_root: str,
                 bridge: str = "wharf0", default_subnet: str = "") -> None:
        self.controller = NetworkController(Path(data_root) / "network", Path(exec_root) / "network",
                                            default_bridge=bridge or "wharf0", default_subnet=default_subnet)
        self.dns = make_dns(self.controller)
        self.networking = ContainerNetworking(self.controller, self.dns, events)
        self.store = VolumeStore(Path(data_root) / "volumes")
        self.mounts = ContainerMounts(self.store, str(Path(exec_root) / "subpaths"))
        self.networks = NetworkService(self.networking, containers, events)
        self.volumes = VolumeService(self.store, events)
        self._containers = containers
        self.networking.find_container = containers.get
        self.mounts.events = events
        containers.networking = self.networking
        containers.mounts = self.mounts

    def routes(self) -> list[list[Route]]:
        return [NetworkRouter(self.networks).routes(), VolumeRouter(self.volumes).routes()]

    def load(self) -> None:
        """After the containers are loaded: networks, endpoints and volume references."""
        self.controller.load()
        self.mounts.load(self._containers.all())

    async def resume(self) -> None:
        """After the exits that happened while wharfd was down are handled: release what stopped
        containers still hold, serve DNS again for the running ones, mark their volumes mounted."""
        running = [r for r in self._containers.all() if r.state.running]
        await self.networking.release_orphans({r.id for r in running})
        for record in running:
            await self.networking.resume_dns(record)
            self.mounts.adopt(record)

    async def close(self) -> None:
        self.dns.close()
