"""Docker's create-time checks and adjustments of a HostConfig (pure functions)."""

import pytest

from wharf import errdefs
from wharf.daemon import ocispec
from wharf.daemon.backend import create_options, host_config_checks, resource_update

MB = 1024 * 1024


def test_valid_resources_pass_with_warnings_only_where_docker_warns() -> None:
    assert host_config_checks.verify_host_config({"Memory": 64 * MB, "MemorySwap": -1, "CpuShares": 512}) == []
    warnings = host_config_checks.verify_host_config({"OomKillDisable": True})
    assert warnings and "OOM killer is disabled" in warnings[0]


@pytest.mark.parametrize(
    ("host_config", "message"),
    [
        ({"Memory": 1}, "Minimum memory limit allowed is 6MB"),
        ({"BlkioWeight": 2000}, "Range of blkio weight is from 10 to 1000"),
        ({"OomScoreAdj": -1001}, "range for oom score adj is [-1000, 1000]"),
        ({"CpuPeriod": 5}, "CPU cfs period can not be less than 1ms"),
        ({"CapAdd": ["BOGUS"]}, 'unknown capability: "CAP_BOGUS"'),
    ],
)
def test_refusals(host_config: dict, message: str) -> None:
    with pytest.raises(errdefs.InvalidArgument, match=message.replace("[", r"\[").replace("]", r"\]")):
        host_config_checks.verify_host_config(host_config)


def test_wrong_types_are_refused_like_gos_decoder() -> None:
    with pytest.raises(errdefs.InvalidArgument, match="cannot unmarshal string into Go struct field .*Memory"):
        host_config_checks.check_types({}, {"Memory": "1g"})
    host_config_checks.check_types({"Tty": True}, {"Memory": 1.0 * MB, "Unknown": "ignored"})


def test_swap_defaults_to_twice_the_memory() -> None:
    host_config = {"Memory": 10 * MB, "MemorySwap": 0}
    create_options.adapt(host_config)
    assert host_config["MemorySwap"] == 20 * MB


def test_log_rotation_is_on_by_default() -> None:
    assert create_options.log_rotation({}) == (create_options.DEFAULT_LOG_MAX_SIZE, create_options.DEFAULT_LOG_MAX_FILES)
    assert create_options.log_rotation({"LogConfig": {"Type": "json-file", "Config": {"max-size": "2k",
                                                                                      "max-file": "3"}}}) == (2048, 3)
    with pytest.raises(errdefs.InvalidArgument, match="no log driver named 'syslog'"):
        create_options.log_rotation({"LogConfig": {"Type": "syslog"}})


def test_unknown_runtime() -> None:
    assert create_options.runtime_of({}, "wharf-runc") == "wharf-runc"
    with pytest.raises(errdefs.InvalidArgument, match="unknown or invalid runtime name: nope"):
        create_options.runtime_of({"Runtime": "nope"}, "wharf-runc")


def test_resources_in_the_spec() -> None:
    resources = ocispec.resources_of({"NanoCpus": 1_500_000_000, "CpusetMems": "0", "OomKillDisable": True,
                                      "BlkioWeight": 300, "PidsLimit": -1})
    assert resources["cpu"] == {"period": 100_000, "quota": 150_000, "mems": "0"}
    assert resources["memory"] == {"disableOOMKiller": True}
    assert resources["blockIO"] == {"weight": 300}
    assert "pids" not in resources  # negative: unlimited, as Docker


def test_device_cgroup_rules_and_init() -> None:
    spec = {"linux": {"resources": {"devices": []}}, "mounts": [], "process": {"args": ["sh"]}}
    ocispec.add_devices(spec, {"DeviceCgroupRules": ["c 1:* rwm"]})
    assert spec["linux"]["resources"]["devices"] == [{"allow": True, "type": "c", "access": "rwm", "major": 1}]
    with pytest.raises(errdefs.InvalidArgument, match="invalid device cgroup format"):
        ocispec.add_devices(spec, {"DeviceCgroupRules": ["x 1:3"]})
    ocispec.apply_init(spec, "/usr/bin/tini")
    assert spec["process"]["args"] == ["/sbin/docker-init", "--", "sh"]


def test_update_merges_and_refuses_without_changing() -> None:
    current = {"Memory": 64 * MB, "MemorySwap": 128 * MB, "NanoCpus": 0, "CpuQuota": 20000,
               "RestartPolicy": {"Name": "no", "MaximumRetryCount": 0}}
    updated, warnings = resource_update.prepare(current, {"NanoCpus": 500_000_000, "RestartPolicy": {"Name": "always"}})
    assert updated["NanoCpus"] == 500_000_000 and updated["CpuQuota"] == 0
    assert updated["RestartPolicy"] == {"Name": "always", "MaximumRetryCount": 0} and warnings == []
    with pytest.raises(errdefs.Conflict, match="update the memoryswap at the same time"):
        resource_update.prepare(current, {"Memory": 256 * MB})
    assert current["Memory"] == 64 * MB and current["CpuQuota"] == 20000
