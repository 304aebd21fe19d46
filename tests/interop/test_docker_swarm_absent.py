"""Wharf runs no swarm: the docker CLI and the docker SDK get the answers of an engine outside any swarm."""

from __future__ import annotations

import docker
import pytest

from tests.fixtures.daemon import WharfDaemon


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["node", "ls"], "This node is not a swarm manager."),
        (["service", "ls"], "This node is not a swarm manager."),
        (["secret", "ls"], "This node is not a swarm manager."),
        (["config", "ls"], "This node is not a swarm manager."),
        (["swarm", "leave", "--force"], "This node is not part of a swarm"),
        (["swarm", "init"], "Wharf does not implement swarm mode"),
    ],
)
def test_swarm_commands_say_there_is_no_swarm(wharf: WharfDaemon, args: list[str], message: str) -> None:
    result = wharf.docker(*args)
    assert result.returncode != 0
    assert message in result.stderr


def test_sdk_clean_ups_that_leave_the_swarm_succeed(wharf: WharfDaemon) -> None:
    client = docker.DockerClient(base_url=wharf.host, version="auto", timeout=30)
    try:
        assert client.api.leave_swarm(force=True) is True  # the SDK takes moby's 503 as "not in a swarm"
        assert client.info()["Swarm"]["LocalNodeState"] == "inactive"
        assert client.plugins.list() == []
        with pytest.raises(docker.errors.APIError) as refused:
            client.services.list()
        assert refused.value.status_code == 503
    finally:
        client.close()
