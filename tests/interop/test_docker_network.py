"""Networks with the real docker CLI: the default bridge, user networks with names (embedded DNS),
published ports, none/host modes, live connect/disconnect, and Docker's errors for bad input.

Traffic goes only to 127.0.0.0/8 and to the test's own containers."""

import json
import os
import secrets
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures.daemon import WharfDaemon

WEB = "mkdir -p /www && echo hello from {name} > /www/index.html && exec httpd -f -p 80 -h /www"


def _name() -> str:
    return "t" + secrets.token_hex(5)


@pytest.fixture
def network(wharf: WharfDaemon) -> Iterator[str]:
    name = _name()
    wharf.docker("network", "create", name, check=True)
    yield name
    wharf.docker("network", "rm", name)


def _web(wharf: WharfDaemon, name: str, *args: str) -> str:
    result = wharf.docker("run", "-d", "--name", name, *args, "busybox", "sh", "-c", WEB.format(name=name))
    assert result.returncode == 0, result.stderr + wharf.log()
    return result.stdout.strip()


def _inspect(wharf: WharfDaemon, ref: str) -> dict:
    return json.loads(wharf.docker("inspect", ref, check=True).stdout)[0]


def _other_daemons_bridges(wharf: WharfDaemon) -> set[str]:
    """Bridges that test daemons of other tests (running beside this one) made."""
    found = set()
    for path in Path("/var/tmp").glob("wharf-test-*/network/networks/*.json"):
        if not str(path).startswith(wharf.data_root + "/"):
            try:
                found.add(json.loads(path.read_text()).get("bridge") or "")
            except (OSError, ValueError):
                continue
    return found


def _new_links(wharf: WharfDaemon, before: set[str]) -> set[str]:
    """Links made since `before`, leaving out other test daemons' bridges and containers' veths."""
    return {link for link in _host_links() - before
            if not link.startswith("veth") and link not in _other_daemons_bridges(wharf)}


def _host_links() -> set[str]:
    out = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
    return {line.split(":")[1].strip().split("@")[0] for line in out.splitlines()}


def _get(url: str, attempts: int = 30) -> str:
    for _ in range(attempts):
        try:
            return urllib.request.urlopen(url, timeout=2).read().decode()
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"{url} did not answer")


def test_default_bridge_gives_eth0_an_address(wharf: WharfDaemon) -> None:
    result = wharf.docker("run", "--rm", "busybox", "ip", "-o", "-4", "addr", "show", "eth0")
    assert result.returncode == 0, result.stderr
    assert "inet 172.29." in result.stdout
    name = _name()
    wharf.docker("run", "-d", "--name", name, "busybox", "sleep", "60", check=True)
    try:
        settings = _inspect(wharf, name)["NetworkSettings"]
        assert settings["IPAddress"].startswith("172.29.")
        assert settings["Networks"]["bridge"]["IPAddress"] == settings["IPAddress"]
        assert settings["Gateway"] and settings["MacAddress"] and settings["IPPrefixLen"] == 24
        assert settings["SandboxKey"] == f"{wharf.exec_root}/network/netns/{_inspect(wharf, name)['Id']}"
    finally:
        wharf.docker("rm", "-f", name, check=True)
    hosts = wharf.docker("run", "--rm", "--hostname", "box", "--add-host", "db:10.1.2.3", "busybox",
                         "cat", "/etc/hosts", check=True).stdout
    assert hosts.startswith("127.0.0.1\tlocalhost\n")
    assert "10.1.2.3\tdb\n" in hosts and hosts.splitlines()[-1].endswith("\tbox")


def test_stopped_container_leaves_no_namespace(wharf: WharfDaemon) -> None:
    name = _name()
    wharf.docker("run", "--name", name, "busybox", "true", check=True)
    try:
        settings = _inspect(wharf, name)["NetworkSettings"]
        assert settings["IPAddress"] == "" and "bridge" in settings["Networks"]
        container_id = _inspect(wharf, name)["Id"]
        assert not os.path.exists(f"{wharf.exec_root}/network/netns/{container_id}")
    finally:
        wharf.docker("rm", name, check=True)


def test_user_network_names_resolve(wharf: WharfDaemon, network: str) -> None:
    web = _name()
    _web(wharf, web, "--network", network, "--network-alias", "site")
    try:
        for host in (web, "site"):
            result = wharf.docker("run", "--rm", "--network", network, "busybox", "wget", "-qO-", f"http://{host}/")
            assert result.returncode == 0, result.stderr
            assert result.stdout == f"hello from {web}\n"
        resolv = wharf.docker("run", "--rm", "--network", network, "busybox", "cat", "/etc/resolv.conf").stdout
        assert "nameserver 127.0.0.11" in resolv
        inspected = json.loads(wharf.docker("network", "inspect", network, check=True).stdout)[0]
        assert any(c["Name"] == web for c in inspected["Containers"].values())
        # The default bridge has no name resolution, as in Docker.
        result = wharf.docker("run", "--rm", "busybox", "timeout", "5", "wget", "-qO-", f"http://{web}/")
        assert result.returncode != 0
    finally:
        wharf.docker("rm", "-f", web, check=True)


def test_published_ports_answer_on_loopback(wharf: WharfDaemon) -> None:
    web = _name()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        fixed = probe.getsockname()[1]
    container_id = _web(wharf, web, "-p", f"127.0.0.1:{fixed}:80", "-p", "80")
    try:
        assert _get(f"http://127.0.0.1:{fixed}/") == f"hello from {web}\n"
        ports = wharf.docker("port", web, check=True).stdout
        random_line = next(line for line in ports.splitlines() if "0.0.0.0" in line)
        random_port = int(random_line.rsplit(":", 1)[1])
        assert f"80/tcp -> 127.0.0.1:{fixed}" in ports
        assert _get(f"http://127.0.0.1:{random_port}/") == f"hello from {web}\n"
        listed = wharf.docker("ps", "--filter", f"name={web}", "--format", "{{.Ports}}", check=True).stdout
        assert f"127.0.0.1:{fixed}->80/tcp" in listed
    finally:
        wharf.docker("rm", "-f", web, check=True)
    # The port rules went with the container.
    rules = subprocess.run(["iptables-save", "-t", "nat"], capture_output=True, text=True).stdout
    assert container_id not in rules


def test_taken_host_port_fails_the_start_and_leaves_nothing(wharf: WharfDaemon) -> None:
    name = _name()
    before = _host_links()
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = wharf.docker("run", "-d", "--name", name, "-p", f"127.0.0.1:{port}:80", "busybox", "sleep", "60")
    try:
        assert result.returncode != 0
        assert "port is already allocated" in result.stderr
        state = _inspect(wharf, name)["State"]
        assert not state["Running"]
        assert _new_links(wharf, before) == set()
        container_id = _inspect(wharf, name)["Id"]
        assert not os.path.exists(f"{wharf.exec_root}/network/netns/{container_id}")
        # No address stays reserved for it.
        reserved = [p for p in Path(wharf.data_root, "network", "ipam").rglob("*")
                    if p.is_file() and container_id in p.read_text(errors="replace")]
        assert reserved == []
        # The task created while the network was connected went too: once the port is free, the
        # container starts (a task left behind would be found and deleted first, see containers_start).
        assert not Path(wharf.exec_root, "containerd", "bundles", container_id).exists()
        started = wharf.docker("start", name)
        assert started.returncode == 0, started.stderr
    finally:
        wharf.docker("rm", "-f", name)


def test_none_has_only_loopback_and_host_sees_host_interfaces(wharf: WharfDaemon) -> None:
    result = wharf.docker("run", "--rm", "--network", "none", "busybox", "ip", "-o", "link")
    assert result.returncode == 0, result.stderr
    links = [line.split(":")[1].strip() for line in result.stdout.splitlines()]
    assert links == ["lo"]
    result = wharf.docker("run", "--rm", "--network", "host", "busybox", "ip", "-o", "link")
    assert result.returncode == 0, result.stderr
    seen = {line.split(":")[1].strip().split("@")[0] for line in result.stdout.splitlines()}
    assert _host_links() & seen - {"lo"}


def test_connect_and_disconnect_change_reachability_live(wharf: WharfDaemon, network: str) -> None:
    web, client = _name(), _name()
    _web(wharf, web, "--network", network)
    wharf.docker("run", "-d", "--name", client, "busybox", "sleep", "120", check=True)
    fetch = ["exec", client, "timeout", "5", "wget", "-qO-", f"http://{web}/"]
    try:
        if wharf.docker("exec", client, "true").returncode != 0:
            pytest.skip("docker exec is not available yet")
        assert wharf.docker(*fetch).returncode != 0
        wharf.docker("network", "connect", "--alias", "buddy", network, client, check=True)
        result = wharf.docker(*fetch)
        assert result.returncode == 0, result.stderr
        networks = _inspect(wharf, client)["NetworkSettings"]["Networks"]
        assert set(networks) == {"bridge", network}
        wharf.docker("network", "disconnect", network, client, check=True)
        assert wharf.docker(*fetch).returncode != 0
        assert set(_inspect(wharf, client)["NetworkSettings"]["Networks"]) == {"bridge"}
    finally:
        wharf.docker("rm", "-f", web, client)


def test_static_ip_on_a_user_network(wharf: WharfDaemon) -> None:
    name, box = _name(), _name()
    wharf.docker("network", "create", "--subnet", "10.213.7.0/24", "--gateway", "10.213.7.1", name, check=True)
    try:
        result = wharf.docker("run", "--rm", "--name", box, "--network", name, "--ip", "10.213.7.50", "busybox",
                              "ip", "-o", "-4", "addr", "show", "eth0")
        assert result.returncode == 0, result.stderr
        assert "10.213.7.50/24" in result.stdout
        inspected = json.loads(wharf.docker("network", "inspect", name, check=True).stdout)[0]
        assert inspected["IPAM"]["Config"] == [{"Subnet": "10.213.7.0/24", "Gateway": "10.213.7.1"}]
    finally:
        wharf.docker("network", "rm", name, check=True)


def test_bad_input_gives_dockers_errors_and_leaves_nothing(wharf: WharfDaemon) -> None:
    first, second = _name(), _name()
    before = _host_links()
    wharf.docker("network", "create", "--subnet", "10.214.9.0/24", first, check=True)
    try:
        result = wharf.docker("network", "create", "--subnet", "10.214.9.128/25", second)
        assert result.returncode != 0 and "Pool overlaps with other one on this address space" in result.stderr
        result = wharf.docker("network", "create", "--subnet", "10.300.0.0/24", second)
        assert result.returncode != 0 and "invalid CIDR address: 10.300.0.0/24" in result.stderr
        result = wharf.docker("network", "create", first)
        assert result.returncode != 0 and f"network with name {first} already exists" in result.stderr
        result = wharf.docker("run", "--rm", "-p", "99999:80", "busybox", "true")
        assert result.returncode != 0 and "invalid" in result.stderr.lower()
        result = wharf.docker("run", "--rm", "--network", "no-such-net", "busybox", "true")
        assert result.returncode != 0
        assert "failed to set up container networking: network no-such-net not found" in result.stderr
        names = wharf.docker("network", "ls", "--format", "{{.Name}}", check=True).stdout.split()
        assert second not in names
    finally:
        wharf.docker("network", "rm", first, check=True)
    assert _new_links(wharf, before) == set()
    assert not list(Path(wharf.data_root, "network", "networks").glob("*.tmp"))


def test_network_in_use_cannot_be_removed_and_prune(wharf: WharfDaemon, network: str) -> None:
    name = _name()
    wharf.docker("run", "-d", "--name", name, "--network", network, "busybox", "sleep", "60", check=True)
    try:
        result = wharf.docker("network", "rm", network)
        assert result.returncode != 0 and "has active endpoints" in result.stderr
    finally:
        wharf.docker("rm", "-f", name, check=True)
    spare = _name()
    wharf.docker("network", "create", "--label", "purpose=prune", spare, check=True)
    result = wharf.docker("network", "prune", "-f", "--filter", "label=purpose=prune", check=True)
    assert spare in result.stdout
    assert network in wharf.docker("network", "ls", "--format", "{{.Name}}", check=True).stdout.split()


def test_network_state_survives_a_daemon_restart(fresh_wharf: WharfDaemon) -> None:
    daemon = fresh_wharf
    net, web, quitter = _name(), _name(), _name()
    daemon.docker("network", "create", net, check=True)
    _web(daemon, web, "--network", net)
    daemon.docker("run", "-d", "--name", quitter, "--network", net, "busybox", "sh", "-c",
                  "while [ ! -e /tmp/go ]; do sleep 0.05; done", check=True)
    address = _inspect(daemon, web)["NetworkSettings"]["Networks"][net]["IPAddress"]
    quitter_info = _inspect(daemon, quitter)
    daemon.kill_daemons()
    Path(f"/proc/{quitter_info['State']['Pid']}/root/tmp/go").touch()
    for _ in range(200):
        if not Path(f"/proc/{quitter_info['State']['Pid']}").exists():
            break
        time.sleep(0.025)
    daemon.start()

    assert _inspect(daemon, web)["NetworkSettings"]["Networks"][net]["IPAddress"] == address
    result = daemon.docker("run", "--rm", "--network", net, "busybox", "wget", "-qO-", f"http://{web}/")
    assert result.returncode == 0 and result.stdout == f"hello from {web}\n", result.stderr
    # The running container's own resolver is served again by the new daemon.
    result = daemon.docker("exec", web, "nslookup", web)
    if "unknown command" not in result.stderr:
        assert result.returncode == 0 and address in result.stdout, result.stdout + result.stderr
    # The container that exited meanwhile released its namespace and address.
    assert not os.path.exists(f"{daemon.exec_root}/network/netns/{quitter_info['Id']}")
    assert _inspect(daemon, quitter)["NetworkSettings"]["Networks"][net]["IPAddress"] == ""


def test_restart_reconnects_and_container_mode_shares_the_namespace(wharf: WharfDaemon, network: str) -> None:
    web, peer = _name(), _name()
    _web(wharf, web, "--network", network)
    try:
        wharf.docker("restart", "-t", "1", web, check=True)
        result = wharf.docker("run", "--rm", "--network", network, "busybox", "wget", "-qO-", f"http://{web}/")
        assert result.returncode == 0, result.stderr
        # A container in the web container's namespace reaches its server on localhost.
        result = wharf.docker("run", "--rm", "--name", peer, "--network", f"container:{web}", "busybox",
                              "wget", "-qO-", "http://127.0.0.1/")
        assert result.returncode == 0 and result.stdout == f"hello from {web}\n", result.stderr
    finally:
        wharf.docker("rm", "-f", web)


def test_publish_all_and_network_events(wharf: WharfDaemon) -> None:
    name, net = _name(), _name()
    since = str(int(time.time()) - 1)
    wharf.docker("network", "create", net, check=True)
    wharf.docker("create", "--name", name, "--expose", "8080", "-P", "--network", net, "busybox",
                 "sleep", "60", check=True)
    try:
        wharf.docker("start", name, check=True)
        ports = _inspect(wharf, name)["NetworkSettings"]["Ports"]
        assert list(ports) == ["8080/tcp"] and int(ports["8080/tcp"][0]["HostPort"]) > 0
    finally:
        wharf.docker("rm", "-f", name, check=True)
        wharf.docker("network", "rm", net, check=True)
    until = str(int(time.time()) + 1)
    events = wharf.docker("events", "--since", since, "--until", until, "--filter", "type=network",
                          "--format", "{{.Action}} {{.Actor.Attributes.name}}", check=True).stdout.splitlines()
    assert [e for e in events if e.endswith(net)] == [f"{a} {net}" for a in ("create", "connect", "disconnect",
                                                                                "destroy")]


def test_host_mode_files_dns_options_and_internal_networks(wharf: WharfDaemon) -> None:
    result = wharf.docker("run", "--rm", "--network", "host", "busybox", "hostname", check=True)
    assert result.stdout.strip() == os.uname().nodename
    resolv = wharf.docker("run", "--rm", "--dns", "10.9.8.7", "--dns-search", "example.test",
                          "--dns-option", "ndots:2", "busybox", "cat", "/etc/resolv.conf", check=True).stdout
    assert resolv.splitlines() == ["nameserver 10.9.8.7", "search example.test", "options ndots:2"]
    internal = _name()
    wharf.docker("network", "create", "--internal", internal, check=True)
    try:
        routes = wharf.docker("run", "--rm", "--network", internal, "busybox", "ip", "route", check=True).stdout
        assert "default" not in routes
        assert json.loads(wharf.docker("network", "inspect", internal, check=True).stdout)[0]["Internal"] is True
    finally:
        wharf.docker("network", "rm", internal, check=True)


def test_user_network_forwards_other_names_to_the_containers_dns(wharf: WharfDaemon, network: str) -> None:
    from dnslib import QTYPE, RR, A, DNSRecord

    address = f"127.0.{secrets.randbelow(200) + 20}.{secrets.randbelow(200) + 20}"
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as upstream:
        try:
            upstream.bind((address, 53))
        except OSError as err:
            pytest.skip(f"cannot bind a stand-in resolver on {address}:53: {err}")
        upstream.settimeout(0.2)
        lookup = subprocess.Popen(
            ["docker", "run", "--rm", "--network", network, "--dns", address, "busybox", "nslookup",
             "outside.test"], env=wharf.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 30
        while lookup.poll() is None and time.monotonic() < deadline:
            try:
                data, peer = upstream.recvfrom(4096)
            except TimeoutError:
                continue
            request = DNSRecord.parse(data)
            reply = request.reply()
            if str(request.q.qname).rstrip(".") == "outside.test" and request.q.qtype == QTYPE.A:
                reply.add_answer(RR(request.q.qname, QTYPE.A, rdata=A("10.77.0.7"), ttl=30))
            upstream.sendto(reply.pack(), peer)
        out, err = lookup.communicate(timeout=30)
    assert "10.77.0.7" in out, out + err
