"""`docker version` and `docker info`."""

from __future__ import annotations

import os
import platform
import socket
from typing import Any

from wharf.daemon.backend.containers import ContainerService
from wharf.daemon.backend.events import EventBus, EventSubscription
from wharf.daemon.backend.images import ImageService, host_architecture
from wharf.daemon.backend.state import Status
from wharf.daemon.backend.timefmt import now_ns, rfc3339nano
from wharf.daemon.server.versions import ENGINE_VERSION, MAX_API_VERSION, MIN_API_VERSION


def _os_name() -> str:
    try:
        with open("/etc/os-release") as source:
            for line in source:
                if line.startswith("PRETTY_NAME="):
                    return line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return "Linux"


def _cgroup_version() -> str:
    return "2" if os.path.exists("/sys/fs/cgroup/cgroup.controllers") else "1"


def _mem_total() -> int:
    try:
        with open("/proc/meminfo") as source:
            for line in source:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


class SystemService:
    def __init__(self, containers: ContainerService, images: ImageService, events: EventBus,
                 data_root: str, runtime: str, daemon_id: str, userns_remapped: bool = False) -> None:
        self._userns_remapped = userns_remapped
        self._containers = containers
        self._images = images
        self._events = events
        self._data_root = data_root
        self._runtime = runtime
        self._daemon_id = daemon_id

    def version(self) -> dict[str, Any]:
        details = {
            "ApiVersion": MAX_API_VERSION, "Arch": host_architecture(), "BuildTime": "", "Experimental": "false",
            "GitCommit": "", "GoVersion": f"python{platform.python_version()}", "KernelVersion": platform.release(),
            "MinAPIVersion": MIN_API_VERSION, "Os": "linux",
        }  # fmt: skip
        return {
            "Platform": {"Name": "Wharf Engine"},
            "Components": [{"Name": "Engine", "Version": ENGINE_VERSION, "Details": details}],
            "Version": ENGINE_VERSION,
            "ApiVersion": MAX_API_VERSION,
            "MinAPIVersion": MIN_API_VERSION,
            "GitCommit": "",
            "GoVersion": details["GoVersion"],
            "Os": "linux",
            "Arch": host_architecture(),
            "KernelVersion": platform.release(),
            "BuildTime": "",
        }

    def subscribe_events(self, since_ns: int | None) -> EventSubscription:
        return self._events.subscribe(since_ns)

    async def info(self) -> dict[str, Any]:
        records = self._containers.all()
        running = sum(1 for r in records if r.state.status is Status.RUNNING)
        paused = sum(1 for r in records if r.state.status is Status.PAUSED)
        images = await self._images.list()
        runtimes = {name: {"path": name} for name in sorted({self._runtime, "runc", "crun", "wharf-runc"})}
        return {
            "ID": self._daemon_id,
            "Containers": len(records),
            "ContainersRunning": running,
            "ContainersPaused": paused,
            "ContainersStopped": len(records) - running - paused,
            "Images": len(images),
            "Driver": "overlayfs",
            "DriverStatus": [["driver-type", "io.containerd.snapshotter.v1"]],
            "Plugins": {"Volume": ["local"], "Network": ["host", "null"], "Authorization": None,
                        "Log": ["json-file"]},
            "MemoryLimit": True, "SwapLimit": True, "KernelMemoryTCP": False, "CpuCfsPeriod": True,
            "CpuCfsQuota": True, "CPUShares": True, "CPUSet": True, "PidsLimit": True, "IPv4Forwarding": True,
            "Debug": False, "NFd": len(os.listdir("/proc/self/fd")), "OomKillDisable": False,
            "NGoroutines": 0, "SystemTime": rfc3339nano(now_ns()), "LoggingDriver": "json-file",
            "CgroupDriver": "cgroupfs", "CgroupVersion": _cgroup_version(),
            "NEventsListener": self._events.listeners, "KernelVersion": platform.release(),
            "OperatingSystem": _os_name(), "OSVersion": "", "OSType": "linux",
            "Architecture": platform.machine(), "IndexServerAddress": "https://index.docker.io/v1/",
            "RegistryConfig": {"InsecureRegistryCIDRs": ["127.0.0.0/8", "::1/128"], "IndexConfigs": {
                                   "docker.io": {"Name": "docker.io", "Mirrors": [], "Secure": True,
                                                 "Official": True}}, "Mirrors": None},
            "NCPU": os.cpu_count() or 1, "MemTotal": _mem_total(), "GenericResources": None,
            "DockerRootDir": self._data_root, "HttpProxy": os.environ.get("HTTP_PROXY", ""),
            "HttpsProxy": os.environ.get("HTTPS_PROXY", ""), "NoProxy": os.environ.get("NO_PROXY", ""),
            "Name": socket.gethostname(), "Labels": [], "ExperimentalBuild": False,
            "ServerVersion": ENGINE_VERSION, "Runtimes": runtimes, "DefaultRuntime": self._runtime,
            "Swarm": {"NodeID": "", "NodeAddr": "", "LocalNodeState": "inactive", "ControlAvailable": False,
                      "Error": "", "RemoteManagers": None},
            "LiveRestoreEnabled": True, "Isolation": "", "InitBinary": "docker-init",
            "ContainerdCommit": {"ID": ""}, "RuncCommit": {"ID": ""}, "InitCommit": {"ID": ""},
            "SecurityOptions": ["name=seccomp,profile=builtin",
                                *(["name=userns"] if self._userns_remapped else []),
                                *(["name=cgroupns"] if _cgroup_version() == "2" else [])],
            "CDISpecDirs": [], "Containerd": None, "Warnings": None,
        }  # fmt: skip
