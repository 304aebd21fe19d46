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
    # The SDK reads its followed log only after it removed the container: repeated, because the
    # log must survive the removal whatever the timing.
    for _ in range(10):
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


def test_attach_over_a_websocket(wharf: WharfDaemon, client: docker.DockerClient) -> None:
    """/containers/{id}/attach/ws: output as binary messages, unframed (moby's one stream). The
    docker SDK's ws attach speaks TCP only, so websocket-client (what the SDK uses) is handed the
    daemon's unix socket."""
    import socket

    import websocket

    def connect(query: str) -> websocket.WebSocket:
        unix = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        unix.connect(wharf.socket)
        return websocket.create_connection(f"ws://localhost/containers/{container['Id']}/attach/ws?{query}",
                                           socket=unix, timeout=30)

    api = client.api
    container = api.create_container("busybox", "sh -c 'head -c 6; printf done'", stdin_open=True,
                                     network_disabled=True)
    try:
        live = connect("stdin=1&stdout=1&stream=1")
        api.start(container)
        live.send_binary(b"typed ")
        received = b""
        while not received.endswith(b"done"):
            received += live.recv()
        live.close()
        assert received == b"typed done"
        assert api.wait(container, timeout=30)["StatusCode"] == 0
        replay = connect("stdout=1&logs=1")
        assert replay.recv() == b"typed done"
        replay.close()
    finally:
        api.remove_container(container, force=True)


def test_commit_right_after_start_of_a_short_container(client: docker.DockerClient) -> None:
    """The SDK commits with pause=true; a container that exits meanwhile is committed as it is."""
    api = client.api
    for attempt in range(5):
        container = api.create_container("busybox", ["touch", f"/made-{attempt}"], network_disabled=True)
        try:
            api.start(container)
            image = api.commit(container["Id"], repository="committed-race", tag=str(attempt))
            api.wait(container, timeout=30)
            api.remove_image(image["Id"], force=True)
        finally:
            api.remove_container(container, force=True)


def test_committed_image_names_its_parent(client: docker.DockerClient) -> None:
    api = client.api
    base = api.inspect_image("busybox")["Id"]
    container = api.create_container("busybox", ["touch", "/made"], network_disabled=True)
    try:
        api.start(container)
        api.wait(container, timeout=30)
        committed = api.commit(container["Id"])["Id"]
        try:
            assert api.inspect_image(committed)["Parent"] == base
            api.tag(committed, "committed-child", "v1")
            assert api.inspect_image("committed-child:v1")["Parent"] == base  # kept across the tag
            listed = [image for image in api.images(name="committed-child") if image["Id"] == committed]
            assert listed and listed[0]["ParentId"] == base
            assert api.inspect_image("busybox")["Parent"] == ""  # imported: no local parent
        finally:
            api.remove_image(committed, force=True)
    finally:
        api.remove_container(container, force=True)


def test_logs_read_right_after_start_have_a_short_containers_output(client: docker.DockerClient) -> None:
    """docker-py's own build tests read logs() straight after start(): the container's process must
    be running by the time start is acknowledged, and what it wrote then must be in the log."""
    api = client.api
    empty = 0
    for _ in range(10):
        container = api.create_container("busybox", ["echo", "hi"], network_disabled=True)
        try:
            api.start(container)
            empty += api.logs(container) != b"hi\n"
        finally:
            api.remove_container(container, force=True)
    assert empty <= 1, f"{empty} of 10 logs were still empty right after start"


def test_many_unnamed_containers_created_at_once_all_get_free_names(client: docker.DockerClient) -> None:
    """Generated names that collide (with a container, or a create in progress) are drawn again, as moby does."""
    from concurrent.futures import ThreadPoolExecutor

    api = client.api
    with ThreadPoolExecutor(max_workers=16) as pool:
        created = list(pool.map(lambda _: api.create_container("busybox", ["true"], network_disabled=True),
                                range(48)))
    try:
        names = {api.inspect_container(c)["Name"] for c in created}
        assert len(names) == len(created)
    finally:
        for container in created:
            api.remove_container(container, force=True)
