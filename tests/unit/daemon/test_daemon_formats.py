"""Small formats: times, human durations, statuses, resolv.conf, import changes, reference lookups."""

import pytest

from wharf.api.units import human_duration
from wharf.daemon.backend.container_files import resolv_conf_text
from wharf.daemon.backend.image_changes import apply_changes
from wharf.daemon.backend.state import ContainerState, Status
from wharf.daemon.backend.timefmt import now_ns, parse_rfc3339, rfc3339nano
from wharf.daemon.server.versions import at_least


def test_rfc3339nano_round_trip() -> None:
    assert rfc3339nano(0) == "0001-01-01T00:00:00Z"
    assert rfc3339nano(1_700_000_000_000_000_000) == "2023-11-14T22:13:20Z"
    assert rfc3339nano(1_700_000_000_120_000_000) == "2023-11-14T22:13:20.12Z"
    for ns in (1_700_000_000_000_000_001, 1_700_000_000_123_456_789):
        assert parse_rfc3339(rfc3339nano(ns)) == ns
    assert parse_rfc3339("2023-11-14T23:13:20+01:00") == 1_700_000_000_000_000_000
    assert parse_rfc3339("0001-01-01T00:00:00Z") == 0
    assert parse_rfc3339("2016-12-31T23:59:60Z") == 1_483_228_800_000_000_000  # a leap second, as strptime
    assert parse_rfc3339("1901-12-13T20:45:52.5Z") == -2_147_483_647_500_000_000
    with pytest.raises(ValueError):
        parse_rfc3339("2023-02-30T00:00:00Z")


def test_human_durations_like_go_units() -> None:
    assert human_duration(0.4) == "Less than a second"
    assert human_duration(1) == "1 second"
    assert human_duration(59) == "59 seconds"
    assert human_duration(60) == "About a minute"
    assert human_duration(47 * 60) == "47 minutes"
    assert human_duration(3600) == "About an hour"
    assert human_duration(5 * 3600) == "5 hours"
    assert human_duration(3 * 86400) == "3 days"


def test_status_column() -> None:
    state = ContainerState()
    assert state.describe() == "Created"
    state.set_running(42)
    assert state.describe() == "Up Less than a second"
    state.set_exited(3, now_ns() - 2_500_000_000)
    assert state.describe() == "Exited (3) 2 seconds ago"
    assert state.status is Status.EXITED and state.pid == 0
    assert ContainerState.from_api(state.to_api()) == state


def test_resolv_conf_drops_loopback_nameservers() -> None:
    host = "search example.com\nnameserver 127.0.0.53\nnameserver 10.0.0.2\n"
    assert resolv_conf_text({}, host) == "search example.com\nnameserver 10.0.0.2\n"
    assert "nameserver 8.8.8.8" in resolv_conf_text({}, "nameserver 127.0.0.1\n")
    assert resolv_conf_text({"NetworkMode": "host"}, host) == host
    custom = resolv_conf_text({"Dns": ["1.1.1.1"], "DnsSearch": ["a.b"]}, host)
    assert custom == "nameserver 1.1.1.1\nsearch a.b\n"


def test_import_changes() -> None:
    config = apply_changes({}, ['CMD ["sh"]', "ENTRYPOINT /init", "ENV A=1 B=two", "ENV C 3", "EXPOSE 80",
                                "LABEL k=v", "WORKDIR /w", "USER nobody", "STOPSIGNAL SIGINT"])
    assert config["Cmd"] == ["sh"] and config["Entrypoint"] == ["/bin/sh", "-c", "/init"]
    assert config["Env"] == ["A=1", "B=two", "C=3"]
    assert config["ExposedPorts"] == {"80/tcp": {}} and config["Labels"] == {"k": "v"}
    assert config["WorkingDir"] == "/w" and config["User"] == "nobody" and config["StopSignal"] == "SIGINT"


def test_api_version_compare() -> None:
    assert at_least("1.42", "1.42") and at_least("1.51", "1.42") and not at_least("1.9", "1.42")
