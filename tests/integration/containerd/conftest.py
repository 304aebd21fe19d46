"""Fixtures of the supervisor's integration tests: unique dirs under /run/wt-*, in-process plugins,
and a real wharf-containerd process with the proxy as its client."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest

from tests.fixtures.cleanup import kill_processes, processes_mentioning, remove_tree, wait_gone
from wharf.containerd.plugins.content_local import LocalContentStore
from wharf.containerd.plugins.metadata_sqlite import open_db
from wharf.containerd.plugins.snapshots_overlay import OverlaySnapshotter
from wharf.containerd.plugins.unpack import SnapshotUnpacker
from wharf.containerd.proxy import connect

T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


@pytest.fixture
def base_dir() -> Iterator[Path]:
    base = Path(f"/run/wt-{secrets.token_hex(4)}")
    base.mkdir(mode=0o711)
    try:
        yield base
    finally:
        pids = processes_mentioning(str(base))
        kill_processes(pids)
        wait_gone(pids)
        remove_tree(str(base))


@dataclass
class LocalPlugins:
    root: Path
    content: LocalContentStore
    snapshots: OverlaySnapshotter
    unpacker: SnapshotUnpacker


@pytest.fixture
def local(base_dir: Path) -> LocalPlugins:
    root = base_dir / "root"
    db = open_db(root / "wharf.db")
    content = LocalContentStore(root, db)
    snapshots = OverlaySnapshotter(root, db)
    return LocalPlugins(root, content, snapshots, SnapshotUnpacker(content, snapshots))


@dataclass
class SupervisorProcess:
    """A wharf-containerd on its own socket and dirs; restartable."""

    base: Path
    runtime: str
    process: subprocess.Popen[bytes] | None = None
    extra_args: tuple[str, ...] = ()

    @property
    def address(self) -> Path:
        return self.base / "c.sock"

    @property
    def runtime_root(self) -> Path:
        return self.base / "runtime"

    def start(self) -> None:
        log = open(self.base / "containerd.log", "ab")  # noqa: SIM115 - the child keeps it
        self.process = subprocess.Popen(
            [
                sys.executable, "-m", "wharf.containerd.main",
                "--address", str(self.address),
                "--root", str(self.base / "root"),
                "--state", str(self.base / "state"),
                "--runtime", self.runtime,
                "--runtime-root", str(self.runtime_root),
                "--log-level", "debug",
                *self.extra_args,
            ],
            stdout=log,
            stderr=log,
            start_new_session=True,
        )  # fmt: skip
        log.close()
        deadline = time.monotonic() + 20
        while not self._accepts():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"wharf-containerd did not start:\n{self.log()}")
            time.sleep(0.02)

    def _accepts(self) -> bool:
        with socket.socket(socket.AF_UNIX) as probe:
            try:
                probe.connect(str(self.address))
                return True
            except OSError:
                return False

    def kill(self, sig: int = signal.SIGKILL) -> None:
        assert self.process is not None
        self.process.send_signal(sig)
        self.process.wait(10)

    def log(self) -> str:
        try:
            return (self.base / "containerd.log").read_text()
        except OSError:
            return ""


@pytest.fixture
def supervisor(base_dir: Path) -> Iterator[SupervisorProcess]:
    from tests.conftest import require_binary

    proc = SupervisorProcess(base_dir, require_binary("runc"))
    proc.start()
    try:
        yield proc
    finally:
        if proc.process is not None and proc.process.poll() is None:
            proc.kill(signal.SIGTERM)
        _delete_runtime_containers(proc)


def _delete_runtime_containers(proc: SupervisorProcess) -> None:
    """Containers a failed test left in the runtime's state (only ours: it is our --root)."""
    if not proc.runtime_root.is_dir():
        return
    for container_id in os.listdir(proc.runtime_root):
        subprocess.run(
            [proc.runtime, "--root", str(proc.runtime_root), "delete", "--force", container_id],
            capture_output=True,
            check=False,
        )


@dataclass
class StoresUnderTest:
    """One implementation of the supervisor's stores: the plugins in process, or the proxy to a
    real wharf-containerd. Conformance tests run against both."""

    kind: str
    root: Path
    address: Path | None = None

    def run(self, scenario: Callable[[Any], Awaitable[T]]) -> T:
        """Run `scenario(stores)` in a fresh event loop with the stores open."""

        async def opened() -> T:
            async with self.open() as stores:
                return await scenario(stores)

        return asyncio.run(opened())

    @contextlib.asynccontextmanager
    async def open(self) -> AsyncIterator[Any]:
        if self.address is None:
            db = open_db(self.root / "wharf.db")
            content = LocalContentStore(self.root, db)
            snapshots = OverlaySnapshotter(self.root, db)
            try:
                yield LocalPlugins(self.root, content, snapshots, SnapshotUnpacker(content, snapshots))
            finally:
                db.close()
            return
        supervisor = await connect(str(self.address))
        try:
            yield supervisor
        finally:
            await supervisor.close()


@pytest.fixture(params=["local", "proxy"])
def stores(request: pytest.FixtureRequest, base_dir: Path) -> Iterator[StoresUnderTest]:
    if request.param == "local":
        yield StoresUnderTest("local", base_dir / "root")
        return
    proc = SupervisorProcess(base_dir, "runc")
    proc.start()
    try:
        yield StoresUnderTest("proxy", base_dir / "root", proc.address)
    finally:
        proc.kill(signal.SIGTERM)
