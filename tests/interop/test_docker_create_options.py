"""`docker run` options (Config/HostConfig) seen from inside the container and in its cgroups,
Docker's errors for bad values, and `docker update` — with the real docker CLI and SDK."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from tests.fixtures.daemon import WharfDaemon

MB = 1024 * 1024


@pytest.fixture
def client(wharf: WharfDaemon) -> Iterator[docker.DockerClient]:
    client = docker.DockerClient(base_url=wharf.host, version="auto", timeout=60)
    yield client
    client.close()


def _name() -> str:
    return f"opts-{uuid.uuid4().hex[:10]}"


def _run(wharf: WharfDaemon, *args: str) -> str:
    result = wharf.docker("run", "--rm", *args)
    assert result.returncode == 0, result.stderr + wharf.log()[-3000:]
    return result.stdout


def _cgroup(wharf: WharfDaemon, controller: str, container_id: str, name: str) -> str:
    return Path(f"/sys/fs/cgroup/{controller}{wharf.cgroup_parent}/{container_id}/{name}").read_text().strip()


@pytest.fixture
def running(wharf: WharfDaemon) -> Iterator[list[str]]:
    """Names of detached containers a test starts; removed afterwards."""
    names: list[str] = []
    yield names
    for name in names:
        wharf.docker("rm", "-f", name)


def _detached(wharf: WharfDaemon, running: list[str], *args: str) -> str:
    name = _name()
    running.append(name)
    result = wharf.docker("run", "-d", "--name", name, *args, "busybox", "sleep", "300")
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_resource_limits_reach_the_cgroups(wharf: WharfDaemon, running: list[str]) -> None:
    cid = _detached(wharf, running, "--memory", "64m", "--memory-reservation", "32m", "--cpus", "0.5",
                    "--cpu-shares", "512", "--pids-limit", "77", "--cpuset-cpus", "0", "--cpuset-mems", "0")
    assert _cgroup(wharf, "memory", cid, "memory.limit_in_bytes") == str(64 * MB)
    assert _cgroup(wharf, "memory", cid, "memory.soft_limit_in_bytes") == str(32 * MB)
    if os.path.exists("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes"):
        # Docker's default: swap limit twice the memory limit.
        assert _cgroup(wharf, "memory", cid, "memory.memsw.limit_in_bytes") == str(128 * MB)
    assert _cgroup(wharf, "cpu", cid, "cpu.cfs_quota_us") == "50000"
    assert _cgroup(wharf, "cpu", cid, "cpu.cfs_period_us") == "100000"
    assert _cgroup(wharf, "cpu", cid, "cpu.shares") == "512"
    assert _cgroup(wharf, "pids", cid, "pids.max") == "77"
    assert _cgroup(wharf, "cpuset", cid, "cpuset.cpus") == "0"
    host_config = json.loads(wharf.docker("inspect", cid).stdout)[0]["HostConfig"]
    assert host_config["Memory"] == 64 * MB and host_config["NanoCpus"] == 500_000_000
    assert host_config["PidsLimit"] == 77


def test_cpu_quota_and_period(wharf: WharfDaemon, running: list[str]) -> None:
    cid = _detached(wharf, running, "--cpu-quota", "20000", "--cpu-period", "50000")
    assert _cgroup(wharf, "cpu", cid, "cpu.cfs_quota_us") == "20000"
    assert _cgroup(wharf, "cpu", cid, "cpu.cfs_period_us") == "50000"


def test_oom_kill_disable_and_score(wharf: WharfDaemon, running: list[str]) -> None:
    cid = _detached(wharf, running, "--memory", "32m", "--oom-kill-disable", "--oom-score-adj", "300")
    assert "oom_kill_disable 1" in _cgroup(wharf, "memory", cid, "memory.oom_control")
    assert wharf.docker("exec", cid, "cat", "/proc/1/oom_score_adj").stdout.strip() == "300"


def test_ulimits(wharf: WharfDaemon) -> None:
    out = _run(wharf, "--ulimit", "nofile=1024:2048", "busybox", "sh", "-c", "ulimit -n; ulimit -Hn")
    assert out.split() == ["1024", "2048"]


def test_capabilities(wharf: WharfDaemon) -> None:
    def cap_eff(*args: str) -> int:
        out = _run(wharf, *args, "busybox", "grep", "CapEff", "/proc/self/status")
        return int(out.split()[1], 16)

    default = cap_eff()
    net_admin, chown = 1 << 12, 1 << 0
    assert not default & net_admin and default & chown
    assert cap_eff("--cap-add", "NET_ADMIN") & net_admin
    assert not cap_eff("--cap-drop", "CHOWN") & chown
    assert cap_eff("--cap-drop", "ALL") == 0
    assert cap_eff("--cap-add", "ALL") & net_admin
    assert cap_eff("--privileged") & net_admin


def test_privileged_sees_host_devices(wharf: WharfDaemon) -> None:
    assert "kmsg" not in _run(wharf, "busybox", "ls", "/dev").split()
    assert "kmsg" in _run(wharf, "--privileged", "busybox", "ls", "/dev").split()


def test_device_mapping(wharf: WharfDaemon) -> None:
    out = _run(wharf, "--device", "/dev/zero:/dev/myzero:rwm", "busybox", "sh", "-c",
               "ls -l /dev/myzero; head -c 4 /dev/myzero | od -An -tx1")
    assert out.startswith("c") and "1,   5" in out.replace("1,  5", "1,   5")
    assert "00 00 00 00" in out
    result = wharf.docker("run", "--rm", "--device", "/dev/nonexistent-wt", "busybox", "true")
    assert result.returncode != 0
    assert "error gathering device information" in result.stderr


def test_readonly_rootfs_and_tmpfs(wharf: WharfDaemon) -> None:
    out = _run(wharf, "--read-only", "--tmpfs", "/scratch:size=1m", "busybox", "sh", "-c",
               "touch /nope 2>&1; touch /scratch/ok && echo tmpfs-ok; grep ' /scratch ' /proc/mounts")
    assert "Read-only file system" in out and "tmpfs-ok" in out and "size=1024k" in out


def test_shm_size(wharf: WharfDaemon) -> None:
    out = _run(wharf, "--shm-size", "16m", "busybox", "grep", " /dev/shm ", "/proc/mounts")
    assert "size=16384k" in out


def test_sysctls_and_hostname(wharf: WharfDaemon) -> None:
    out = _run(wharf, "--sysctl", "net.ipv4.ip_forward=1", "--hostname", "opts-host", "busybox", "sh", "-c",
               "cat /proc/sys/net/ipv4/ip_forward; hostname")
    assert out.split() == ["1", "opts-host"]


def test_group_add(wharf: WharfDaemon) -> None:
    groups = _run(wharf, "--group-add", "1234", "--group-add", "50", "busybox", "id", "-G").split()
    assert "1234" in groups and "50" in groups


def test_group_add_by_name_from_the_containers_group_file(wharf: WharfDaemon, running: list[str],
                                                          tmp_path: Path) -> None:
    name = _name()
    running.append(name)
    created = wharf.docker("create", "--name", name, "--group-add", "staff", "--group-add", "1234",
                           "busybox", "id", "-G")
    assert created.returncode == 0, created.stderr
    etc = tmp_path / "etc"
    etc.mkdir()
    (etc / "group").write_text("root:x:0:\nstaff:x:50:\n")
    assert wharf.docker("cp", str(etc / "group"), f"{name}:/etc/group").returncode == 0
    started = wharf.docker("start", "-a", name)
    assert started.returncode == 0, started.stderr
    assert set(started.stdout.split()) >= {"50", "1234"}

    missing = _name()
    running.append(missing)
    assert wharf.docker("create", "--name", missing, "--group-add", "nosuchgroup", "busybox", "true").returncode == 0
    result = wharf.docker("start", missing)
    assert result.returncode != 0 and "Unable to find group nosuchgroup" in result.stderr


def test_user(wharf: WharfDaemon) -> None:
    assert _run(wharf, "-u", "1000:1000", "busybox", "id", "-u").strip() == "1000"


def test_host_namespaces(wharf: WharfDaemon) -> None:
    host_uts = os.uname().nodename
    assert _run(wharf, "--uts", "host", "busybox", "hostname").strip() == host_uts
    own_ipc = os.readlink("/proc/self/ns/ipc")
    assert _run(wharf, "--ipc", "host", "busybox", "readlink", "/proc/self/ns/ipc").strip() == own_ipc
    pids = _run(wharf, "--pid", "host", "busybox", "sh", "-c", "ls /proc | grep -c '^[0-9]'")
    assert int(pids) > 5


def test_join_another_containers_namespaces(wharf: WharfDaemon, running: list[str]) -> None:
    cid = _detached(wharf, running)
    script = "readlink /proc/self/ns/ipc; readlink /proc/self/ns/pid"
    theirs = wharf.docker("exec", cid, "sh", "-c", script).stdout.split()
    ours = _run(wharf, "--ipc", f"container:{cid}", "--pid", f"container:{cid}", "busybox",
                "sh", "-c", script).split()
    assert ours == theirs
    # Sharing the pid namespace: the other container's sleep is visible.
    assert "sleep 300" in _run(wharf, "--pid", f"container:{cid}", "busybox", "ps")


def test_init(wharf: WharfDaemon) -> None:
    out = _run(wharf, "--init", "busybox", "sh", "-c", "cat /proc/1/cmdline | tr '\\0' ' '")
    assert out.startswith("/sbin/docker-init -- sh")


def test_stop_signal_and_timeout(wharf: WharfDaemon, running: list[str]) -> None:
    name = _name()
    running.append(name)
    result = wharf.docker("run", "-d", "--name", name, "--stop-signal", "SIGUSR1", "--stop-timeout", "1",
                          "busybox", "sh", "-c", "trap 'exit 42' USR1; while true; do sleep 0.1; done")
    assert result.returncode == 0, result.stderr
    assert wharf.docker("stop", name).returncode == 0
    state = json.loads(wharf.docker("inspect", name).stdout)[0]
    assert state["State"]["ExitCode"] == 42
    assert state["Config"]["StopSignal"] == "SIGUSR1" and state["Config"]["StopTimeout"] == 1


def test_log_rotation_options(wharf: WharfDaemon, running: list[str]) -> None:
    name = _name()
    running.append(name)
    result = wharf.docker("run", "--name", name, "--log-opt", "max-size=1k", "--log-opt", "max-file=2",
                          "busybox", "sh", "-c", "i=0; while [ $i -lt 200 ]; do echo line-$i-xxxxxxxxxxxxxxxx; "
                          "i=$((i+1)); done")
    assert result.returncode == 0, result.stderr
    logs = wharf.docker("logs", name).stdout.splitlines()
    # Rotation kept at most two files of about 1k: the early lines are gone, the last is there.
    assert logs and logs[-1].startswith("line-199") and len(logs) < 200
    log_config = json.loads(wharf.docker("inspect", name).stdout)[0]["HostConfig"]["LogConfig"]
    assert log_config == {"Type": "json-file", "Config": {"max-file": "2", "max-size": "1k"}}


def test_max_file_alone_is_accepted_and_shown_as_given(wharf: WharfDaemon, running: list[str]) -> None:
    name = _name()
    running.append(name)
    result = wharf.docker("run", "--name", name, "--log-opt", "max-file=100", "busybox", "echo", "kept")
    assert result.returncode == 0, result.stderr
    assert wharf.docker("logs", name).stdout == "kept\n"
    log_config = json.loads(wharf.docker("inspect", name).stdout)[0]["HostConfig"]["LogConfig"]
    assert log_config == {"Type": "json-file", "Config": {"max-file": "100"}}


def test_none_log_driver_keeps_no_log(wharf: WharfDaemon, running: list[str]) -> None:
    name = _name()
    running.append(name)
    result = wharf.docker("run", "--name", name, "--log-driver", "none", "busybox", "echo", "dropped")
    assert result.returncode == 0, result.stderr
    info = json.loads(wharf.docker("inspect", name).stdout)[0]
    assert info["HostConfig"]["LogConfig"] == {"Type": "none", "Config": {}}
    assert info["LogPath"] == ""
    logs = wharf.docker("logs", name)
    assert logs.returncode != 0
    assert "configured logging driver does not support reading" in logs.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--memory", "1m"], "Minimum memory limit allowed is 6MB"),
        (["--memory", "64m", "--memory-swap", "32m"], "Minimum memoryswap limit should be larger than memory limit"),
        (["--cpus", "999"], "range of CPUs is from 0.01 to"),
        (["--cpu-period", "10"], "CPU cfs period can not be less than 1ms"),
        (["--cpu-quota", "10"], "CPU cfs quota can not be less than 1ms"),
        (["--cpuset-cpus", "999"], "Requested CPUs are not available - requested 999"),
        (["--blkio-weight", "5"], "Range of blkio weight is from 10 to 1000"),
        (["--oom-score-adj", "5000"], "Invalid value 5000, range for oom score adj is [-1000, 1000]"),
        (["--restart", "on-failure:-1"], "invalid restart policy: maximum retry count cannot be negative"),
        (["--runtime", "nosuchruntime"], "unknown or invalid runtime name: nosuchruntime"),
        (["--log-driver", "nosuchdriver"], "logger: no log driver named 'nosuchdriver' is registered"),
        (["--log-opt", "max-file=0", "--log-opt", "max-size=1m"], "max-file cannot be less than 1"),
        (["--ipc", "container:nosuch-opts"], "No such container: nosuch-opts"),
        (["--cap-add", "NOT_A_CAP"], 'unknown capability: "CAP_NOT_A_CAP"'),
        (["--workdir", "relative/dir"], "the working directory 'relative/dir' is invalid, it needs to be an absolute path"),
        (["--device", "/dev/nonexistent-wt"], "error gathering device information"),
        (["--stop-signal", "SIGNOPE"], "Invalid signal: SIGNOPE"),
    ],
)
def test_bad_options_are_refused_and_nothing_is_created(wharf: WharfDaemon, args: list[str], message: str) -> None:
    name = _name()
    result = wharf.docker("create", "--name", name, *args, "busybox", "true")
    assert result.returncode != 0
    assert message in result.stderr
    assert wharf.docker("inspect", name).returncode != 0


def test_sdk_wrong_types_and_unknown_fields(client: docker.DockerClient) -> None:
    api = client.api
    with pytest.raises(docker.errors.APIError) as refused:
        api.create_container("busybox", ["true"], host_config={"Memory": "lots"})
    assert refused.value.status_code == 400 and "cannot unmarshal string" in str(refused.value)
    with pytest.raises(docker.errors.APIError) as refused:
        api.create_container("busybox", ["true"], host_config={"RestartPolicy": {"Name": "sometimes"}})
    assert refused.value.status_code == 400 and "invalid restart policy: unknown policy 'sometimes'" in str(
        refused.value
    )
    # Unknown fields are ignored, as Docker's decoder ignores them.
    created = api.create_container("busybox", ["true"], host_config={"NoSuchField": 1}, labels={"x": "y"})
    api.remove_container(created["Id"])


@pytest.mark.parametrize(
    ("host_config", "message"),
    [
        ({"ShmSize": -1}, "SHM size can not be less than 0"),
        ({"PidMode": "bogus"}, "invalid PID mode: bogus"),
        ({"IpcMode": "bogus"}, "invalid IPC mode: bogus"),
        ({"UTSMode": "bogus"}, "invalid UTS mode: bogus"),
        ({"Memory": -1}, "Minimum memory limit allowed is 6MB"),
        ({"MemorySwap": 64 * MB}, "You should always set the Memory limit when using Memoryswap limit"),
        ({"MemoryReservation": 1024}, "Minimum memory reservation allowed is 6MB"),
        ({"Memory": 10 * MB, "MemoryReservation": 20 * MB}, "Minimum memory limit can not be less than memory"),
        ({"MemorySwappiness": 200}, "Invalid value: 200, valid memory swappiness range is 0-100"),
        ({"CpuShares": -5}, "invalid CPU shares (-5): value must be a positive integer"),
        ({"NanoCpus": -1}, "range of CPUs is from 0.01 to"),
        ({"NanoCpus": 500_000_000, "CpuQuota": 50000}, "Conflicting options: Nano CPUs and CPU Quota"),
        ({"NanoCpus": 500_000_000, "CpuPeriod": 50000}, "Conflicting options: Nano CPUs and CPU Period"),
        ({"CpusetCpus": "a-b"}, "Invalid value a-b for cpuset cpus"),
        ({"RestartPolicy": {"Name": "always", "MaximumRetryCount": 2}},
         "invalid restart policy: maximum retry count can only be used with 'on-failure'"),
        ({"AutoRemove": True, "RestartPolicy": {"Name": "always"}},
         "can't create 'AutoRemove' container with restart policy"),
        ({"Ulimits": [{"Name": "nofile", "Soft": 10, "Hard": 5}]}, "soft limit (10) for nofile is higher"),
        ({"CapAdd": 5}, "cannot unmarshal number into Go struct field"),
        ({"Privileged": "yes"}, "cannot unmarshal string into Go struct field"),
        ({"MaskedPaths": "/proc/kcore"}, "cannot unmarshal string into Go struct field"),
        ({"ReadonlyPaths": [5]}, "cannot unmarshal number into Go struct field"),
    ],
)
def test_sdk_bad_host_config_is_a_400_and_creates_nothing(client: docker.DockerClient, host_config: dict,
                                                           message: str) -> None:
    name = _name()
    with pytest.raises(docker.errors.APIError) as refused:
        client.api.create_container("busybox", ["true"], name=name, host_config=host_config)
    assert refused.value.status_code == 400, refused.value
    assert message in str(refused.value)
    with pytest.raises(docker.errors.NotFound):
        client.containers.get(name)


def test_sdk_negative_pids_limit_means_unlimited(client: docker.DockerClient) -> None:
    created = client.api.create_container("busybox", ["true"], host_config={"PidsLimit": -1})
    client.api.remove_container(created["Id"])


def test_sdk_create_with_resources(client: docker.DockerClient) -> None:
    container = client.containers.run(
        "busybox", ["sleep", "300"], detach=True, mem_limit="48m", pids_limit=50, cpu_shares=256,
        ulimits=[docker.types.Ulimit(name="nofile", soft=500, hard=600)], cap_drop=["ALL"],
        group_add=["4321"], oom_score_adj=100,
    )
    try:
        assert container.exec_run(["sh", "-c", "ulimit -n"]).output.strip() == b"500"
        assert b"4321" in container.exec_run(["id", "-G"]).output
        container.reload()
        assert container.attrs["HostConfig"]["Memory"] == 48 * MB
        assert container.attrs["HostConfig"]["CapDrop"] == ["ALL"]
    finally:
        container.remove(force=True)


def test_oom_kill_disable_without_memory_warns(client: docker.DockerClient) -> None:
    created = client.api.create_container("busybox", ["true"], host_config={"OomKillDisable": True})
    try:
        assert any("OOM killer is disabled" in w for w in created["Warnings"] or [])
    finally:
        client.api.remove_container(created["Id"])


def test_update_live_and_persisted(wharf: WharfDaemon, running: list[str]) -> None:
    cid = _detached(wharf, running, "--memory", "64m")
    result = wharf.docker("update", "--memory", "96m", "--memory-swap", "200m", "--cpus", "0.25",
                          "--pids-limit", "40", "--restart", "on-failure:3", cid)
    assert result.returncode == 0, result.stderr
    assert _cgroup(wharf, "memory", cid, "memory.limit_in_bytes") == str(96 * MB)
    assert _cgroup(wharf, "cpu", cid, "cpu.cfs_quota_us") == "25000"
    assert _cgroup(wharf, "pids", cid, "pids.max") == "40"
    host_config = json.loads(wharf.docker("inspect", cid).stdout)[0]["HostConfig"]
    assert host_config["Memory"] == 96 * MB and host_config["NanoCpus"] == 250_000_000
    assert host_config["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 3}


def test_update_of_a_stopped_container_applies_at_start(wharf: WharfDaemon, running: list[str]) -> None:
    name = _name()
    running.append(name)
    assert wharf.docker("create", "--name", name, "--memory", "64m", "busybox", "sleep", "300").returncode == 0
    result = wharf.docker("update", "--memory", "100m", "--memory-swap", "300m", "--pids-limit", "33", name)
    assert result.returncode == 0, result.stderr
    assert wharf.docker("start", name).returncode == 0
    cid = wharf.docker("inspect", "-f", "{{.Id}}", name).stdout.strip()
    assert _cgroup(wharf, "memory", cid, "memory.limit_in_bytes") == str(100 * MB)
    assert _cgroup(wharf, "pids", cid, "pids.max") == "33"
    # And a restart keeps them.
    assert wharf.docker("restart", "-t", "0", name).returncode == 0
    assert _cgroup(wharf, "memory", cid, "memory.limit_in_bytes") == str(100 * MB)


def test_update_refused_changes_nothing(wharf: WharfDaemon, running: list[str]) -> None:
    cid = _detached(wharf, running, "--memory", "64m")
    result = wharf.docker("update", "--memory", "1m", cid)
    assert result.returncode != 0 and "Minimum memory limit allowed is 6MB" in result.stderr
    result = wharf.docker("update", "--restart", "sometimes", cid)
    assert result.returncode != 0
    assert _cgroup(wharf, "memory", cid, "memory.limit_in_bytes") == str(64 * MB)
    assert json.loads(wharf.docker("inspect", cid).stdout)[0]["HostConfig"]["Memory"] == 64 * MB


def test_sdk_update(client: docker.DockerClient) -> None:
    container = client.containers.run("busybox", ["sleep", "300"], detach=True, mem_limit="64m")
    try:
        answer = container.update(mem_limit="80m", memswap_limit="160m", cpu_shares=300)
        assert "Warnings" in answer
        container.reload()
        assert container.attrs["HostConfig"]["Memory"] == 80 * MB
        assert container.attrs["HostConfig"]["CpuShares"] == 300
        with pytest.raises(docker.errors.APIError) as refused:
            container.update(blkio_weight=5)
        assert refused.value.status_code == 400
    finally:
        container.remove(force=True)
