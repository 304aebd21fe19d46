"""Times as the Engine API shows them: Go's RFC3339Nano and go-units' human durations."""

from __future__ import annotations

import calendar
import re
import time

ZERO_TIME = "0001-01-01T00:00:00Z"
_RFC3339 = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|z|[+-]\d\d:\d\d)$")


def now_ns() -> int:
    return time.time_ns()


def rfc3339nano(ns: int) -> str:
    """Go's time.RFC3339Nano in UTC: fractional seconds without trailing zeros; 0 is Go's zero time."""
    if ns <= 0:
        return ZERO_TIME
    seconds, fraction = divmod(ns, 1_000_000_000)
    out = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
    if fraction:
        out += "." + f"{fraction:09d}".rstrip("0")
    return out + "Z"


def parse_rfc3339(text: str) -> int:
    """Nanoseconds since the epoch from an RFC3339 time (as the shim's log and our records hold)."""
    match = _RFC3339.match(text or "")
    if match is None or text.startswith("0001-01-01"):
        return 0
    main, fraction, zone = match.groups()
    seconds = calendar.timegm(time.strptime(main, "%Y-%m-%dT%H:%M:%S"))
    if zone not in ("Z", "z"):
        sign = 1 if zone[0] == "+" else -1
        seconds -= sign * (int(zone[1:3]) * 3600 + int(zone[4:6]) * 60)
    return seconds * 1_000_000_000 + int(((fraction or "") + "000000000")[:9])


def human_duration(seconds_float: float) -> str:
    """go-units HumanDuration, which `docker ps` shows ("Up 3 seconds", "Exited (0) 2 minutes ago")."""
    seconds = int(seconds_float)
    if seconds < 1:
        return "Less than a second"
    if seconds == 1:
        return "1 second"
    if seconds < 60:
        return f"{seconds} seconds"
    minutes = seconds // 60
    if minutes == 1:
        return "About a minute"
    if minutes < 60:
        return f"{minutes} minutes"
    hours = int(seconds_float / 3600 + 0.5)
    if hours == 1:
        return "About an hour"
    if hours < 48:
        return f"{hours} hours"
    if hours < 24 * 7 * 2:
        return f"{hours // 24} days"
    if hours < 24 * 30 * 2:
        return f"{hours // 24 // 7} weeks"
    if hours < 24 * 365 * 2:
        return f"{hours // 24 // 30} months"
    return f"{int(seconds_float / 3600) // 24 // 365} years"
