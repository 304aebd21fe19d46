"""Docker's networking details with the real docker CLI and the docker SDK: endpoint settings
echoed by inspect, MAC addresses, IPAM auxiliary addresses, moby's network names, dual-stack
(IPv6) user networks and legacy links.

Traffic goes only between the test's own containers; IPv6 uses ULA prefixes (fd00::/8)."""

import json
import secrets
import time
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from tests.fixtures.daemon import WharfDaemon


def _name() -> str:
    return "t" + secrets.token_hex(5)


def _subnet(prefix: int = 24) -> str:
    """A random IPv4 subnet away from Wharf's pools (tests run side by side)."""
    return f"10.{secrets.choice(range(220, 250))}.{secrets.randbelow(256)}.0/{prefix}"


@pytest.fixture
def client(wharf: WharfDaemon) -> Iterator[docker.APIClient]:
    api = docker.APIClient(base_url=wharf.host, version="auto", timeout=60)
    yield api
    api.close()


@pytest.fixture
def cleanup(wharf: WharfDaemon) -> Iterator[list[str]]:
    """Containers and networks (prefixed `net:`) the test made, removed afterwards."""
    made: list[str] = []
    yield made
    for ref in reversed(made):
        if ref.startswith("net:"):
            wharf.docker("network", "rm", ref[4:])
        else:
            wharf.docker("rm", "-f", ref)


def _inspect(wharf: WharfDaemon, ref: str) -> dict:
    return json.loads(wharf.docker("inspect", ref, check=True).stdout)[0]


def _run(wharf: WharfDaemon, *args: str) -> str:
    result = wharf.docker("run", *args)
    assert result.returncode == 0, result.stderr + wharf.log()
    return result.stdout.strip()


# ---- endpoint settings and MAC addresses -----------------------------------------------------


def test_endpoint_settings_are_echoed_and_the_mac_is_applied(
        wharf: WharfDaemon, client: docker.APIClient, cleanup: list[str]) -> None:
    network, subnet = _name(), _subnet()
    client.create_network(network, ipam=docker.types.IPAMConfig(pool_configs=[docker.types.IPAMPool(subnet=subnet)]))
    cleanup.append("net:" + network)
    address = subnet.replace(".0/24", ".77")
    mac = "02:42:de:ad:be:ef"
    container = client.create_container(
        "busybox", "sleep 60", networking_config=client.create_networking_config({network: client.create_endpoint_config(
            aliases=["web"], ipv4_address=address, driver_opt={"com.example.opt": "on"}, mac_address=mac,
            links=[("someone", "db")], link_local_ips=["169.254.8.8"])}),
        host_config=client.create_host_config(network_mode=network))
    cleanup.append(container["Id"])
    client.start(container)
    settings = client.inspect_container(container)["NetworkSettings"]["Networks"][network]
    assert settings["IPAMConfig"]["IPv4Address"] == address
    assert settings["IPAddress"] == address
    assert settings["DriverOpts"] == {"com.example.opt": "on"}
    assert settings["Links"] == ["someone:db"]
    assert "web" in settings["Aliases"]
    assert settings["MacAddress"] == mac
    inside = wharf.docker("exec", container["Id"], "cat", "/sys/class/net/eth0/address", check=True).stdout.strip()
    assert inside == mac
    assert settings["IPAMConfig"]["LinkLocalIPs"] == ["169.254.8.8"]
    addresses = wharf.docker("exec", container["Id"], "ip", "-o", "addr", "show", "eth0", check=True).stdout
    assert "inet 169.254.8.8/16" in addresses


def test_mac_address_of_config_applies_to_the_default_bridge(wharf: WharfDaemon, cleanup: list[str]) -> None:
    name = _name()
    cleanup.append(name)
    _run(wharf, "-d", "--name", name, "--mac-address", "02:42:ac:11:99:01", "busybox", "sleep", "60")
    settings = _inspect(wharf, name)["NetworkSettings"]
    assert settings["MacAddress"] == "02:42:ac:11:99:01"
    assert settings["Networks"]["bridge"]["MacAddress"] == "02:42:ac:11:99:01"
    inside = wharf.docker("exec", name, "cat", "/sys/class/net/eth0/address", check=True).stdout.strip()
    assert inside == "02:42:ac:11:99:01"


def test_driver_opts_given_at_connect_are_echoed(wharf: WharfDaemon, cleanup: list[str]) -> None:
    name = _name()
    cleanup.append(name)
    wharf.docker("create", "--name", name, "busybox", check=True)
    network = _name()
    wharf.docker("network", "create", network, check=True)
    cleanup.append("net:" + network)
    result = wharf.docker("network", "connect", "--driver-opt", "x=y", network, name)
    assert result.returncode == 0, result.stderr
    settings = _inspect(wharf, name)["NetworkSettings"]["Networks"][network]
    assert settings["DriverOpts"] == {"x": "y"}


# ---- IPAM and names --------------------------------------------------------------------------


def test_auxiliary_addresses_are_shown_and_never_handed_out(wharf: WharfDaemon, cleanup: list[str]) -> None:
    network, subnet = _name(), _subnet(29)  # .1 gateway, .2-.6 for hosts
    base = subnet.rsplit(".", 1)[0]
    reserved = {"a": f"{base}.2", "b": f"{base}.3", "c": f"{base}.4"}
    args = [f"--aux-address={k}={v}" for k, v in reserved.items()]
    wharf.docker("network", "create", "--subnet", subnet, *args, network, check=True)
    cleanup.append("net:" + network)
    config = _inspect(wharf, network)["IPAM"]["Config"][0]
    assert config["AuxiliaryAddresses"] == reserved
    given = set()
    for _ in range(2):
        name = _name()
        cleanup.append(name)
        _run(wharf, "-d", "--name", name, "--network", network, "busybox", "sleep", "60")
        given.add(_inspect(wharf, name)["NetworkSettings"]["Networks"][network]["IPAddress"])
    assert given == {f"{base}.5", f"{base}.6"}


def test_auxiliary_address_outside_the_subnet_is_refused(wharf: WharfDaemon) -> None:
    subnet = _subnet()
    result = wharf.docker("network", "create", "--subnet", subnet, "--aux-address", "a=192.0.2.9", _name())
    assert result.returncode != 0
    assert "no matching subnet for aux-address" in result.stderr


def test_network_names_as_moby_allows_them(wharf: WharfDaemon) -> None:
    name = f"t {secrets.token_hex(3)} 01"
    created = wharf.docker("network", "create", name)
    assert created.returncode == 0, created.stderr
    try:
        assert _inspect(wharf, name)["Name"] == name
    finally:
        assert wharf.docker("network", "rm", name).returncode == 0


# ---- IPv6 ------------------------------------------------------------------------------------


def _ipv6_usable() -> bool:
    path = Path("/proc/sys/net/ipv6/conf/all/disable_ipv6")
    return path.exists() and path.read_text().strip() == "0"


@pytest.mark.skipif(not _ipv6_usable(), reason="the kernel has IPv6 disabled (or no IPv6 at all)")
def test_dual_stack_user_network(wharf: WharfDaemon, cleanup: list[str]) -> None:
    network = _name()
    # Never fd00::/64 (hosts use it); a random /64 of fd00::/16 otherwise.
    prefix = f"fd00:{1 + secrets.randbelow(0xfffe):x}:{secrets.randbelow(0xffff):x}:{secrets.randbelow(0xffff):x}"
    result = wharf.docker("network", "create", "--ipv6", "--subnet", f"{prefix}::/64", network)
    assert result.returncode == 0, result.stderr
    cleanup.append("net:" + network)
    inspected = _inspect(wharf, network)
    assert inspected["EnableIPv6"] is True
    assert {c["Subnet"] for c in inspected["IPAM"]["Config"]} >= {f"{prefix}::/64"}
    server, client = _name(), _name()
    cleanup += [server, client]
    _run(wharf, "-d", "--name", server, "--network", network, "--ip6", f"{prefix}::f00d", "busybox", "sleep", "60")
    settings = _inspect(wharf, server)["NetworkSettings"]["Networks"][network]
    assert settings["GlobalIPv6Address"] == f"{prefix}::f00d"
    assert settings["GlobalIPv6PrefixLen"] == 64
    assert settings["IPv6Gateway"] == f"{prefix}::1"
    assert settings["IPAMConfig"]["IPv6Address"] == f"{prefix}::f00d"
    assert settings["IPAddress"]  # dual stack: IPv4 too
    containers = _inspect(wharf, network)["Containers"]
    assert containers[_inspect(wharf, server)["Id"]]["IPv6Address"] == f"{prefix}::f00d/64"
    _run(wharf, "-d", "--name", client, "--network", network, "busybox", "sleep", "60")
    ping = wharf.docker("exec", client, "ping", "-6", "-c", "1", "-W", "5", f"{prefix}::f00d")
    assert ping.returncode == 0, ping.stdout + ping.stderr
    # By name: the embedded DNS answers AAAA with the IPv6 address; the hosts file has it too.
    by_name = wharf.docker("exec", client, "ping", "-6", "-c", "1", "-W", "5", server)
    assert by_name.returncode == 0 and f"{prefix}::f00d" in by_name.stdout, by_name.stdout + by_name.stderr
    hosts = wharf.docker("exec", server, "cat", "/etc/hosts", check=True).stdout
    assert f"{prefix}::f00d\t" in hosts


def test_ip6_outside_the_ipv6_subnet_is_refused(wharf: WharfDaemon, cleanup: list[str]) -> None:
    network = _name()
    wharf.docker("network", "create", network, check=True)
    cleanup.append("net:" + network)
    result = wharf.docker("create", "--network", network, "--ip6", "fd00:1::5", "busybox")
    assert result.returncode != 0
    assert "no configured subnet or ip-range contain the IP address fd00:1::5" in result.stderr


# ---- legacy links ----------------------------------------------------------------------------


def test_legacy_link_on_the_default_bridge(wharf: WharfDaemon, client: docker.APIClient, cleanup: list[str]) -> None:
    target, parent = _name(), _name()
    cleanup += [parent, target]
    _run(wharf, "-d", "--name", target, "-e", "FOO=bar", "--expose", "8080", "--expose", "80/udp", "--expose", "80",
         "busybox", "sleep", "120")
    target_ip = _inspect(wharf, target)["NetworkSettings"]["Networks"]["bridge"]["IPAddress"]
    _run(wharf, "-d", "--name", parent, "--link", f"{target}:db", "busybox", "sh", "-c", "env; sleep 120")
    env = _logs_when_written(wharf, parent, "DB_").splitlines()
    assert f"DB_NAME=/{parent}/db" in env
    assert "DB_ENV_FOO=bar" in env
    assert f"DB_PORT=tcp://{target_ip}:80" in env
    assert f"DB_PORT_8080_TCP=tcp://{target_ip}:8080" in env
    assert f"DB_PORT_80_UDP_ADDR={target_ip}" in env
    assert "DB_PORT_8080_TCP_PORT=8080" in env and "DB_PORT_80_UDP_PROTO=udp" in env
    hosts = wharf.docker("exec", parent, "cat", "/etc/hosts", check=True).stdout
    target_id = _inspect(wharf, target)["Id"]
    assert f"{target_ip}\tdb {target_id[:12]} {target}\n" in hosts
    assert wharf.docker("exec", parent, "ping", "-c", "1", "-W", "5", "db").returncode == 0
    exec_env = wharf.docker("exec", parent, "env", check=True).stdout.splitlines()  # moby gives execs the links too
    assert f"DB_NAME=/{parent}/db" in exec_env and "DB_ENV_FOO=bar" in exec_env
    assert _inspect(wharf, parent)["HostConfig"]["Links"] == [f"/{target}:/{parent}/db"]
    names = {tuple(c["Names"]) for c in client.containers(all=True)}
    assert (f"/{target}", f"/{parent}/db") in names

    # A stopped target: the parent cannot start (Docker's words).
    wharf.docker("stop", "-t", "0", parent, check=True)
    wharf.docker("stop", "-t", "0", target, check=True)
    refused = wharf.docker("start", parent)
    assert refused.returncode != 0
    assert f"Cannot link to a non running container: /{target} AS /{parent}/db" in refused.stderr

    # `docker rm --link`: only the link goes; the next start has no link variables.
    not_a_link = wharf.docker("rm", "--link", parent)
    assert not_a_link.returncode != 0 and "cannot remove the default link name" in not_a_link.stderr
    removed = wharf.docker("rm", "--link", f"{parent}/db")
    assert removed.returncode == 0, removed.stderr
    assert not _inspect(wharf, parent)["HostConfig"]["Links"]
    assert wharf.docker("start", parent).returncode == 0
    env = _logs_when_written(wharf, parent, "HOSTNAME=", occurrences=2)
    assert env.count("DB_NAME") == 1  # the first start's output only
    assert wharf.docker("inspect", target).returncode == 0


def _logs_when_written(wharf: WharfDaemon, name: str, marker: str, occurrences: int = 1) -> str:
    for _ in range(50):
        text = wharf.docker("logs", name, check=True).stdout
        if text.count(marker) >= occurrences:
            return text
        time.sleep(0.1)
    raise AssertionError(f"{name} wrote no {marker!r}: {text}")


def test_link_to_a_missing_container_is_refused_at_create(wharf: WharfDaemon) -> None:
    result = wharf.docker("create", "--link", f"{_name()}:db", "busybox")
    assert result.returncode != 0
    assert "could not get container for" in result.stderr


def test_link_on_a_user_network_is_a_dns_alias(wharf: WharfDaemon, cleanup: list[str]) -> None:
    network, target, parent = _name(), _name(), _name()
    wharf.docker("network", "create", network, check=True)
    cleanup += ["net:" + network, target, parent]
    _run(wharf, "-d", "--name", parent, "--network", network, "--link", f"{target}:dbalias", "busybox", "sleep", "60")
    # The target may come later (as in Docker): the alias resolves once it is there.
    _run(wharf, "-d", "--name", target, "--network", network, "busybox", "sleep", "60")
    target_ip = _inspect(wharf, target)["NetworkSettings"]["Networks"][network]["IPAddress"]
    assert _inspect(wharf, parent)["NetworkSettings"]["Networks"][network]["Links"] == [f"{target}:dbalias"]
    looked_up = wharf.docker("exec", parent, "nslookup", "dbalias")
    assert target_ip in looked_up.stdout, looked_up.stdout + looked_up.stderr
    # Only for the container with the link.
    other = wharf.docker("exec", target, "nslookup", "dbalias")
    assert target_ip not in other.stdout


def test_force_disconnect_of_a_running_container_not_on_the_network_fails(
        wharf: WharfDaemon, cleanup: list[str]) -> None:
    network, name = _name(), _name()
    wharf.docker("network", "create", network, check=True)
    cleanup += ["net:" + network, name]
    _run(wharf, "-d", "--name", name, "busybox", "sleep", "60")
    wharf.docker("network", "connect", network, name, check=True)
    assert wharf.docker("network", "disconnect", "-f", network, name).returncode == 0
    again = wharf.docker("network", "disconnect", "-f", network, name)
    assert again.returncode != 0 and "is not connected to network" in again.stderr
    wharf.docker("stop", "-t", "0", name, check=True)
    assert wharf.docker("network", "disconnect", "-f", network, name).returncode == 0  # stopped: no error


@pytest.mark.skipif(not _ipv6_usable(), reason="the kernel has IPv6 disabled (or no IPv6 at all)")
def test_ipv6_network_without_a_subnet_gets_a_ula_64(wharf: WharfDaemon, cleanup: list[str]) -> None:
    network = _name()
    result = wharf.docker("network", "create", "--ipv6", network)
    assert result.returncode == 0, result.stderr
    cleanup.append("net:" + network)
    subnets = [c["Subnet"] for c in _inspect(wharf, network)["IPAM"]["Config"]]
    assert len(subnets) == 2 and subnets[1].startswith("fd7a:9c3e:5b10:") and subnets[1].endswith("::/64")
