"""The cgroup v2 manager against a real cgroup2 hierarchy: this host's hybrid one (no memory controller
there, so limits are covered by the v2 container test where v2 is the host's; here: create, join, list,
freeze, thaw, remove)."""

from __future__ import annotations

import os
import subprocess
import uuid
from pathlib import Path

import pytest

from wharf.runtime.cgroups import own_cgroups, read
from wharf.runtime.cgroups.v2 import V2Manager
from wharf.runtime.specconv import Resources


def cgroup2_root() -> str:
    for line in open("/proc/self/mountinfo"):
        pre, _, post = line.partition(" - ")
        if post.split()[0] == "cgroup2":
            return pre.split()[4]
    pytest.skip("no cgroup2 hierarchy is mounted")


def test_v2_manager_on_a_real_cgroup2_tree() -> None:
    root = cgroup2_root()
    path = os.path.normpath(f"{root}{own_cgroups().get('', '/')}/wt-{uuid.uuid4().hex[:8]}")
    manager = V2Manager({"unified": path})
    sleeper = subprocess.Popen(["sleep", "1000"])
    try:
        manager.create(Resources())
        assert Path(path).is_dir()
        manager.join(sleeper.pid)
        assert manager.pids() == [sleeper.pid]
        manager.freeze()
        assert manager.is_frozen() and "frozen 1" in read(path, "cgroup.events")
        assert open(f"/proc/{sleeper.pid}/stat").read().split()[2] in ("S", "D", "T")
        manager.thaw()
        assert not manager.is_frozen()
    finally:
        sleeper.kill()
        sleeper.wait()
        if Path(path).exists():
            manager.destroy()
    assert not Path(path).exists()
