"""The devices every container gets (as runc), for /dev and for the devices cgroup."""

from __future__ import annotations

from wharf.runtime.specconv import Device

DEFAULT_DEVICES = (
    Device("/dev/null", "c", 1, 3),
    Device("/dev/zero", "c", 1, 5),
    Device("/dev/full", "c", 1, 7),
    Device("/dev/random", "c", 1, 8),
    Device("/dev/urandom", "c", 1, 9),
    Device("/dev/tty", "c", 5, 0),
)

# devices cgroup rules always allowed on top of the spec's, as runc: mknod of anything (using a node is
# still checked), the default devices, /dev/tty, /dev/ptmx and the ptys, /dev/net/tun.
DEFAULT_ALLOWED_RULES: tuple[dict[str, object], ...] = (
    {"type": "b", "major": -1, "minor": -1, "access": "m"},
    {"type": "c", "major": -1, "minor": -1, "access": "m"},
    *({"type": "c", "major": d.major, "minor": d.minor, "access": "rwm"} for d in DEFAULT_DEVICES),
    {"type": "c", "major": 5, "minor": 2, "access": "rwm"},
    {"type": "c", "major": 10, "minor": 200, "access": "rwm"},
    {"type": "c", "major": 136, "minor": -1, "access": "rwm"},
)

DEFAULT_SYMLINKS = (
    ("/proc/self/fd", "/dev/fd"),
    ("/proc/self/fd/0", "/dev/stdin"),
    ("/proc/self/fd/1", "/dev/stdout"),
    ("/proc/self/fd/2", "/dev/stderr"),
    ("/proc/kcore", "/dev/core"),
    ("pts/ptmx", "/dev/ptmx"),
)
