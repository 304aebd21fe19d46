"""Parsing of published ports, `-v`/`--mount` specs and the files written for user networks."""

import pytest

from wharf import errdefs
from wharf.daemon.backend.container_files import hosts_text, resolv_conf_for_embedded_dns
from wharf.daemon.backend.mounts import inspect_mounts, parse_bind, parse_mount
from wharf.daemon.backend.networking import host_nameservers, port_mappings
from wharf.daemon.network.model import PortMapping


def test_port_bindings_and_publish_all() -> None:
    host_config = {"PortBindings": {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": "8080"}],
                                    "53/udp": [{"HostIp": "", "HostPort": ""}]},
                   "PublishAllPorts": True}
    config = {"ExposedPorts": {"80/tcp": {}, "9000/tcp": {}}}
    assert port_mappings(config, host_config) == [
        PortMapping(80, "tcp", "127.0.0.1", 8080), PortMapping(53, "udp", "", 0), PortMapping(9000, "tcp", "", 0),
    ]


@pytest.mark.parametrize("bindings", [
    {"80/icmp": [{}]}, {"0/tcp": [{}]}, {"x/tcp": [{}]}, {"80/tcp": [{"HostPort": "70000"}]},
    {"80/tcp": [{"HostIp": "not-an-ip", "HostPort": "80"}]},
])
def test_bad_port_bindings(bindings: dict) -> None:
    with pytest.raises(errdefs.InvalidArgument):
        port_mappings({}, {"PortBindings": bindings})


def test_binds() -> None:
    assert parse_bind("data:/var/lib/x:ro") == {
        "Type": "volume", "Name": "data", "Source": "", "Destination": "/var/lib/x", "Driver": "local",
        "Mode": "ro", "RW": False, "Propagation": "", "NoCopy": False}
    bind = parse_bind("/srv/www/:/www:rw,Z,rshared")
    assert (bind["Type"], bind["Source"], bind["RW"], bind["Mode"], bind["Propagation"]) == \
        ("bind", "/srv/www", True, "Z,rshared", "rshared")
    for bad in ("/only", "a:b", "a:/b:bogus", ":/x", "a:/b:ro,rw", "a:/"):
        with pytest.raises(errdefs.InvalidArgument):
            parse_bind(bad)


def test_mounts() -> None:
    tmpfs = parse_mount({"Type": "tmpfs", "Target": "/t", "TmpfsOptions": {"SizeBytes": 1024, "Mode": 0o1777}})
    assert tmpfs["TmpfsOptions"] == ["size=1024", "mode=1777"]
    volume = parse_mount({"Type": "volume", "Source": "v", "Target": "/v", "ReadOnly": True,
                          "VolumeOptions": {"NoCopy": True}})
    assert volume["NoCopy"] and not volume["RW"]
    assert inspect_mounts([tmpfs]) == [{"Type": "tmpfs", "Source": "", "Destination": "/t", "Mode": "", "RW": True,
                                        "Propagation": ""}]
    for bad in ({"Type": "bind", "Target": "/x"}, {"Type": "nfs", "Target": "/x"}, {"Type": "volume", "Target": "x"},
                {"Type": "tmpfs", "Source": "a", "Target": "/x"}):
        with pytest.raises(errdefs.InvalidArgument):
            parse_mount(bad)


def test_user_network_files() -> None:
    host = "search corp.example\nnameserver 127.0.0.53\noptions edns0\n"
    assert resolv_conf_for_embedded_dns({}, host) == \
        "nameserver 127.0.0.11\nsearch corp.example\noptions edns0 ndots:0\n"
    assert resolv_conf_for_embedded_dns({"DnsSearch": ["a.b"], "DnsOptions": ["ndots:3"]}, host) == \
        "nameserver 127.0.0.11\nsearch a.b\noptions ndots:3\n"
    text = hosts_text({"ExtraHosts": ["db:10.0.0.9"]}, [("10.210.0.2", "abc")])
    assert text.endswith("10.0.0.9\tdb\n10.210.0.2\tabc\n")
    assert host_nameservers(host) == [("127.0.0.53", 53)]
