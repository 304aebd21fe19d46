"""Fixtures of the shim's integration tests (the helpers are in shim_world.py)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from shim_world import ShimHost

from tests.conftest import require_binary
from tests.fixtures.busybox_image import write_rootfs_dir


@pytest.fixture(scope="session")
def rootfs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not Path("/bin/busybox").is_file():
        pytest.skip("/bin/busybox is missing (busybox-static)")
    # Read-only root (runc spec's default), so every test's container can share it.
    return write_rootfs_dir(tmp_path_factory.mktemp("shim-rootfs") / "rootfs")


@pytest.fixture
def host(rootfs: Path) -> Iterator[ShimHost]:
    runc = require_binary("runc")
    base = Path(f"/run/wt-{secrets.token_hex(4)}")
    base.mkdir(mode=0o711)
    world = ShimHost(base, rootfs, runc)
    try:
        yield world
    finally:
        world.cleanup()


