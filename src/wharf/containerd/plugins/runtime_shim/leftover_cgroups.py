"""Removing the cgroup a runtime made for a task it never finished making.

A runtime killed inside `create` (after it made the container's cgroup, before it wrote the state
that `delete --force` reads) leaves the cgroup, and maybe the half-made container's processes in
it; no runtime can find them again. The supervisor knows the spec's `linux.cgroupsPath`, so it
removes them itself when a create fails or a dead shim's task is deleted. Only a leaf named after
the task is touched: a spec pointing at a shared cgroup is left alone.
"""

from __future__ import annotations

import errno
import logging
import os
import signal
import time
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


def _cgroup_mount_points() -> list[Path]:
    points = []
    with open("/proc/self/mountinfo") as mountinfo:
        for line in mountinfo:
            left, _, right = line.partition(" - ")
            if right.split(" ", 1)[0] in ("cgroup", "cgroup2"):
                points.append(Path(left.split(" ")[4]))
    return points


def task_cgroup_dirs(spec: dict[str, Any], task_id: str) -> list[Path]:
    """The task's cgroup directories that exist, in every hierarchy."""
    path = str((spec.get("linux") or {}).get("cgroupsPath") or "")
    # Only absolute paths ending in the task's id (systemd's slice:prefix:name form is not ours).
    if not path.startswith("/") or ":" in path or Path(path).name != task_id:
        return []
    return [point / path.lstrip("/") for point in _cgroup_mount_points() if (point / path.lstrip("/")).is_dir()]


def _procs(directory: Path) -> list[int]:
    pids = []
    for sub, _, _ in os.walk(directory):
        try:
            pids += [int(p) for p in Path(sub, "cgroup.procs").read_text().split()]
        except (OSError, ValueError):
            pass
    return pids


def remove_task_cgroups(spec: dict[str, Any], task_id: str, timeout: float = 5.0) -> None:
    """Kill what is left in the task's cgroups and remove them (deepest first)."""
    directories = task_cgroup_dirs(spec, task_id)
    deadline = time.monotonic() + timeout
    for directory in directories:
        while pids := _procs(directory):
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            if time.monotonic() > deadline:
                log.warning("task %s: processes %s outlive SIGKILL in %s", task_id, pids, directory)
                break
            time.sleep(0.01)
    for directory in directories:
        for sub, _, _ in sorted(os.walk(directory), key=lambda entry: -len(entry[0])):
            while True:
                try:
                    os.rmdir(sub)
                    break
                except OSError as err:
                    if err.errno == errno.ENOENT:
                        break
                    # EBUSY: a killed process is not yet reaped out of the cgroup
                    if err.errno != errno.EBUSY or time.monotonic() > deadline:
                        log.warning("task %s: cannot remove cgroup %s: %s", task_id, sub, err.strerror)
                        break
                    time.sleep(0.01)
    if directories:
        log.info("task %s: removed the cgroups its runtime left: %s", task_id, [str(d) for d in directories])
