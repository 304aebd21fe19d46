"""`docker top` and `docker stats` (the real CLI and the docker SDK) against wharfd."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator

import docker
import pytest

from tests.fixtures.daemon import WharfDaemon


@pytest.fixture
def running(wharf: WharfDaemon) -> Iterator[str]:
    name = "s" + secrets.token_hex(5)
    wharf.docker("run", "-d", "--network", "none", "--name", name, "--memory", "64m", "busybox",
                 "sh", "-c", "sleep 301 & sleep 302 & wait", check=True)  # fmt: skip
    try:
        yield name
    finally:
        wharf.docker("rm", "-f", name)


def test_top_lists_the_containers_processes_only(wharf: WharfDaemon, running: str) -> None:
    out = wharf.docker("top", running, check=True).stdout
    lines = out.splitlines()
    assert lines[0].split()[:2] == ["UID", "PID"]
    commands = "\n".join(lines[1:])
    assert "sleep 301" in commands and "sleep 302" in commands
    assert len(lines) == 4, out  # sh and its two sleeps, nothing of the host
    custom = wharf.docker("top", running, "-o", "pid,comm", check=True).stdout.splitlines()
    assert custom[0].split() == ["PID", "COMMAND"]
    assert sorted(line.split()[1] for line in custom[1:]) == ["sh", "sleep", "sleep"]


def test_top_of_a_stopped_container_is_a_conflict(wharf: WharfDaemon) -> None:
    name = "s" + secrets.token_hex(5)
    wharf.docker("create", "--network", "none", "--name", name, "busybox", "true", check=True)
    try:
        result = wharf.docker("top", name)
        assert result.returncode != 0
        assert "is not running" in result.stderr
    finally:
        wharf.docker("rm", "-f", name)


def test_stats_no_stream_shows_a_row(wharf: WharfDaemon, running: str) -> None:
    result = wharf.docker("stats", "--no-stream", "--format", "{{json .}}", running, check=True)
    row = json.loads(result.stdout.splitlines()[0])
    assert row["Name"] == running
    assert row["PIDs"] == "3"
    assert "64MiB" in row["MemUsage"], row
    assert row["CPUPerc"].endswith("%")


def test_stats_api_shape(wharf: WharfDaemon, running: str) -> None:
    client = docker.DockerClient(base_url=wharf.host, version="auto", timeout=60)
    try:
        stats = client.containers.get(running).stats(stream=False)
    finally:
        client.close()
    assert stats["name"] == "/" + running
    assert stats["pids_stats"]["current"] == 3
    assert stats["memory_stats"]["limit"] == 64 * 1024 * 1024
    assert stats["memory_stats"]["usage"] > 0
    assert stats["cpu_stats"]["cpu_usage"]["total_usage"] > 0
    assert stats["cpu_stats"]["system_cpu_usage"] > stats["precpu_stats"]["system_cpu_usage"] > 0
    assert stats["cpu_stats"]["online_cpus"] >= 1
    status, body = wharf.request("GET", f"/containers/{running}/stats?stream=false&one-shot=true")
    assert status == 200
    one = json.loads(body)
    assert one["precpu_stats"]["cpu_usage"]["total_usage"] == 0
    assert one["memory_stats"]["usage"] > 0


def test_stats_stream_sends_a_reading_per_interval(wharf: WharfDaemon, running: str) -> None:
    client = docker.DockerClient(base_url=wharf.host, version="auto", timeout=60)
    try:
        readings = client.containers.get(running).stats(stream=True, decode=True)
        first, second = next(readings), next(readings)
        readings.close()
    finally:
        client.close()
    assert second["precpu_stats"]["system_cpu_usage"] == first["cpu_stats"]["system_cpu_usage"]
    assert second["read"] > first["read"]
