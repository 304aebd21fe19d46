import os
import shutil
import subprocess
from collections.abc import Iterator

import pytest

from tests.fixtures.busybox_image import write_rootfs_tar
from tests.fixtures.oci_layout import write_layout
from tests.fixtures.registry import Registry


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Integration and interop tests need root (namespaces, mounts, cgroups); say so instead of failing.
    if os.geteuid() == 0:
        return
    skip = pytest.mark.skip(reason="needs root: real namespaces, mounts and cgroups")
    for item in items:
        if "/integration/" in str(item.path) or "/interop/" in str(item.path):
            item.add_marker(skip)


def require_binary(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not installed")
    return path


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    """The real registry on 127.0.0.1, holding library/busybox:latest (pushed by skopeo)."""
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


