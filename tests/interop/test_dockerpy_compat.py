"""What docker-py's own integration tests showed Wharf answering differently from the Docker
engine, checked with the unmodified SDK against wharfd and, where cheap, the real engine."""

import io
from collections.abc import Iterator

import docker
import pytest

from tests.fixtures.daemon import WharfDaemon


@pytest.fixture(params=["wharf", "docker"])
def api(request: pytest.FixtureRequest) -> Iterator[docker.APIClient]:
    host = request.getfixturevalue("wharf").host if request.param == "wharf" else request.getfixturevalue("dockerd").host
    client = docker.APIClient(base_url=host, version="auto", timeout=60)
    yield client
    client.close()


def build_lines(api: docker.APIClient, dockerfile: bytes) -> list[dict]:
    return list(api.build(fileobj=io.BytesIO(dockerfile), decode=True, rm=True))


@pytest.mark.parametrize(
    ("dockerfile", "message"),
    [
        (b"", "the Dockerfile (Dockerfile) cannot be empty"),
        (b"# nothing but a comment\n", "file with no instructions"),
        (b"RUN true\n", "no build stage in current context"),
        (b"FROM busybox\nFROBNICATE x\n", "unknown instruction: FROBNICATE"),
    ],
)
def test_a_refused_dockerfile_is_an_http_error_not_a_stream(
    api: docker.APIClient, dockerfile: bytes, message: str
) -> None:
    # docker-py's regression test 443 expects APIError here: Docker refuses the Dockerfile before
    # writing any output, so the refusal is the HTTP status itself.
    with pytest.raises(docker.errors.APIError) as refused:
        build_lines(api, dockerfile)
    assert refused.value.status_code == 400
    assert message in refused.value.explanation


def test_a_failing_step_still_travels_inside_the_stream(api: docker.APIClient) -> None:
    lines = build_lines(api, b"FROM busybox\nRUN exit 3\n")
    assert lines[-1]["errorDetail"] == {"code": 3, "message": "The command '/bin/sh -c exit 3' returned a non-zero code: 3"}


def test_build_with_the_sdk_model_reports_the_refusal(wharf: WharfDaemon) -> None:
    client = docker.DockerClient(base_url=wharf.host, version="auto", timeout=60)
    try:
        with pytest.raises(docker.errors.APIError, match="cannot be empty"):
            client.images.build(fileobj=io.BytesIO(b""))
    finally:
        client.close()
