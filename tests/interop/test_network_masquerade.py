"""Masquerading as Docker does it: one rule per (non-internal) bridge network in Wharf's own nat
chain, from daemon start / `network create` to `network rm`; nothing per container."""

import secrets
import subprocess

from tests.fixtures.daemon import WharfDaemon
from wharf.daemon.network import masquerade


def _nat_rules() -> list[str]:
    return subprocess.run(["iptables-save", "-t", "nat"], capture_output=True, text=True, check=True).stdout.splitlines()


def _rules_for(bridge: str) -> list[str]:
    return [line for line in _nat_rules() if line.startswith(f"-A {masquerade.CHAIN} ") and f"! -o {bridge} " in line]


def _inspect_network(wharf: WharfDaemon, name: str, field: str) -> str:
    return wharf.docker("network", "inspect", "-f", field, name, check=True).stdout.strip()


def _bridge_of(wharf: WharfDaemon, name: str) -> str:
    network_id = _inspect_network(wharf, name, "{{.Id}}")
    return f"wbr-{network_id[:11]}"


def test_the_default_bridge_is_masqueraded_from_daemon_start(wharf: WharfDaemon) -> None:
    rules = _rules_for(wharf.bridge)
    assert len(rules) == 1
    assert f"-s {wharf.default_subnet} " in rules[0] and "-j MASQUERADE" in rules[0]
    assert f"-A POSTROUTING -j {masquerade.CHAIN}" in _nat_rules()


def test_a_network_has_one_rule_until_it_is_removed_and_containers_add_none(wharf: WharfDaemon) -> None:
    name = "m" + secrets.token_hex(5)
    wharf.docker("network", "create", name, check=True)
    try:
        bridge = _bridge_of(wharf, name)
        subnet = _inspect_network(wharf, name, "{{(index .IPAM.Config 0).Subnet}}")
        assert [f"-s {subnet} " in rule for rule in _rules_for(bridge)] == [True]
        before = set(_nat_rules())
        started = wharf.docker("run", "-d", "--network", name, "busybox", "sleep", "60")
        assert started.returncode == 0, started.stderr + wharf.log()[-3000:]
        container = started.stdout.strip()
        try:
            # No per-container NAT chain or rule (CNI's ipMasq made one per container).
            assert not [line for line in set(_nat_rules()) - before if container in line]
        finally:
            wharf.docker("rm", "-f", container, check=True)
    finally:
        wharf.docker("network", "rm", name, check=True)
    assert _rules_for(bridge) == []


def test_an_internal_network_is_not_masqueraded(wharf: WharfDaemon) -> None:
    name = "m" + secrets.token_hex(5)
    wharf.docker("network", "create", "--internal", name, check=True)
    try:
        assert _rules_for(_bridge_of(wharf, name)) == []
    finally:
        wharf.docker("network", "rm", name, check=True)


def test_ensure_is_idempotent_and_remove_takes_every_copy() -> None:
    bridge = "wtm" + secrets.token_hex(4)
    subnet = f"198.18.{secrets.randbelow(250) + 1}.0/24"
    try:
        masquerade.ensure(subnet, bridge)
        masquerade.ensure(subnet, bridge)
        assert len(_rules_for(bridge)) == 1
    finally:
        masquerade.remove(subnet, bridge)
    assert _rules_for(bridge) == []
