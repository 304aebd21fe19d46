"""Request bodies are read as Go reads them into moby's structs: field names without case."""

from wharf.daemon.routers.go_json import canonical_keys


def test_field_names_match_without_case() -> None:
    body = canonical_keys({"image": "busybox", "hostconfig": {"autoremove": True}, "detachKeys": "ctrl-p"})
    assert body == {"Image": "busybox", "HostConfig": {"AutoRemove": True}, "DetachKeys": "ctrl-p"}


def test_keys_of_maps_are_data_and_keep_their_case() -> None:
    body = canonical_keys({
        "Labels": {"Image": "x", "com.Example": "y"},
        "ExposedPorts": {"80/tcp": {}},
        "HostConfig": {"LogConfig": {"Type": "json-file", "Config": {"Max-Size": "1m"}},
                       "Sysctls": {"net.ipv4.IP_forward": "1"}},
    })
    assert body["Labels"] == {"Image": "x", "com.Example": "y"}
    assert body["HostConfig"]["LogConfig"]["Config"] == {"Max-Size": "1m"}
    assert body["HostConfig"]["Sysctls"] == {"net.ipv4.IP_forward": "1"}


def test_maps_of_structs_keep_their_keys_and_canonicalize_their_values() -> None:
    body = canonical_keys({
        "networkingconfig": {"endpointsconfig": {"MyNet": {"aliases": ["web"], "ipamconfig": {"ipv4address": "10.0.0.2"}}}},
        "hostconfig": {"portbindings": {"80/tcp": [{"hostip": "127.0.0.1", "hostport": "8080"}]}},
    })
    assert body["NetworkingConfig"]["EndpointsConfig"] == {
        "MyNet": {"Aliases": ["web"], "IPAMConfig": {"IPv4Address": "10.0.0.2"}}
    }
    assert body["HostConfig"]["PortBindings"] == {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": "8080"}]}


def test_later_duplicates_win_as_in_go() -> None:
    assert canonical_keys({"Tty": True, "tty": False}) == {"Tty": False}


def test_unknown_keys_and_non_objects_pass_through() -> None:
    assert canonical_keys({"SomethingNew": {"inner": 1}}) == {"SomethingNew": {"inner": 1}}
    assert canonical_keys([1, "a", None]) == [1, "a", None]
