"""`events`: a container's cgroup statistics and OOM notifications, one JSON object per line (runc's).

    events --stats ID          one {"type":"stats","id":ID,"data":{...}} and exit
    events [--interval 5s] ID  a stats event every interval and an {"type":"oom","id":ID} event on
                               each OOM kill, until the container's init exits
"""

from __future__ import annotations

import os
import select
import sys

from wharf import errdefs
from wharf.runtime import jsonlite as json
from wharf.runtime.state import ContainerState, StateStore, Status

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_V2_OOM_POLL = 0.25  # memory.events has no eventfd interface: read it this often (s)


def stats_of(state: ContainerState) -> dict[str, Any]:
    from wharf.runtime.cgroups import stats

    if state.cgroup_version == 2:
        return stats.v2_stats(state.cgroup_paths["unified"])
    return stats.v1_stats(state.cgroup_paths)


def parse_interval(text: str) -> float:
    """A Go duration ("5s", "500ms", "1m30s", "2h"); a bare number is seconds."""
    units = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
    text = text.strip()
    try:
        return float(text)
    except ValueError:
        pass
    total, number = 0.0, ""
    i = 0
    while i < len(text):
        if text[i].isdigit() or text[i] == ".":
            number += text[i]
            i += 1
            continue
        unit = next((u for u in ("ns", "us", "µs", "ms", "s", "m", "h") if text.startswith(u, i)), None)
        if unit is None or not number:
            raise errdefs.InvalidArgument(f"invalid --interval {text!r}: use a duration such as 5s or 500ms")
        total += float(number) * units[unit]
        number = ""
        i += len(unit)
    if number or total <= 0:
        raise errdefs.InvalidArgument(f"invalid --interval {text!r}: use a duration such as 5s or 500ms")
    return total


def print_event(kind: str, container_id: str, data: dict[str, Any] | None = None) -> None:
    event: dict[str, Any] = {"type": kind, "id": container_id}
    if data is not None:
        event["data"] = data
    sys.stdout.write(json.dumps(event, compact=True) + "\n")
    sys.stdout.flush()


def events(store: StateStore, container_id: str, stats_once: bool, interval: float) -> None:
    state = store.load(container_id)
    if store.status(state) == Status.STOPPED:
        raise errdefs.FailedPrecondition(f"container {container_id} is not running")
    if stats_once:
        print_event("stats", container_id, stats_of(state))
        return
    _stream(state, interval)


def _stream(state: ContainerState, interval: float) -> None:
    import time

    try:
        pidfd = os.pidfd_open(state.pid)
    except ProcessLookupError:
        return
    oom = _OomWatch(state)
    try:
        next_stats = time.monotonic() + interval  # as runc: the first stats after one interval
        while True:
            now = time.monotonic()
            if now >= next_stats:
                print_event("stats", state.id, stats_of(state))
                next_stats = now + interval
            timeout = next_stats - time.monotonic()
            if oom.poll_period:
                timeout = min(timeout, oom.poll_period)
            readable, _, _ = select.select([pidfd] + oom.fds, [], [], max(timeout, 0))
            for _ in range(oom.fired(readable)):
                print_event("oom", state.id)
            if pidfd in readable:
                return  # the init exited: the container's event stream ends
    finally:
        os.close(pidfd)
        oom.close()


class _OomWatch:
    """OOM kills in the container's memory cgroup: v1's eventfd on memory.oom_control (cgroup.event_control),
    v2's oom_kill counter in memory.events."""

    def __init__(self, state: ContainerState) -> None:
        self.fds: list[int] = []
        self.poll_period = 0.0
        self._events_file = ""
        self._seen = 0
        memory = state.cgroup_paths.get("memory")
        if state.cgroup_version == 1 and memory:
            try:
                self._register_v1(memory)
            except OSError as err:
                sys.stderr.write(f"wharf-runc: warning: no OOM notifications: {err.strerror}\n")
        elif state.cgroup_version == 2:
            self._events_file = os.path.join(state.cgroup_paths["unified"], "memory.events")
            self._seen = self._oom_kills()
            self.poll_period = _V2_OOM_POLL

    def _register_v1(self, memory: str) -> None:
        efd = os.eventfd(0, os.EFD_CLOEXEC)
        control = os.open(os.path.join(memory, "memory.oom_control"), os.O_RDONLY | os.O_CLOEXEC)
        try:
            fd = os.open(os.path.join(memory, "cgroup.event_control"), os.O_WRONLY | os.O_CLOEXEC)
            try:
                os.write(fd, f"{efd} {control}".encode())
            finally:
                os.close(fd)
        except OSError:
            os.close(efd)
            raise
        finally:
            os.close(control)
        self.fds.append(efd)

    def _oom_kills(self) -> int:
        try:
            with open(self._events_file) as f:
                for line in f:
                    key, _, value = line.partition(" ")
                    if key == "oom_kill":
                        return int(value)
        except (OSError, ValueError):
            pass
        return 0

    def fired(self, readable: list[int]) -> int:
        """How many OOM events happened since the last call."""
        count = 0
        for fd in self.fds:
            if fd in readable:
                count += int.from_bytes(os.read(fd, 8), sys.byteorder)
        if self._events_file:
            kills = self._oom_kills()
            count += max(kills - self._seen, 0)
            self._seen = kills
        return count

    def close(self) -> None:
        for fd in self.fds:
            os.close(fd)
        self.fds = []
