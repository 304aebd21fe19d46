"""System commands: version, info."""

from __future__ import annotations

import argparse
import platform

from wharf.client import EngineClient
from wharf.client.engine import API_VERSION

CLIENT_VERSION = "0.1.0"


def add_commands(commands: argparse._SubParsersAction) -> None:
    commands.add_parser("version", help="Show the wharf version information").set_defaults(func=version)
    commands.add_parser("info", help="Display system-wide information").set_defaults(func=info)


def version(client: EngineClient, args: argparse.Namespace) -> int:
    print("Client: Wharf")
    print(f" Version:           {CLIENT_VERSION}")
    print(f" API version:       {API_VERSION}")
    print(f" Python version:    {platform.python_version()}")
    print(f" OS/Arch:           linux/{platform.machine()}")
    server = client.call("GET", "/version")
    print()
    print(f"Server: {server.get('Platform', {}).get('Name', '')}")
    print(" Engine:")
    print(f"  Version:          {server.get('Version')}")
    print(f"  API version:      {server.get('ApiVersion')} (minimum version {server.get('MinAPIVersion')})")
    print(f"  OS/Arch:          {server.get('Os')}/{server.get('Arch')}")
    print(f"  Kernel Version:   {server.get('KernelVersion')}")
    return 0


def info(client: EngineClient, args: argparse.Namespace) -> int:
    data = client.call("GET", "/info")
    print("Server:")
    print(f" Containers: {data.get('Containers', 0)}")
    print(f"  Running: {data.get('ContainersRunning', 0)}")
    print(f"  Paused: {data.get('ContainersPaused', 0)}")
    print(f"  Stopped: {data.get('ContainersStopped', 0)}")
    print(f" Images: {data.get('Images', 0)}")
    print(f" Server Version: {data.get('ServerVersion')}")
    print(f" Storage Driver: {data.get('Driver')}")
    print(f" Cgroup Driver: {data.get('CgroupDriver')}")
    print(f" Cgroup Version: {data.get('CgroupVersion')}")
    print(f" Default Runtime: {data.get('DefaultRuntime')}")
    print(f" Kernel Version: {data.get('KernelVersion')}")
    print(f" Operating System: {data.get('OperatingSystem')}")
    print(f" CPUs: {data.get('NCPU')}")
    print(f" Total Memory: {data.get('MemTotal')}")
    print(f" Docker Root Dir: {data.get('DockerRootDir')}")
    return 0
