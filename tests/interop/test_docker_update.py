"""`docker update` of a running container goes wharfd → wharf-containerd (tasks.Update) → wharf-shim →
`<runtime> update --resources FILE ID`: the new limits reach the container's cgroups with wharf-runc,
runc and crun alike, the bundle's config.json keeps them, and Docker's errors come back when the
kernel or the rules refuse them. Real docker CLI and docker SDK against a private wharfd."""

from __future__ import annotations

import json
import os
import secrets
import time
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from tests.conftest import require_binary
from tests.fixtures.daemon import started_with_busybox
from tests.interop.test_runtimes_under_wharfd import DaemonWithCrunWrapper

MB = 1024 * 1024
RUNTIMES = ["wharf-runc", "runc", "crun"]
HAS_SWAP_LIMIT = os.path.exists("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes")


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DaemonWithCrunWrapper]:
    """A wharfd (default runtime wharf-runc) where `--runtime runc` and `--runtime crun` work too."""
    require_binary("docker")
    daemon = DaemonWithCrunWrapper(runtime="wharf-runc")
    daemon.offer_crun(tmp_path_factory.mktemp("crun-probe"))
    with started_with_busybox(daemon):
        yield daemon


@pytest.fixture
def names(daemon: DaemonWithCrunWrapper) -> Iterator[list[str]]:
    made: list[str] = []
    yield made
    for name in made:
        daemon.docker("rm", "-f", name)


def _runtime_args(daemon: DaemonWithCrunWrapper, runtime: str) -> list[str]:
    if runtime == "runc":
        require_binary("runc")
    if runtime == "crun" and daemon.crun_problem:
        pytest.skip(f"crun cannot run containers on this host: {daemon.crun_problem}")
    return ["--runtime", runtime]


def _run_detached(daemon: DaemonWithCrunWrapper, names: list[str], *args: str,
                  command: tuple[str, ...] = ("sleep", "300")) -> str:
    name = "upd-" + secrets.token_hex(5)
    names.append(name)
    result = daemon.docker("run", "-d", "--name", name, *args, "busybox", *command)
    assert result.returncode == 0, result.stderr + daemon.log()[-3000:]
    return result.stdout.strip()


def _cgroup(daemon: DaemonWithCrunWrapper, controller: str, container_id: str, name: str) -> str:
    return Path(f"/sys/fs/cgroup/{controller}{daemon.cgroup_parent}/{container_id}/{name}").read_text().strip()


def _bundle_resources(daemon: DaemonWithCrunWrapper, container_id: str) -> dict:
    config = Path(daemon.exec_root, "containerd", "bundles", container_id, "config.json")
    return json.loads(config.read_text())["linux"]["resources"]


def _host_config(daemon: DaemonWithCrunWrapper, ref: str) -> dict:
    return json.loads(daemon.docker("inspect", ref, check=True).stdout)[0]["HostConfig"]


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_update_reaches_the_cgroups_of_a_running_container(
    daemon: DaemonWithCrunWrapper, names: list[str], runtime: str
) -> None:
    cid = _run_detached(daemon, names, *_runtime_args(daemon, runtime), "--memory", "64m", "--pids-limit", "20")
    result = daemon.docker("update", "--memory", "96m", "--memory-swap", "120m", "--cpus", "0.5",
                           "--pids-limit", "40", "--cpu-shares", "300", cid)
    assert result.returncode == 0, result.stderr + daemon.log()[-3000:]
    assert _cgroup(daemon, "memory", cid, "memory.limit_in_bytes") == str(96 * MB)
    if HAS_SWAP_LIMIT:
        assert _cgroup(daemon, "memory", cid, "memory.memsw.limit_in_bytes") == str(120 * MB)
    assert _cgroup(daemon, "cpu", cid, "cpu.cfs_quota_us") == "50000"
    assert _cgroup(daemon, "cpu", cid, "cpu.shares") == "300"
    assert _cgroup(daemon, "pids", cid, "pids.max") == "40"
    # The container sees its own new limit too (its pids cgroup, read from inside).
    inside = daemon.docker("exec", cid, "cat", "/proc/self/cgroup").stdout
    assert "pids:" in inside
    # The bundle's config.json says what the cgroups hold (as containerd keeps it).
    resources = _bundle_resources(daemon, cid)
    assert resources["memory"]["limit"] == 96 * MB and resources["pids"]["limit"] == 40
    assert resources.get("devices"), "the device rules made at create stay"
    host_config = _host_config(daemon, cid)
    assert host_config["Memory"] == 96 * MB and host_config["PidsLimit"] == 40
    assert host_config["NanoCpus"] == 500_000_000 and host_config["CpuShares"] == 300


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_raising_memory_above_the_old_swap_limit(daemon: DaemonWithCrunWrapper, names: list[str], runtime: str) -> None:
    """64m (with 128m memory+swap) → 200m/400m: the swap limit has to be raised first."""
    cid = _run_detached(daemon, names, *_runtime_args(daemon, runtime), "--memory", "64m")
    result = daemon.docker("update", "--memory", "200m", "--memory-swap", "400m", cid)
    assert result.returncode == 0, result.stderr
    assert _cgroup(daemon, "memory", cid, "memory.limit_in_bytes") == str(200 * MB)
    if HAS_SWAP_LIMIT:
        assert _cgroup(daemon, "memory", cid, "memory.memsw.limit_in_bytes") == str(400 * MB)


def test_a_restart_keeps_the_updated_limits(daemon: DaemonWithCrunWrapper, names: list[str]) -> None:
    cid = _run_detached(daemon, names, "--memory", "64m")
    assert daemon.docker("update", "--memory", "80m", "--memory-swap", "160m", "--pids-limit", "30", cid).returncode == 0
    assert daemon.docker("restart", "-t", "0", cid).returncode == 0
    assert _cgroup(daemon, "memory", cid, "memory.limit_in_bytes") == str(80 * MB)
    assert _cgroup(daemon, "pids", cid, "pids.max") == "30"
    assert _bundle_resources(daemon, cid)["pids"]["limit"] == 30


def test_update_of_a_paused_container(daemon: DaemonWithCrunWrapper, names: list[str]) -> None:
    cid = _run_detached(daemon, names, "--pids-limit", "20")
    assert daemon.docker("pause", cid).returncode == 0
    try:
        result = daemon.docker("update", "--pids-limit", "25", cid)
        assert result.returncode == 0, result.stderr
        assert _cgroup(daemon, "pids", cid, "pids.max") == "25"
    finally:
        daemon.docker("unpause", cid)


def test_a_kernel_refusal_is_dockers_500_and_changes_nothing(daemon: DaemonWithCrunWrapper, names: list[str]) -> None:
    # 40 MB in /dev/shm are charged to the container's memory cgroup: a 10 MB limit cannot hold.
    cid = _run_detached(daemon, names, "--memory", "64m", "--shm-size", "100m",
                        command=("sh", "-c", "dd if=/dev/zero of=/dev/shm/fill bs=1M count=40 && sleep 300"))
    for _ in range(100):
        if int(_cgroup(daemon, "memory", cid, "memory.usage_in_bytes")) > 30 * MB:
            break
        time.sleep(0.05)
    body = json.dumps({"Memory": 10 * MB, "MemorySwap": 20 * MB}).encode()
    status, answer = daemon.request("POST", f"/containers/{cid}/update", body, {"Content-Type": "application/json"})
    assert status == 500, answer
    assert json.loads(answer)["message"].startswith(f"Cannot update container {cid}: "), answer
    assert _cgroup(daemon, "memory", cid, "memory.limit_in_bytes") == str(64 * MB)
    assert _host_config(daemon, cid)["Memory"] == 64 * MB
    result = daemon.docker("update", "--memory", "10m", "--memory-swap", "20m", cid)
    assert result.returncode != 0 and f"Cannot update container {cid}: " in result.stderr


def test_memory_above_the_set_swap_limit_is_dockers_conflict(daemon: DaemonWithCrunWrapper, names: list[str]) -> None:
    cid = _run_detached(daemon, names, "--memory", "64m", "--memory-swap", "128m")
    status, answer = daemon.request("POST", f"/containers/{cid}/update", json.dumps({"Memory": 200 * MB}).encode(),
                                    {"Content-Type": "application/json"})
    assert status == 409, answer
    assert json.loads(answer)["message"] == (
        f"Cannot update container {cid}: Memory limit should be smaller than already set memoryswap limit, "
        "update the memoryswap at the same time")


def test_update_of_a_stopped_container_only_stores_it(daemon: DaemonWithCrunWrapper, names: list[str]) -> None:
    cid = _run_detached(daemon, names, "--memory", "64m", command=("true",))
    daemon.docker("wait", cid, check=True)
    result = daemon.docker("update", "--memory", "10m", "--memory-swap", "20m", "--restart", "on-failure:2", cid)
    assert result.returncode == 0, result.stderr
    host_config = _host_config(daemon, cid)
    assert host_config["Memory"] == 10 * MB
    assert host_config["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 2}


def test_sdk_update_of_a_running_container(daemon: DaemonWithCrunWrapper) -> None:
    client = docker.DockerClient(base_url=daemon.host, version="auto", timeout=60)
    container = client.containers.run("busybox", ["sleep", "300"], detach=True, mem_limit="64m")
    try:
        answer = container.update(mem_limit="72m", memswap_limit="144m", cpu_quota=30000, cpu_period=100000,
                                  cpu_shares=700, restart_policy={"Name": "unless-stopped"})
        assert answer.get("Warnings") in (None, [])
        assert _cgroup(daemon, "memory", container.id, "memory.limit_in_bytes") == str(72 * MB)
        assert _cgroup(daemon, "cpu", container.id, "cpu.cfs_quota_us") == "30000"
        assert _cgroup(daemon, "cpu", container.id, "cpu.shares") == "700"
        container.reload()
        assert container.attrs["HostConfig"]["RestartPolicy"]["Name"] == "unless-stopped"
        with pytest.raises(docker.errors.APIError) as refused:
            container.update(mem_limit="1m")
        assert refused.value.status_code == 400 and "Minimum memory limit allowed is 6MB" in str(refused.value)
    finally:
        container.remove(force=True)
        client.close()


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_update_of_cpusets_and_reservation(daemon: DaemonWithCrunWrapper, names: list[str], runtime: str) -> None:
    cid = _run_detached(daemon, names, *_runtime_args(daemon, runtime), "--memory", "64m")
    result = daemon.docker("update", "--cpuset-cpus", "0", "--cpuset-mems", "0", "--memory-reservation", "32m", cid)
    assert result.returncode == 0, result.stderr
    assert _cgroup(daemon, "cpuset", cid, "cpuset.cpus") == "0"
    assert _cgroup(daemon, "memory", cid, "memory.soft_limit_in_bytes") == str(32 * MB)
