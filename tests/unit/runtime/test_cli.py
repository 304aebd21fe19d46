"""The command line: flag parsing, signal names, usage errors (no container is made)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from wharf.runtime import cli
from wharf.runtime.operations import parse_signal


def test_go_style_flags() -> None:
    flags, rest = cli.parse_flags(["--root", "/r", "-log=/l", "--debug", "create", "--bundle", "x"],
                                  cli._GLOBAL_FLAGS, cli._SHORT, stop_at_positional=True)
    assert flags == {"root": "/r", "log": "/l", "debug": True}
    assert rest == ["create", "--bundle", "x"]
    flags, rest = cli.parse_flags(["-b", "/b", "--no-pivot", "id1", "--pid-file=/p"],
                                  cli._VERB_FLAGS["create"], cli._SHORT, stop_at_positional=False)
    assert flags == {"bundle": "/b", "no-pivot": True, "pid-file": "/p"}
    assert rest == ["id1"]


def test_unknown_flag_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--root", "/tmp/x", "create", "--nope", "id"]) == 2
    assert "flag provided but not defined: -nope" in capsys.readouterr().err


def test_systemd_cgroup_is_refused_clearly_when_creating(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "root"
    assert cli.main(["--root", str(root), "--systemd-cgroup", "create", "--bundle", str(tmp_path), "x"]) == 1
    assert "--systemd-cgroup" in capsys.readouterr().err
    assert not root.exists()  # refused before anything was made
    # the other verbs take the flag (containerd passes it to all of them)
    assert cli.main(["--root", str(root), "--systemd-cgroup", "list", "-q"]) == 0


def test_errors_go_to_the_json_log(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = tmp_path / "log.json"
    code = cli.main(["--root", str(tmp_path / "root"), "--log", str(log), "--log-format", "json", "state", "nope"])
    assert code == 1
    entry = json.loads(log.read_text())
    assert entry["level"] == "error" and "does not exist" in entry["msg"] and entry["time"]
    assert "does not exist" in capsys.readouterr().err


def test_list_of_an_empty_root(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--root", str(tmp_path), "list", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == []


def test_spec_writes_config_and_refuses_to_overwrite(tmp_path: Path) -> None:
    assert cli.main(["spec", "--bundle", str(tmp_path)]) == 0
    assert json.loads((tmp_path / "config.json").read_text())["process"]["args"] == ["sh"]
    assert cli.main(["spec", "--bundle", str(tmp_path)]) == 1


@pytest.mark.parametrize("text, number", [("KILL", 9), ("SIGKILL", 9), ("9", 9), ("term", 15), ("SIGUSR1", 10),
                                          ("RTMIN+1", 35)])
def test_signal_names(text: str, number: int) -> None:
    assert parse_signal(text) == number


@pytest.mark.parametrize("text", ["NOPE", "0", "99", ""])
def test_bad_signals(text: str) -> None:
    with pytest.raises(ValueError):
        parse_signal(text)
