"""cgroups.SelfJoin: a forked child ends up in every cgroup of a container, born in the v2 one
(clone3 with CLONE_INTO_CGROUP) or moving itself there, on real hierarchies of this host."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator

import pytest

from wharf.runtime import cgroups
from wharf.runtime.cgroups.v1 import V1Manager
from wharf.runtime.cgroups.v2 import V2Manager
from wharf.runtime.specconv import Resources

SUFFIX = f"/wharf-test-selfjoin-{uuid.uuid4().hex[:8]}"
"""The container's cgroup under every hierarchy's root (/proc/PID/cgroup shows it so)."""


@pytest.fixture
def manager() -> Iterator[cgroups.CgroupManager]:
    manager = cgroups.for_container(SUFFIX, "c")
    manager.create(Resources())
    yield manager
    manager.destroy()


def run_child(join: cgroups.SelfJoin, **fork_options: bool) -> dict[str, object]:
    """Fork through `join`; the child reports its cgroups before and after join_self."""
    read_end, write_end = os.pipe()
    pid = join.fork(**fork_options)
    if pid == 0:
        report: dict[str, object] = {"born_in": open("/proc/self/cgroup").read()}
        try:
            join.join_self()
            report["joined"] = open("/proc/self/cgroup").read()
        except OSError as err:
            report["error"] = str(err)
        os.write(write_end, json.dumps(report).encode())
        os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end) as pipe:
        report = json.loads(pipe.read())
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    return report


def test_the_child_is_in_every_cgroup_of_the_container(manager: cgroups.CgroupManager) -> None:
    report = run_child(manager.self_join())
    assert "error" not in report, report
    lines = str(report["joined"]).splitlines()
    assert lines and all(line.split(":", 2)[2] == SUFFIX for line in lines), (SUFFIX, lines)
    assert manager.pids() == []  # the child has gone: nothing was left behind


def test_the_child_is_born_in_the_v2_cgroup(manager: cgroups.CgroupManager) -> None:
    """CLONE_INTO_CGROUP: in the v2 (hybrid unified) cgroup before it has written anything."""
    v2 = manager.paths.get("unified")
    if v2 is None:
        pytest.skip("this host mounts no cgroup2 tree beside its v1 hierarchies")
    report = run_child(manager.self_join())
    born_v2 = [line for line in str(report["born_in"]).splitlines() if line.startswith("0::")]
    assert born_v2 == [f"0::{SUFFIX}"], report["born_in"]
    if isinstance(manager, V1Manager):
        born_v1 = [line for line in str(report["born_in"]).splitlines() if not line.startswith("0::")]
        assert born_v1 and all(line.split(":", 2)[2] != SUFFIX for line in born_v1)  # those it joins itself


def test_without_clone3_the_child_moves_itself_into_the_v2_cgroup(manager: cgroups.CgroupManager) -> None:
    """The path of kernels before 5.7 (or a seccomp profile hiding clone3)."""
    report = run_child(manager.self_join(), use_clone3=False)
    assert "error" not in report, report
    born_v2 = [line for line in str(report["born_in"]).splitlines() if line.startswith("0::")]
    if manager.paths.get("unified"):
        assert born_v2 and born_v2 != [f"0::{SUFFIX}"]
    lines = str(report["joined"]).splitlines()
    assert all(line.split(":", 2)[2] == SUFFIX for line in lines), lines


def test_a_refused_v1_join_is_the_childs_error_with_the_cgroup_named(manager: cgroups.CgroupManager) -> None:
    if not isinstance(manager, V1Manager) or "cpuset" not in manager.paths:
        pytest.skip("no v1 cpuset hierarchy on this host")
    cpuset = manager.paths["cpuset"]
    with open(f"{cpuset}/cpuset.cpus", "w") as file:
        file.write("\n")  # no CPU: the kernel refuses any task (ENOSPC)
    report = run_child(manager.self_join())
    assert "cgroups: joining" in str(report["error"]) and "/tasks" in str(report["error"]), report
    assert manager.pids() == []


def test_a_cgroup_that_is_gone_fails_in_the_parent(manager: cgroups.CgroupManager) -> None:
    gone = V2Manager({"unified": "/sys/fs/cgroup/unified/wharf-test-no-such-cgroup"}) \
        if manager.paths.get("unified") else V1Manager({k: v + "-gone" for k, v in manager.paths.items()})
    with pytest.raises(FileNotFoundError):
        gone.self_join()
