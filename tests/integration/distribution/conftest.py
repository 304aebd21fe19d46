"""A real registry holding busybox (pushed by skopeo), and an empty content store per test."""

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import require_binary
from tests.fixtures.busybox_image import write_rootfs_tar
from tests.fixtures.oci_layout import write_layout
from tests.fixtures.registry import Registry
from wharf.containerd.plugins.content_local import LocalContentStore
from wharf.containerd.plugins.metadata_sqlite.db import open_db


@pytest.fixture(scope="package")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    require_binary("docker-registry")
    require_binary("skopeo")
    server = Registry()
    server.start()
    work = tmp_path_factory.mktemp("layout")
    write_rootfs_tar(work / "busybox.tar")
    write_layout(work / "layout", [(work / "busybox.tar").read_bytes()])
    subprocess.run(["skopeo", "copy", "--dest-tls-verify=false", f"oci:{work / 'layout'}:latest",
                    f"docker://{server.address}/library/busybox:latest"], check=True, capture_output=True)
    yield server
    server.stop()


@pytest.fixture
def content(tmp_path: Path) -> LocalContentStore:
    return LocalContentStore(tmp_path, open_db(tmp_path / "wharf.db"))


