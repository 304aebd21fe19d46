"""Idle daemons hold only what they use (issue 9, idle memory): the supervisor loads the registry
client (aiohttp and everything it imports, ~10 MiB) on the first pull, push or login, and wharfd,
which keeps no SQLite database, never loads SQLite."""

from __future__ import annotations

import subprocess
import sys

REGISTRY_CLIENT = ("aiohttp", "wharf.containerd.distribution.registry", "wharf.containerd.distribution.auth",
                   "wharf.containerd.distribution.pull", "wharf.containerd.distribution.push",
                   "wharf.containerd.distribution.search")


def _loaded_by(code: str, candidates: tuple[str, ...]) -> list[str]:
    # A fresh interpreter: what this test process imported must not count.
    probe = f"import sys\n{code}\nprint(' '.join(m for m in {candidates!r} if m in sys.modules))"
    result = subprocess.run([sys.executable, "-I", "-c", probe], capture_output=True, text=True, check=True)
    return result.stdout.split()


def test_the_supervisor_starts_without_the_registry_client() -> None:
    assert _loaded_by("import wharf.containerd.main", REGISTRY_CLIENT) == []


def test_the_registry_client_is_loaded_by_its_first_use() -> None:
    code = (
        "import asyncio\n"
        "from wharf.containerd.distribution.service import RegistryDistributor\n"
        "async def first_use():\n"
        "    distributor = RegistryDistributor(content=None)\n"
        "    assert distributor._client('registry.example', None).host == 'registry.example'\n"
        "    await distributor.close()\n"
        "asyncio.run(first_use())\n"
    )
    assert _loaded_by(code, ("aiohttp", "wharf.containerd.distribution.registry")) == [
        "aiohttp", "wharf.containerd.distribution.registry"]


def test_wharfd_does_not_load_sqlite() -> None:
    assert _loaded_by("import wharf.daemon.main", ("sqlite3",)) == []


def test_wharfd_launches_its_supervisor_before_the_heavy_imports() -> None:
    # What the entry point imports before `launch_before_imports`: the supervisor's start-up overlaps
    # the rest (aiohttp, gRPC, the services).
    code = "import wharf.daemon.entry\nfrom wharf.daemon.supervisor_process import launch_before_imports"
    assert _loaded_by(code, ("aiohttp", "grpc", "wharf.daemon.main", "wharf.containerd.proxy")) == []
