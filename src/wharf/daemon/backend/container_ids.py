"""How a container's user namespace maps its file owners to the host's (userns-remap).

A remapped container's root is a host uid from a subordinate range, and wharfd sees its files
through `/proc/<pid>/root` with host ids. `docker cp` and `docker export` speak the container's
ids, so they are translated on the way out and back on the way in.
"""

from __future__ import annotations

from dataclasses import dataclass

from wharf.linux.idmap import IdMap

OVERFLOW_ID = 65534
"""What the kernel shows for an id the namespace has no mapping for (nobody/nogroup)."""


def _read_map(path: str) -> tuple[IdMap, ...]:
    with open(path) as lines:
        return tuple((int(a), int(b), int(c)) for a, b, c in (line.split() for line in lines if line.strip()))


def _shift(ranges: tuple[IdMap, ...], value: int, to_host: bool) -> int:
    for inside, outside, count in ranges:
        start, target = (inside, outside) if to_host else (outside, inside)
        if start <= value < start + count:
            return target + value - start
    return OVERFLOW_ID


@dataclass(frozen=True)
class ContainerIds:
    uids: tuple[IdMap, ...]
    gids: tuple[IdMap, ...]

    @classmethod
    def of_process(cls, pid: int) -> ContainerIds | None:
        """The mappings of a container's process; None when it shares the host's ids."""
        try:
            uids, gids = _read_map(f"/proc/{pid}/uid_map"), _read_map(f"/proc/{pid}/gid_map")
        except (OSError, ValueError):
            return None
        identity = ((0, 0, 4294967295),)
        if uids == identity and gids == identity:
            return None
        return cls(uids, gids)

    def to_host(self, uid: int, gid: int) -> tuple[int, int]:
        return _shift(self.uids, uid, True), _shift(self.gids, gid, True)

    def in_container(self, uid: int, gid: int) -> tuple[int, int]:
        return _shift(self.uids, uid, False), _shift(self.gids, gid, False)

    @property
    def root_on_host(self) -> tuple[int, int]:
        return self.to_host(0, 0)
