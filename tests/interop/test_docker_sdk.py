"""The docker Python SDK (unmodified) against wharfd."""

import docker
import pytest

from tests.fixtures.daemon import WharfDaemon


@pytest.fixture
def client(wharf: WharfDaemon):
    client = docker.DockerClient(base_url=wharf.host, version="auto", timeout=60)
    yield client
    client.close()


def test_ping_and_version(client: docker.DockerClient) -> None:
    assert client.ping() is True
    assert client.version()["ApiVersion"] == "1.51"


def test_run_returns_output(client: docker.DockerClient) -> None:
    output = client.containers.run("busybox", ["sh", "-c", "echo sdk; echo err >&2"], remove=True)
    assert output == b"sdk\n"


def test_run_detached_wait_logs_remove(client: docker.DockerClient) -> None:
    container = client.containers.run("busybox", ["sh", "-c", "echo one; exit 4"], detach=True)
    try:
        assert container.wait()["StatusCode"] == 4
        assert container.logs() == b"one\n"
        container.reload()
        assert container.status == "exited"
        assert container.attrs["State"]["ExitCode"] == 4
    finally:
        container.remove(force=True)
    with pytest.raises(docker.errors.NotFound):
        client.containers.get(container.id)


def test_not_found_errors(client: docker.DockerClient) -> None:
    with pytest.raises(docker.errors.NotFound):
        client.containers.get("nope-nope-nope")
    with pytest.raises(docker.errors.ImageNotFound):
        client.images.get("nope-nope-nope:1")


def test_images_list_and_get(client: docker.DockerClient) -> None:
    image = client.images.get("busybox")
    assert "busybox:latest" in image.tags
    assert image.id.startswith("sha256:")
    assert any(i.id == image.id for i in client.images.list())
