"""`--ipc/--pid/--network container:<ref>` with the real docker CLI: resolved at start as Docker does
(the other container must run then; its namespaces are taken then, so its restarts are followed),
with Docker's errors."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator

import pytest

from tests.fixtures.daemon import WharfDaemon


@pytest.fixture
def names(wharf: WharfDaemon) -> Iterator[list[str]]:
    made: list[str] = []
    yield made
    for name in reversed(made):  # joiners first
        wharf.docker("rm", "-f", name)


def _create(wharf: WharfDaemon, names: list[str], *args: str) -> str:
    name = "ns-" + secrets.token_hex(5)
    names.append(name)
    result = wharf.docker("create", "--name", name, *args, "busybox", "sleep", "300")
    assert result.returncode == 0, result.stderr
    return name


def _id(wharf: WharfDaemon, name: str) -> str:
    return wharf.docker("inspect", "-f", "{{.Id}}", name, check=True).stdout.strip()


def _namespace(wharf: WharfDaemon, name: str, kind: str) -> str:
    result = wharf.docker("exec", name, "readlink", f"/proc/self/ns/{kind}")
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_the_other_container_must_run_at_start_not_at_create(wharf: WharfDaemon, names: list[str]) -> None:
    donor = _create(wharf, names)
    donor_id = _id(wharf, donor)
    ipc_joiner = _create(wharf, names, "--ipc", f"container:{donor}")
    pid_joiner = _create(wharf, names, "--pid", f"container:{donor}")
    # Kept as the id, as Docker's inspect shows it.
    host_config = json.loads(wharf.docker("inspect", ipc_joiner, check=True).stdout)[0]["HostConfig"]
    assert host_config["IpcMode"] == f"container:{donor_id}"

    result = wharf.docker("start", ipc_joiner)
    assert result.returncode != 0
    assert f"can't join IPC of container {donor_id}: container {donor_id} is not running" in result.stderr
    result = wharf.docker("start", pid_joiner)
    assert result.returncode != 0 and f"container {donor_id} is not running" in result.stderr
    status, answer = wharf.request("POST", f"/containers/{pid_joiner}/start")
    assert status == 500, answer  # Docker's status: the spec cannot be made

    wharf.docker("start", donor, check=True)
    wharf.docker("start", ipc_joiner, pid_joiner, check=True)
    assert _namespace(wharf, ipc_joiner, "ipc") == _namespace(wharf, donor, "ipc")
    assert _namespace(wharf, pid_joiner, "pid") == _namespace(wharf, donor, "pid")
    ps = wharf.docker("exec", pid_joiner, "ps", check=True).stdout
    assert ps.count("sleep 300") == 2  # its own and the donor's


def test_a_restart_of_the_other_container_is_followed(wharf: WharfDaemon, names: list[str]) -> None:
    donor = _create(wharf, names)
    wharf.docker("start", donor, check=True)
    joiner = _create(wharf, names, "--pid", f"container:{donor}", "--ipc", f"container:{donor}")
    wharf.docker("start", joiner, check=True)
    before = _namespace(wharf, donor, "pid")
    assert _namespace(wharf, joiner, "pid") == before

    wharf.docker("restart", "-t", "0", donor, check=True)
    after = _namespace(wharf, donor, "pid")
    assert after != before
    # The joiner was in the old namespace (killed with its init); started again, it joins the new one.
    wharf.docker("restart", "-t", "0", joiner, check=True)
    assert _namespace(wharf, joiner, "pid") == after
    assert _namespace(wharf, joiner, "ipc") == _namespace(wharf, donor, "ipc")


def test_network_of_another_container_is_joined_at_start(wharf: WharfDaemon, names: list[str]) -> None:
    donor = _create(wharf, names)
    donor_id = _id(wharf, donor)
    joiner = _create(wharf, names, "--network", f"container:{donor}")
    result = wharf.docker("start", joiner)
    assert result.returncode != 0 and "of a non running container" in result.stderr and donor_id in result.stderr

    wharf.docker("start", donor, check=True)
    wharf.docker("start", joiner, check=True)
    assert _namespace(wharf, joiner, "net") == _namespace(wharf, donor, "net")
    wharf.docker("restart", "-t", "0", donor, check=True)
    wharf.docker("restart", "-t", "0", joiner, check=True)
    assert _namespace(wharf, joiner, "net") == _namespace(wharf, donor, "net")


def test_a_network_peer_may_not_exist_at_create(wharf: WharfDaemon, names: list[str]) -> None:
    missing = "ns-missing-" + secrets.token_hex(4)
    joiner = _create(wharf, names, "--network", f"container:{missing}")
    result = wharf.docker("start", joiner)
    assert result.returncode != 0 and f"No such container: {missing}" in result.stderr


def test_a_removed_donor_is_dockers_error_at_start(wharf: WharfDaemon, names: list[str]) -> None:
    donor = _create(wharf, names)
    donor_id = _id(wharf, donor)
    ipc_joiner = _create(wharf, names, "--ipc", f"container:{donor}")
    pid_joiner = _create(wharf, names, "--pid", f"container:{donor}")
    wharf.docker("rm", donor, check=True)
    result = wharf.docker("start", ipc_joiner)
    assert f"can't join IPC of container {donor_id}: No such container: {donor_id}" in result.stderr
    result = wharf.docker("start", pid_joiner)
    assert f"cannot join PID of a non running container: {donor_id}: No such container: {donor_id}" in result.stderr


def test_a_missing_container_is_refused_at_create(wharf: WharfDaemon) -> None:
    name = "ns-" + secrets.token_hex(5)
    result = wharf.docker("create", "--name", name, "--pid", "container:ns-nosuch-x", "busybox", "true")
    assert result.returncode != 0 and "No such container: ns-nosuch-x" in result.stderr
    assert "Unable to find image" not in result.stderr
    assert wharf.docker("inspect", name).returncode != 0
