"""Reading /proc/PID/stat without ctypes (the state/start/kill/delete path imports only this)."""

from __future__ import annotations


def proc_start_time(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (field 22 of /proc/PID/stat), or None if gone.

    Stored with the pid so a recycled pid is not mistaken for the container's init."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            raw = f.read()
    except OSError:
        return None
    fields = raw[raw.rindex(b")") + 2 :].split()
    return int(fields[19])


def proc_state(pid: int) -> str | None:
    """The one-letter state of /proc/PID/stat (R, S, Z, ...), or None if the process is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            raw = f.read()
    except OSError:
        return None
    return raw[raw.rindex(b")") + 2 :].split()[0].decode()
