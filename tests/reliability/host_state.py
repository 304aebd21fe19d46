"""Snapshots of the host objects a daemon makes (mounts, cgroups, veths, NAT rules), to find leaks."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.fixtures import cleanup
from tests.fixtures.daemon import WharfDaemon


@dataclass(frozen=True)
class HostState:
    mounts: frozenset[str]
    cgroups: frozenset[str]
    links: frozenset[str]
    nat_rules: frozenset[str]

    def leaks_since(self, before: HostState) -> dict[str, list[str]]:
        found = {
            "mounts": sorted(self.mounts - before.mounts),
            "cgroups": sorted(self.cgroups - before.cgroups),
            "links": sorted(self.links - before.links),
            "nat_rules": sorted(self.nat_rules - before.nat_rules),
        }
        return {kind: items for kind, items in found.items() if items}


def snapshot(daemon: WharfDaemon) -> HostState:
    """What belongs to `daemon` (found by its unique roots, cgroup parent, bridges and subnet)."""
    mounts = frozenset(cleanup.mounts_under(daemon.exec_root, daemon.data_root))
    base = Path("/sys/fs/cgroup")
    cgroups = set()
    for hierarchy in [base, *base.iterdir()]:
        top = hierarchy / daemon.cgroup_parent.strip("/")
        if top.is_dir():
            cgroups.update(str(p) for p in top.rglob("*") if p.is_dir())
    links = set()
    for bridge in daemon.bridges():
        out = subprocess.run(["ip", "-o", "link", "show", "master", bridge], capture_output=True, text=True).stdout
        links.update(line.split(":")[1].strip().split("@")[0] for line in out.splitlines() if ":" in line)
    subnet_prefix = daemon.default_subnet.rsplit(".", 1)[0] + "."
    rules = subprocess.run(["iptables-save", "-t", "nat"], capture_output=True, text=True).stdout
    nat = {line for line in rules.splitlines() if line.startswith("-A ") and subnet_prefix in line}
    return HostState(frozenset(mounts), frozenset(cgroups), frozenset(links), frozenset(nat))
