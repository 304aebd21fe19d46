"""Times as the Engine API shows them: Go's RFC3339Nano and go-units' human durations."""

from __future__ import annotations

import calendar
import datetime
import re
import time

ZERO_TIME = "0001-01-01T00:00:00Z"
_RFC3339 = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|z|[+-]\d\d:\d\d)$")
_EPOCH = datetime.datetime(1970, 1, 1)


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
    try:  # the fields by hand: strptime takes ~10 µs, and wharfd's start-up parses 3 times per container
        moment = datetime.datetime(int(main[:4]), int(main[5:7]), int(main[8:10]),
                                   int(main[11:13]), int(main[14:16]), int(main[17:19]))
        delta = moment - _EPOCH
        seconds = delta.days * 86400 + delta.seconds
    except ValueError:  # a leap second (strptime takes :60) or no such date (strptime refuses it too)
        seconds = calendar.timegm(time.strptime(main, "%Y-%m-%dT%H:%M:%S"))
    if zone not in ("Z", "z"):
        sign = 1 if zone[0] == "+" else -1
        seconds -= sign * (int(zone[1:3]) * 3600 + int(zone[4:6]) * 60)
    return seconds * 1_000_000_000 + int(((fraction or "") + "000000000")[:9])


