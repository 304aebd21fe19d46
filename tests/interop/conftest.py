from collections.abc import Iterator

import pytest

from tests.conftest import require_binary
from tests.fixtures.daemon import WharfDaemon, started_with_busybox


@pytest.fixture(scope="session")
def wharf() -> Iterator[WharfDaemon]:
    """One wharfd for the session with busybox:latest imported."""
    require_binary("docker")
    daemon = WharfDaemon()
    with started_with_busybox(daemon):
        yield daemon


@pytest.fixture
def fresh_wharf() -> Iterator[WharfDaemon]:
    """A wharfd of the test's own, for tests that kill or restart it."""
    require_binary("docker")
    daemon = WharfDaemon()
    with started_with_busybox(daemon):
        yield daemon
