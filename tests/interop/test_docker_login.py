"""docker login, then an authenticated push and pull, against a TLS registry with basic auth."""

import secrets
from collections.abc import Iterator

import pytest

from tests.conftest import require_binary
from tests.fixtures.daemon import WharfDaemon
from tests.fixtures.registry import Registry, tls_registry

USER, PASSWORD = "wharfer", "pa55-" + secrets.token_hex(4)


@pytest.fixture(scope="module")
def private_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    require_binary("docker-registry")
    with tls_registry(tmp_path_factory.mktemp("private-registry"), USER, PASSWORD) as server:
        yield server


def test_login_push_pull(wharf: WharfDaemon, private_registry: Registry) -> None:
    address = private_registry.address
    refused = wharf.docker("login", "-u", USER, "--password-stdin", address, input="wrong\n")
    assert refused.returncode != 0
    assert "401" in refused.stderr or "unauthorized" in refused.stderr.lower()

    target = f"{address}/team/busybox:v1"
    wharf.docker("tag", "busybox:latest", target, check=True)
    anonymous = wharf.docker("push", target)
    assert anonymous.returncode != 0

    accepted = wharf.docker("login", "-u", USER, "--password-stdin", address, input=PASSWORD + "\n")
    assert accepted.returncode == 0, accepted.stderr
    assert "Login Succeeded" in accepted.stdout
    pushed = wharf.docker("push", target)
    assert pushed.returncode == 0, pushed.stderr
    wharf.docker("rmi", target, check=True)
    pulled = wharf.docker("pull", target)
    assert pulled.returncode == 0, pulled.stderr
    wharf.docker("logout", address, check=True)
