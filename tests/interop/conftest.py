from collections.abc import Iterator

import pytest

from tests.conftest import require_binary
from tests.fixtures.daemon import WharfDaemon, started_with_busybox
from tests.fixtures.dockerd import DockerDaemon, started_dockerd


@pytest.fixture(scope="session")
def wharf() -> Iterator[WharfDaemon]:
    """One wharfd for the session with busybox:latest imported."""
    require_binary("docker")
    daemon = WharfDaemon()
    with started_with_busybox(daemon):
        yield daemon


@pytest.fixture(scope="module")
def dockerd() -> Iterator[DockerDaemon]:
    """A private real Docker engine (Debian's docker.io) for the module, busybox imported: the
    reference the interop tests compare wharfd with."""
    with started_dockerd() as daemon:
        yield daemon


@pytest.fixture
def fresh_wharf() -> Iterator[WharfDaemon]:
    """A wharfd of the test's own, for tests that kill or restart it."""
    require_binary("docker")
    daemon = WharfDaemon()
    with started_with_busybox(daemon):
        yield daemon
