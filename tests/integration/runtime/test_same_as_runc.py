"""The same bundle gives the same result under runc and wharf-runc."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.fixtures.bundle import make_bundle, read_spec, write_spec
from tests.integration.runtime.conftest import Runtime, new_id

# Facts about the container a process can see, one per line; nothing that varies between runs.
PROBE = "; ".join([
    "echo uid=$(id -u) gid=$(id -g) groups=$(id -G)",
    "echo pid=$$ host=$(hostname) cwd=$(pwd)",
    "env | sort",
    "grep -E '^(Cap|NoNewPrivs|Seccomp:)' /proc/self/status",
    "ulimit -n; ulimit -u",
    "ls /dev | sort | tr '\\n' ' '; echo",
    "ls -l /dev/null /dev/zero /dev/full /dev/random /dev/urandom /dev/tty | awk '{print $1, $5, $6, $NF}'",
    "ls /proc/self/fd | tr '\\n' ' '; echo",
    "ls /sys/class/net",
    "cat /proc/self/mounts | awk '{print $2, $3}' | sort",
    "touch /rootfs-write 2>/dev/null && echo root-rw || echo root-ro",
    "cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max",
    "cat /proc/self/oom_score_adj",
    "cat /sys/fs/cgroup/devices/devices.list",
    "mknod /tmp/sda b 8 0 2>&1 && head -c 1 /tmp/sda > /dev/null 2>&1 || echo denied",
    "umask",
])


RUNC_SPEC_CAPABILITIES = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]


@pytest.mark.parametrize("variant", ["default", "readonly-root", "cgroup-namespace", "ambient-not-inheritable"])
def test_same_bundle_same_result(runc: Runtime, wharf_runc: Runtime, tmp_path: Path, variant: str) -> None:
    bundle = make_bundle(tmp_path / "b", ["sh", "-c", PROBE + "; cat /proc/self/cgroup"], hostname="twin",
                         env=["A=1", "B=two words"], cwd="/tmp", uid=65534, gid=65534,
                         readonly=variant == "readonly-root")
    spec = read_spec(bundle)
    if variant == "cgroup-namespace":
        spec["linux"]["namespaces"].append({"type": "cgroup"})
    if variant == "ambient-not-inheritable":  # `runc spec`'s own: the kernel refuses the ambient ones
        spec["process"]["capabilities"] = {kind: RUNC_SPEC_CAPABILITIES for kind in
                                           ("bounding", "effective", "permitted", "ambient")}
    spec["process"]["user"]["additionalGids"] = [5]
    spec["process"]["oomScoreAdj"] = 100
    spec["linux"]["resources"]["memory"] = {"limit": 64 * 1024 * 1024}
    spec["linux"]["resources"]["pids"] = {"limit": 100}
    spec["linux"]["sysctl"] = {"net.ipv4.ip_forward": "1"}
    write_spec(bundle, spec)
    cid = new_id()  # the same id for both: it shows in the cgroup paths (one after the other, so no clash)
    theirs = runc.run(bundle, cid)
    ours = wharf_runc.run(bundle, cid)
    assert theirs.returncode == 0, theirs.stderr
    assert ours.stdout.splitlines() == theirs.stdout.splitlines()
    assert (ours.returncode, ours.stderr) == (theirs.returncode, theirs.stderr)


def test_same_state_document(runc: Runtime, wharf_runc: Runtime, tmp_path: Path) -> None:
    bundle = make_bundle(tmp_path / "b", ["sleep", "100"])
    spec = read_spec(bundle)
    spec["annotations"] = {"org.example.key": "value"}
    write_spec(bundle, spec)
    states = []
    for rt in (runc, wharf_runc):
        cid = "same-" + rt.name
        rt.ok("create", "--bundle", str(bundle), cid)
        state = rt.state(cid)
        assert state["pid"] > 0 and os.path.exists(f"/proc/{state['pid']}")
        states.append({k: v for k, v in state.items() if k not in ("pid", "created", "id")})
        rt.ok("delete", "--force", cid)
    assert states[0] == states[1]


def test_spec_writes_the_same_default_config(runc: Runtime, wharf_runc: Runtime, tmp_path: Path) -> None:
    for rt in (runc, wharf_runc):
        (tmp_path / rt.name).mkdir()
        rt.ok("spec", "--bundle", str(tmp_path / rt.name))
    theirs = json.loads((tmp_path / "runc" / "config.json").read_text())
    ours = json.loads((tmp_path / "wharf-runc" / "config.json").read_text())
    assert ours == theirs
    assert wharf_runc.call("spec", "--bundle", str(tmp_path / "wharf-runc")).returncode != 0, "must not overwrite"


def test_rootless_spec_matches(runc: Runtime, wharf_runc: Runtime, tmp_path: Path) -> None:
    for rt in (runc, wharf_runc):
        (tmp_path / rt.name).mkdir()
        rt.ok("spec", "--rootless", "--bundle", str(tmp_path / rt.name))
    theirs = json.loads((tmp_path / "runc" / "config.json").read_text())
    ours = json.loads((tmp_path / "wharf-runc" / "config.json").read_text())
    assert ours == theirs
