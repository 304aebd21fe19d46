import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import require_binary
from tests.fixtures.daemon import WharfDaemon, started_with_busybox


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.geteuid() == 0:
        return
    skip = pytest.mark.skip(reason="needs root: real namespaces, mounts and cgroups")
    for item in items:
        if "/reliability/" in str(item.path):
            item.add_marker(skip)


@pytest.fixture(scope="module")
def wharf() -> Iterator[WharfDaemon]:
    """A wharfd of the module's own, with busybox:latest imported."""
    require_binary("docker")
    daemon = WharfDaemon()
    with started_with_busybox(daemon):
        yield daemon


def compile_c(tmp: Path, name: str, source: str, *flags: str) -> Path:
    """A small C helper built for the test (static, so it runs in a busybox container)."""
    require_binary("gcc")
    (tmp / f"{name}.c").write_text(source)
    out = tmp / name
    built = subprocess.run(["gcc", *flags, "-O2", "-o", str(out), str(tmp / f"{name}.c")],
                           capture_output=True, text=True)
    if built.returncode != 0:
        pytest.skip(f"cannot build the C helper {name}: {built.stderr[-500:]}")
    return out
