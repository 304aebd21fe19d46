"""Pure parts of Docker's networking details: link variables and names, IPAM extras, dual-stack
CNI configuration, MAC checks."""

import json
from pathlib import Path

import pytest

from wharf import errdefs
from wharf.daemon.backend import links
from wharf.daemon.backend.networking import checked_mac, endpoint_echo
from wharf.daemon.network import ipam_extra
from wharf.daemon.network.bridge import BridgeNetwork
from wharf.daemon.network.model import NetworkRecord


def test_link_split_accepts_both_shapes() -> None:
    assert links.split("db:alias") == ("db", "alias")
    assert links.split("db") == ("db", "db")
    assert links.split("/db:/web/alias") == ("db", "alias")
    with pytest.raises(errdefs.InvalidArgument):
        links.split(":x")


def test_link_env_as_moby_writes_it() -> None:
    env = links.link_env("/web/my-db", "172.29.0.5", ["8080/tcp", "53/udp", "80/tcp"], ["FOO=1", "PATH=/x", "HOME=/"])
    assert env[0] == "MY_DB_PORT=udp://172.29.0.5:53"
    assert "MY_DB_PORT_80_TCP=tcp://172.29.0.5:80" in env
    assert "MY_DB_PORT_53_UDP_PROTO=udp" in env
    assert "MY_DB_PORT_8080_TCP_ADDR=172.29.0.5" in env
    assert "MY_DB_PORT_8080_TCP_PORT=8080" in env
    assert "MY_DB_NAME=/web/my-db" in env
    assert "MY_DB_ENV_FOO=1" in env
    assert not any("_ENV_PATH" in e or "_ENV_HOME" in e for e in env)


def test_link_env_first_port_is_the_lowest() -> None:
    env = links.link_env("/web/db", "10.0.0.2", ["8080/tcp", "80/tcp"], [])
    assert env[0] == "DB_PORT=tcp://10.0.0.2:80"
    assert links.link_env("/web/db", "10.0.0.2", [], [])[0] == "DB_NAME=/web/db"


def test_apply_env_replaces_the_last_starts_variables_and_keeps_the_containers_own() -> None:
    spec = {"process": {"env": ["PATH=/bin", "DB_NAME=mine"]}}
    links.apply_env(spec, ["DB_NAME=/web/db", "DB_ENV_X=1"])
    assert spec["process"]["env"] == ["PATH=/bin", "DB_NAME=mine", "DB_ENV_X=1"]
    assert json.loads(spec["annotations"][links.LINK_ENV_ANNOTATION]) == ["DB_ENV_X"]
    links.apply_env(spec, [])
    assert spec["process"]["env"] == ["PATH=/bin", "DB_NAME=mine"]
    assert links.LINK_ENV_ANNOTATION not in spec["annotations"]


def test_checked_mac() -> None:
    assert checked_mac("02:42:AC:11:00:02") == "02:42:ac:11:00:02"
    assert checked_mac("02-42-ac-11-00-02") == "02:42:ac:11:00:02"
    with pytest.raises(errdefs.InvalidArgument, match="invalid MAC address"):
        checked_mac("02:42:ac:11:00")


def test_endpoint_echo_keeps_what_was_given() -> None:
    given = {"IPAMConfig": {"IPv4Address": "10.0.0.9"}, "Links": ["a:b"], "DriverOpts": {"k": "v"}}
    assert endpoint_echo(given) == given
    assert endpoint_echo({}) == {"IPAMConfig": None, "Links": None, "DriverOpts": None}


def test_auxiliary_addresses_must_be_in_the_subnet() -> None:
    assert ipam_extra.checked_aux_addresses("10.5.0.0/24", {"a": "10.5.0.7"}) == {"a": "10.5.0.7"}
    with pytest.raises(errdefs.InvalidArgument, match="no matching subnet for aux-address"):
        ipam_extra.checked_aux_addresses("10.5.0.0/24", {"a": "10.6.0.7"})


def test_ipam_configs_split_by_family() -> None:
    v4, v6 = ipam_extra.split_ipam_configs([{"Subnet": "fd00:1::/64"}, {"Subnet": "10.1.0.0/24"}])
    assert v4 == {"Subnet": "10.1.0.0/24"} and v6 == {"Subnet": "fd00:1::/64"}
    assert ipam_extra.split_ipam_configs([]) == ({}, None)
    with pytest.raises(errdefs.InvalidArgument):
        ipam_extra.split_ipam_configs([{"Subnet": "10.1.0.0/24"}, {"Subnet": "10.2.0.0/24"}])


def test_apply_ipv6_and_check_ip6() -> None:
    record = NetworkRecord(id="x" * 64, name="n", driver="bridge", created="", subnet="10.1.0.0/24")
    ipam_extra.apply_ipv6(record, {"Subnet": "fd00:9::/64", "AuxiliaryAddresses": {"r": "fd00:9::5"}}, [])
    assert (record.enable_ipv6, record.subnet6, record.gateway6) == (True, "fd00:9::/64", "fd00:9::1")
    assert record.inspect([])["IPAM"]["Config"][1] == {
        "Subnet": "fd00:9::/64", "Gateway": "fd00:9::1", "AuxiliaryAddresses": {"r": "fd00:9::5"}}
    ipam_extra.check_ip6(record, "fd00:9::f00d")
    with pytest.raises(errdefs.InvalidArgument, match="no configured subnet"):
        ipam_extra.check_ip6(record, "fd00:8::1")
    without = NetworkRecord(id="y" * 64, name="m", driver="bridge", created="", subnet="10.2.0.0/24")
    ipam_extra.apply_ipv6(without, {}, [])
    assert without.subnet6.startswith("fd7a:9c3e:5b10:")


def test_reserved_addresses_are_files_in_host_locals_store(tmp_path: Path) -> None:
    ipam_extra.reserve(tmp_path / "net", {"a": "10.1.0.5"})
    assert (tmp_path / "net" / "10.1.0.5").read_text() == ipam_extra.RESERVED_BY


def test_dual_stack_conflist_has_two_ranges_and_routes(tmp_path: Path) -> None:
    bridge = BridgeNetwork(name="n", bridge="br-x", subnet="10.1.0.0/24", subnet6="fd00:9::/64",
                           gateway6="fd00:9::1", ip_range6="fd00:9::100/120")
    plugin = bridge.conflist(tmp_path)["plugins"][0]
    assert plugin["capabilities"] == {"ips": True, "mac": True}
    ranges = plugin["ipam"]["ranges"]
    assert ranges[0] == [{"subnet": "10.1.0.0/24", "gateway": "10.1.0.1"}]
    assert ranges[1] == [{"subnet": "fd00:9::/64", "gateway": "fd00:9::1", "rangeStart": "fd00:9::101",
                          "rangeEnd": "fd00:9::1ff"}]
    assert plugin["ipam"]["routes"] == [{"dst": "0.0.0.0/0"}, {"dst": "::/0"}]


def test_link_local_addresses_are_checked() -> None:
    assert ipam_extra.checked_link_local(["169.254.8.8", "fe80::8"]) == ["169.254.8.8/16", "fe80::8/64"]
    assert ipam_extra.checked_link_local(["10.0.0.1"]) == ["10.0.0.1/32"]
    with pytest.raises(errdefs.InvalidArgument, match="invalid link-local IP address: nope"):
        ipam_extra.checked_link_local(["nope"])
