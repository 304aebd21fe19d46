"""The supervisor removes the cgroups a runtime killed inside `create` leaves (with the processes
in them), and nothing but the task's own leaf."""

from __future__ import annotations

import os
import secrets
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from wharf.containerd.plugins.runtime_shim.leftover_cgroups import remove_task_cgroups, task_cgroup_dirs

HIERARCHIES = [Path("/sys/fs/cgroup/pids"), Path("/sys/fs/cgroup/memory"), Path("/sys/fs/cgroup/unified")]


@pytest.fixture
def parent() -> Iterator[str]:
    name = f"/wt-leftover-{secrets.token_hex(4)}"
    usable = [h for h in HIERARCHIES if h.is_dir() and os.access(h, os.W_OK)]
    if not usable:
        pytest.skip("no writable cgroup hierarchy")
    yield name
    for hierarchy in usable:
        for sub, _, _ in sorted(os.walk(hierarchy / name.lstrip("/")), key=lambda e: -len(e[0])):
            os.rmdir(sub)


def _make_task_cgroup(parent: str, task_id: str) -> tuple[list[Path], subprocess.Popen[bytes]]:
    """A task cgroup in each usable hierarchy, with a process in it (as a killed runtime leaves)."""
    made = []
    sleeper = subprocess.Popen(["sleep", "60"])
    for hierarchy in HIERARCHIES:
        if not hierarchy.is_dir():
            continue
        directory = hierarchy / parent.lstrip("/") / task_id
        directory.mkdir(parents=True)
        (directory / "cgroup.procs").write_text(str(sleeper.pid))
        made.append(directory)
    return made, sleeper


def test_a_task_cgroup_and_its_processes_are_removed(parent: str) -> None:
    task_id = secrets.token_hex(32)
    made, sleeper = _make_task_cgroup(parent, task_id)
    spec = {"linux": {"cgroupsPath": f"{parent}/{task_id}"}}
    assert sorted(task_cgroup_dirs(spec, task_id)) == sorted(made)
    remove_task_cgroups(spec, task_id)
    assert sleeper.wait(timeout=5) == -9
    assert not any(d.exists() for d in made)
    assert all(d.parent.is_dir() for d in made)  # the parent is not the task's


def test_a_path_not_named_after_the_task_is_left_alone(parent: str) -> None:
    task_id = secrets.token_hex(32)
    made, sleeper = _make_task_cgroup(parent, "shared")
    try:
        for path in (f"{parent}/shared", "relative/" + task_id, f"system.slice:wharf:{task_id}"):
            remove_task_cgroups({"linux": {"cgroupsPath": path}}, task_id)
        assert all(d.is_dir() for d in made)
        assert sleeper.poll() is None
    finally:
        sleeper.kill()
        sleeper.wait()
