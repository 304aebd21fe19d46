"""wharfd's raw Engine API answers compared with the real Docker engine's (Debian's docker.io, API
1.41), asked the same request at that engine's version: for each case both answers must agree in
shape (keys, null vs [] vs {}), status and message."""

from __future__ import annotations

import json
import re
import secrets
import time
import urllib.parse
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import require_binary
from tests.fixtures.daemon import UnixHTTPConnection, WharfDaemon, started_with_busybox
from tests.fixtures.dockerd import DockerDaemon

DOCKER_API = "/v1.41"


@pytest.fixture(scope="module")
def wharf() -> Iterator[WharfDaemon]:
    require_binary("docker")
    with started_with_busybox(WharfDaemon()) as daemon:
        yield daemon


def _ask(daemon: WharfDaemon | DockerDaemon, method: str, path: str) -> tuple[int, Any]:
    conn = UnixHTTPConnection(daemon.socket)
    try:
        conn.request(method, DOCKER_API + path)
        response = conn.getresponse()
        body = response.read()
    finally:
        conn.close()
    if response.getheader("Content-Type", "").startswith("application/json") and body.strip():
        lines = body.splitlines()
        return response.status, json.loads(body) if len(lines) == 1 else [json.loads(line) for line in lines]
    return response.status, body


def _both(wharf: WharfDaemon, dockerd: DockerDaemon, method: str, path: str) -> tuple[Any, Any]:
    wharf_status, wharf_body = _ask(wharf, method, path)
    docker_status, docker_body = _ask(dockerd, method, path)
    assert wharf_status == docker_status, (wharf_body, docker_body)
    return wharf_body, docker_body


def test_unset_config_and_limits_are_null_as_in_docker(wharf: WharfDaemon, dockerd: DockerDaemon) -> None:
    name = f"diff-created-{secrets.token_hex(3)}"
    for daemon in (wharf, dockerd):
        daemon.docker("create", "--name", name, "--network", "none", "busybox", "true", check=True)
    try:
        wharf_inspect, docker_inspect = _both(wharf, dockerd, "GET", f"/containers/{name}/json")
        for section, key in (("Config", "Env"), ("Config", "Volumes"),
                             ("HostConfig", "PidsLimit"), ("HostConfig", "MemorySwappiness")):
            assert wharf_inspect[section][key] == docker_inspect[section][key], (section, key)
    finally:
        for daemon in (wharf, dockerd):
            daemon.docker("rm", "-f", name)


def test_volume_list_warnings_are_null_as_in_docker(wharf: WharfDaemon, dockerd: DockerDaemon) -> None:
    wharf_list, docker_list = _both(wharf, dockerd, "GET", "/volumes")
    assert set(wharf_list) == set(docker_list)
    assert wharf_list["Warnings"] == docker_list["Warnings"]


def test_removing_an_unknown_volume_says_what_docker_says(wharf: WharfDaemon, dockerd: DockerDaemon) -> None:
    wharf_error, docker_error = _both(wharf, dockerd, "DELETE", "/volumes/no-such-volume")
    assert wharf_error == docker_error


def test_image_events_carry_the_legacy_fields(wharf: WharfDaemon, dockerd: DockerDaemon) -> None:
    tag = f"diff-events:{secrets.token_hex(3)}"
    since = int(time.time()) - 1
    for daemon in (wharf, dockerd):
        daemon.docker("tag", "busybox", tag, check=True)
    until = int(time.time()) + 1
    filters = urllib.parse.quote(json.dumps({"type": ["image"], "event": ["tag"]}))
    try:
        wharf_events, docker_events = _both(wharf, dockerd, "GET",
                                            f"/events?since={since}&until={until}&filters={filters}")
        wharf_events = wharf_events if isinstance(wharf_events, list) else [wharf_events]
        docker_events = docker_events if isinstance(docker_events, list) else [docker_events]
        assert wharf_events and docker_events
        assert set(wharf_events[0]) == set(docker_events[0])
        assert wharf_events[0]["status"] == docker_events[0]["status"] == "tag"
    finally:
        for daemon in (wharf, dockerd):
            daemon.docker("rmi", tag)


@pytest.fixture(scope="module")
def on_user_network(wharf: WharfDaemon, dockerd: DockerDaemon) -> Iterator[str]:
    """A running container named the same on both engines, on a user network with an alias."""
    suffix = secrets.token_hex(3)
    network, name = f"diff-net-{suffix}", f"diff-netted-{suffix}"
    try:
        for daemon in (wharf, dockerd):
            daemon.docker("network", "create", network, check=True)
            daemon.docker("run", "-d", "--name", name, "--network", network, "--network-alias", "myalias",
                          "busybox", "sleep", "300", check=True)
        yield name
    finally:
        for daemon in (wharf, dockerd):  # dockerd leaves a user network's bridge device behind when it stops
            daemon.docker("rm", "-f", name)
            daemon.docker("network", "rm", network)


def test_inspect_with_size_has_both_sizes(wharf: WharfDaemon, dockerd: DockerDaemon, on_user_network: str) -> None:
    wharf_inspect, docker_inspect = _both(wharf, dockerd, "GET", f"/containers/{on_user_network}/json?size=1")
    for key in ("SizeRw", "SizeRootFs"):
        assert isinstance(docker_inspect[key], int)
        assert isinstance(wharf_inspect.get(key), int), key


def test_inspect_aliases_hold_the_short_id_before_1_45(wharf: WharfDaemon, dockerd: DockerDaemon,
                                                       on_user_network: str) -> None:
    wharf_inspect, docker_inspect = _both(wharf, dockerd, "GET", f"/containers/{on_user_network}/json")

    def aliases(inspect: dict[str, Any]) -> list[str]:
        (endpoint,) = inspect["NetworkSettings"]["Networks"].values()
        own = {inspect["Id"][:12], inspect["Config"]["Hostname"]}
        return ["<short id>" if alias in own else alias for alias in endpoint["Aliases"]]

    assert aliases(wharf_inspect) == aliases(docker_inspect)
    status, newer = wharf.request("GET", f"/v1.50/containers/{on_user_network}/json")
    assert status == 200
    (endpoint,) = json.loads(newer)["NetworkSettings"]["Networks"].values()
    assert endpoint["Aliases"] == ["myalias"]  # exactly what create was given, from API 1.45 on


def test_listed_endpoints_carry_no_aliases(wharf: WharfDaemon, dockerd: DockerDaemon, on_user_network: str) -> None:
    filters = urllib.parse.quote(json.dumps({"name": [on_user_network]}))
    wharf_list, docker_list = _both(wharf, dockerd, "GET", f"/containers/json?filters={filters}")
    (wharf_endpoint,) = wharf_list[0]["NetworkSettings"]["Networks"].values()
    (docker_endpoint,) = docker_list[0]["NetworkSettings"]["Networks"].values()
    for key in ("Aliases", "Links", "DriverOpts"):
        assert wharf_endpoint[key] == docker_endpoint[key], key
    assert wharf_endpoint.get("DNSNames") is None  # API 1.44's field; moby's list never fills it


def test_stats_blkio_has_dockers_keys(wharf: WharfDaemon, dockerd: DockerDaemon, on_user_network: str) -> None:
    name = f"diff-stopped-{secrets.token_hex(3)}"
    for daemon in (wharf, dockerd):
        daemon.docker("create", "--name", name, "--network", "none", "busybox", "true", check=True)
    try:
        wharf_stats, docker_stats = _both(wharf, dockerd, "GET", f"/containers/{on_user_network}/stats?stream=0")
        assert set(wharf_stats["blkio_stats"]) == set(docker_stats["blkio_stats"])
        wharf_stopped, docker_stopped = _both(wharf, dockerd, "GET", f"/containers/{name}/stats?stream=0")
        assert wharf_stopped["blkio_stats"] == docker_stopped["blkio_stats"]  # every list null
    finally:
        for daemon in (wharf, dockerd):
            daemon.docker("rm", "-f", name)


@pytest.mark.parametrize("spec", ["diffvol:/data", "diffvol:/data:ro", "diffvol:/data:rw,z"])
def test_named_volume_mode_is_what_was_given(wharf: WharfDaemon, dockerd: DockerDaemon, spec: str) -> None:
    name = f"diff-volume-{secrets.token_hex(3)}"
    for daemon in (wharf, dockerd):
        daemon.docker("create", "--name", name, "--network", "none", "-v", spec, "busybox", "true", check=True)
    try:
        wharf_inspect, docker_inspect = _both(wharf, dockerd, "GET", f"/containers/{name}/json")
        (wharf_mount,), (docker_mount,) = wharf_inspect["Mounts"], docker_inspect["Mounts"]
        assert (wharf_mount["Mode"], wharf_mount["RW"]) == (docker_mount["Mode"], docker_mount["RW"])
    finally:
        for daemon in (wharf, dockerd):
            daemon.docker("rm", "-f", name)
            daemon.docker("volume", "rm", "diffvol")


@pytest.mark.parametrize("options", [(), ("--privileged",), ("--security-opt", "systempaths=unconfined")],
                         ids=["default", "privileged", "systempaths-unconfined"])
def test_masked_and_readonly_paths_are_stored_as_docker_stores_them(
        wharf: WharfDaemon, dockerd: DockerDaemon, options: tuple[str, ...]) -> None:
    name = f"diff-paths-{secrets.token_hex(3)}"
    for daemon in (wharf, dockerd):
        daemon.docker("create", "--name", name, "--network", "none", *options, "busybox", "true", check=True)
    try:
        wharf_inspect, docker_inspect = _both(wharf, dockerd, "GET", f"/containers/{name}/json")
        for key in ("MaskedPaths", "ReadonlyPaths"):
            ours, theirs = wharf_inspect["HostConfig"][key], docker_inspect["HostConfig"][key]
            assert type(ours) is type(theirs), (key, ours, theirs)
            if theirs:  # the defaults: Docker 20.10's lists are older, ours follow Docker 28's
                assert set(theirs) <= set(ours), (key, ours, theirs)
            else:
                assert ours == theirs, key
    finally:
        for daemon in (wharf, dockerd):
            daemon.docker("rm", "-f", name)


@pytest.mark.parametrize("options, masked", [((), True), (("--security-opt", "systempaths=unconfined"), False)])
def test_systempaths_unconfined_leaves_proc_unmasked(
        wharf: WharfDaemon, dockerd: DockerDaemon, options: tuple[str, ...], masked: bool) -> None:
    for daemon in (wharf, dockerd):
        mounts = daemon.docker("run", "--rm", "--network", "none", *options, "busybox",
                               "cat", "/proc/self/mountinfo", check=True).stdout
        targets = {line.split()[4] for line in mounts.splitlines()}
        assert ("/proc/keys" in targets) is masked, (type(daemon).__name__, sorted(targets))
        assert ("/proc/sys" in targets) is masked, (type(daemon).__name__, sorted(targets))


@pytest.mark.parametrize("method, action", [("POST", "kill"), ("POST", "pause"), ("POST", "unpause"), ("GET", "top")])
def test_acting_on_a_stopped_container_says_what_docker_says(
        wharf: WharfDaemon, dockerd: DockerDaemon, method: str, action: str) -> None:
    name = f"diff-stopped-{secrets.token_hex(3)}"
    ids = {}
    for daemon in (wharf, dockerd):
        ids[type(daemon)] = daemon.docker("create", "--name", name, "--network", "none", "busybox", "true",
                                          check=True).stdout.strip()
    try:
        wharf_error, docker_error = _both(wharf, dockerd, method, f"/containers/{name}/{action}")
        assert wharf_error["message"].replace(ids[WharfDaemon], "ID") == \
            docker_error["message"].replace(ids[DockerDaemon], "ID")
    finally:
        for daemon in (wharf, dockerd):
            daemon.docker("rm", "-f", name)


def test_info_at_api_141_has_the_fields_docker_has(wharf: WharfDaemon, dockerd: DockerDaemon) -> None:
    wharf_info, docker_info = _both(wharf, dockerd, "GET", "/info")
    for key in ("BridgeNfIptables", "BridgeNfIp6tables"):
        assert isinstance(wharf_info[key], bool) and isinstance(docker_info[key], bool), key
    assert set(wharf_info["RegistryConfig"]) == set(docker_info["RegistryConfig"])
    for key in ("ContainerdCommit", "RuncCommit", "InitCommit"):
        assert set(wharf_info[key]) == set(docker_info[key]), key


def _create(daemon: WharfDaemon | DockerDaemon, name: str, body: dict[str, Any]) -> tuple[int, Any]:
    conn = UnixHTTPConnection(daemon.socket)
    try:
        conn.request("POST", f"{DOCKER_API}/containers/create?name={name}", json.dumps(body).encode(),
                     {"Content-Type": "application/json"})
        response = conn.getresponse()
        return response.status, json.loads(response.read() or b"null")
    finally:
        conn.close()


@pytest.mark.parametrize("host_config", [None, {"NetworkMode": "none"}], ids=["no-HostConfig", "with-HostConfig"])
def test_host_config_fields_at_the_top_level_are_read_as_docker_reads_them(
        wharf: WharfDaemon, dockerd: DockerDaemon, host_config: dict[str, Any] | None) -> None:
    """Older clients (and the docker SDK's `runtime=`) put HostConfig fields beside the Config's."""
    name = f"diff-toplevel-{secrets.token_hex(3)}"
    body = {"Image": "busybox", "Cmd": ["true"], "Runtime": "runc", "Memory": 64 << 20,
            "NetworkMode": "none", "HostConfig": host_config}
    try:
        for daemon in (wharf, dockerd):
            status, answer = _create(daemon, name, body)
            assert status == 201, (type(daemon).__name__, answer)
        wharf_inspect, docker_inspect = _both(wharf, dockerd, "GET", f"/containers/{name}/json")
        for key in ("Memory", "NetworkMode"):
            assert wharf_inspect["HostConfig"][key] == docker_inspect["HostConfig"][key], key
        # With a HostConfig, a top-level Runtime is ignored: each engine's default (runc is Docker's).
        assert wharf_inspect["HostConfig"]["Runtime"] == ("runc" if host_config is None else "wharf-runc")
        assert "Runtime" not in wharf_inspect["Config"] and "Memory" not in wharf_inspect["Config"]
    finally:
        for daemon in (wharf, dockerd):
            daemon.docker("rm", "-f", name)


def test_an_unknown_top_level_runtime_is_refused_as_in_docker(wharf: WharfDaemon, dockerd: DockerDaemon) -> None:
    name = f"diff-runtime-{secrets.token_hex(3)}"
    body = {"Image": "busybox", "Cmd": ["true"], "Runtime": "bogus"}
    (wharf_status, wharf_answer), (docker_status, _) = [_create(daemon, name, body) for daemon in (wharf, dockerd)]
    for daemon in (wharf, dockerd):
        daemon.docker("rm", "-f", name)
    assert wharf_status == docker_status == 400
    # moby 28's words; 20.10 said "Unknown runtime specified bogus".
    assert wharf_answer["message"] == "unknown or invalid runtime name: bogus"


@pytest.mark.parametrize("force", ["0", "1"])
def test_an_image_a_running_container_uses_cannot_be_deleted_even_forced(
        wharf: WharfDaemon, dockerd: DockerDaemon, force: str) -> None:
    name = f"diff-user-{secrets.token_hex(3)}"
    image_ids = {}
    for daemon in (wharf, dockerd):
        image_ids[type(daemon)] = daemon.docker("inspect", "-f", "{{.Id}}", "busybox", check=True).stdout.strip()
        daemon.docker("run", "-d", "--name", name, "--network", "none", "busybox", "sleep", "60", check=True)
    try:
        answers = {}
        for daemon in (wharf, dockerd):
            image_id = image_ids[type(daemon)]
            status, body = _ask(daemon, "DELETE", f"/images/{image_id}?force={force}")
            # Which running user the message names is the engine's pick (a module fixture runs one too).
            message = body["message"].replace(image_id.removeprefix("sha256:")[:12], "IMAGE")
            answers[type(daemon)] = (status, re.sub(r"container [0-9a-f]{12}$", "container CONTAINER", message))
            assert daemon.docker("image", "inspect", "busybox").returncode == 0, type(daemon).__name__
        assert answers[WharfDaemon] == answers[DockerDaemon]
        assert answers[WharfDaemon][0] == 409
    finally:
        for daemon in (wharf, dockerd):
            daemon.docker("rm", "-f", name)


def test_events_since_after_until_is_refused_as_in_docker(wharf: WharfDaemon, dockerd: DockerDaemon) -> None:
    wharf_error, docker_error = _both(wharf, dockerd, "GET", "/events?since=100&until=50")
    assert wharf_error == docker_error


def _post(daemon: WharfDaemon | DockerDaemon, path: str, body: dict[str, Any]) -> tuple[int, Any]:
    conn = UnixHTTPConnection(daemon.socket)
    try:
        conn.request("POST", DOCKER_API + path, json.dumps(body).encode(), {"Content-Type": "application/json"})
        response = conn.getresponse()
        text = response.read()
        return response.status, json.loads(text) if text.strip() else None
    finally:
        conn.close()


@pytest.mark.parametrize("own_network, target", [("none", "bridge-of-test"), ("bridge-of-test", "host"),
                                                 ("bridge-of-test", "none")])
def test_refused_network_connects_answer_as_docker(
        wharf: WharfDaemon, dockerd: DockerDaemon, own_network: str, target: str) -> None:
    name, network = f"diff-conn-{secrets.token_hex(3)}", f"diff-net-{secrets.token_hex(3)}"
    answers = []
    try:
        for daemon in (wharf, dockerd):
            daemon.docker("network", "create", network, check=True)
            daemon.docker("create", "--name", name, "--network", network if own_network == "bridge-of-test"
                          else own_network, "busybox", "true", check=True)
            answers.append(_post(daemon, f"/networks/{network if target == 'bridge-of-test' else target}/connect",
                                 {"Container": name}))
        assert answers[0] == answers[1], answers
    finally:
        for daemon in (wharf, dockerd):
            daemon.docker("rm", "-f", name)
            daemon.docker("network", "rm", network)


def test_lenient_query_values_are_read_as_docker_reads_them(wharf: WharfDaemon, dockerd: DockerDaemon) -> None:
    """moby reads a tail that is not a number as "all" and an unknown wait condition as
    "not-running"; an update without warnings answers null ones."""
    name = f"diff-lenient-{secrets.token_hex(3)}"
    for daemon in (wharf, dockerd):
        daemon.docker("run", "--name", name, "--network", "none", "busybox", "sh", "-c", "echo a; echo b",
                      check=True)
    try:
        wharf_logs, docker_logs = _both(wharf, dockerd, "GET", f"/containers/{name}/logs?stdout=1&tail=abc")
        assert wharf_logs == docker_logs
        wharf_wait, docker_wait = _both(wharf, dockerd, "POST", f"/containers/{name}/wait?condition=bogus")
        assert wharf_wait == docker_wait
        answers = [_post(daemon, f"/containers/{name}/update", {"CpuShares": 512}) for daemon in (wharf, dockerd)]
        assert answers[0] == answers[1]
    finally:
        for daemon in (wharf, dockerd):
            daemon.docker("rm", "-f", name)


def test_volume_answers_are_shaped_as_docker_shapes_them(wharf: WharfDaemon, dockerd: DockerDaemon) -> None:
    name = f"diff-vol-{secrets.token_hex(3)}"
    answers = [_post(daemon, "/volumes/create", {"Name": name, "DriverOpts": {"type": "tmpfs"}})
               for daemon in (wharf, dockerd)]
    assert answers[0][0] == answers[1][0] == 400
    assert answers[0][1]["message"] == answers[1][1]["message"]
    wharf_pruned, docker_pruned = (_post(daemon, "/volumes/prune", {})[1] for daemon in (wharf, dockerd))
    assert wharf_pruned == docker_pruned == {"VolumesDeleted": [], "SpaceReclaimed": 0}


@pytest.mark.parametrize("body", [
    {"HostConfig": {"PortBindings": {"80/tcp": [{"HostPort": "abc"}]}}},
    {"HostConfig": {"PortBindings": {"80/tcp": [{"HostPort": "99999"}]}}},
    {"Healthcheck": {"Test": ["CMD", "true"], "Interval": 5}},
    {"Healthcheck": {"Test": ["CMD", "true"], "Retries": -1}},
], ids=["port-abc", "port-99999", "health-interval", "health-retries"])
def test_create_refusals_match_docker(wharf: WharfDaemon, dockerd: DockerDaemon, body: dict[str, Any]) -> None:
    name = f"diff-refused-{secrets.token_hex(3)}"
    answers = [_create(daemon, name, {"Image": "busybox", "Cmd": ["true"], **body}) for daemon in (wharf, dockerd)]
    for daemon in (wharf, dockerd):
        daemon.docker("rm", "-f", name)
    assert answers[0] == answers[1]
    assert answers[0][0] == 400


@pytest.mark.parametrize("new_name", ["taken", "bad/name"])
def test_rename_refusals_match_docker(wharf: WharfDaemon, dockerd: DockerDaemon, new_name: str) -> None:
    suffix = secrets.token_hex(3)
    name, taken = f"diff-rename-{suffix}", f"diff-taken-{suffix}"
    target = taken if new_name == "taken" else new_name
    try:
        answers = []
        for daemon in (wharf, dockerd):
            ids = {n: daemon.docker("create", "--name", n, "--network", "none", "busybox", "true",
                                    check=True).stdout.strip() for n in (name, taken)}
            status, body = _post(daemon, f"/containers/{name}/rename?name={target}", {})
            answers.append((status, body["message"].replace(ids[taken], "ID")))
        assert answers[0] == answers[1]
    finally:
        for daemon in (wharf, dockerd):
            daemon.docker("rm", "-f", name, taken)


@pytest.mark.parametrize("value", ["maybe", "1"])
def test_image_list_dangling_filter_values_are_refused_as_in_docker(
        wharf: WharfDaemon, dockerd: DockerDaemon, value: str) -> None:
    query = urllib.parse.quote(json.dumps({"dangling": [value]}))
    wharf_error, docker_error = _both(wharf, dockerd, "GET", f"/images/json?filters={query}")
    # moby 28's lowercase words; 20.10 wrote "Invalid filter".
    assert wharf_error["message"] == docker_error["message"].replace("Invalid filter", "invalid filter")
