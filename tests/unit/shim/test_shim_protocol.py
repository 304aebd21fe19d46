"""Wire formats and the command line of wharf-shim (no processes)."""

from __future__ import annotations

import json

import pytest

from wharf.shim.main import UsageError, parse_start
from wharf.shim.protocol import encode_frame, encode_message, message_length, parse_frame_header
from wharf.shim.runtime import error_text


def test_control_messages_are_length_prefixed_json() -> None:
    data = encode_message({"method": "state", "params": {}})
    assert message_length(data[:4]) == len(data) - 4
    assert json.loads(data[4:]) == {"method": "state", "params": {}}


def test_a_huge_length_is_refused() -> None:
    with pytest.raises(ValueError):
        message_length((1 << 31).to_bytes(4, "big"))


def test_attach_frames_use_docker_stdcopy_headers() -> None:
    frame = encode_frame(2, b"oops\n")
    assert frame[:8] == bytes([2, 0, 0, 0, 0, 0, 0, 5])
    assert parse_frame_header(frame[:8]) == (2, 5)


def test_start_arguments() -> None:
    options = parse_start(["--id", "c1", "--bundle=/b", "--state-dir", "/run/s", "--runtime", "runc",
                           "--stdin", "--terminal", "--log-path", "/l", "--log-max-size", "100",
                           "--log-max-files", "3", "--runtime-root", "/rt"])
    assert (options.id, options.bundle, options.state_dir, options.runtime, options.runtime_root) == (
        "c1", "/b", "/run/s", "runc", "/rt")
    assert options.stdin and options.terminal
    assert (options.log_path, options.log_max_size, options.log_max_files) == ("/l", 100, 3)


@pytest.mark.parametrize("args", [
    ["--bundle", "/b", "--state-dir", "/s", "--runtime", "runc"],
    ["--id", "c", "--bundle", "/b", "--state-dir", "/s", "--runtime", "runc", "--log-max-size", "x"],
    ["--id", "c", "--bundle", "/b", "--state-dir", "/s", "--runtime", "runc", "--log-max-files", "0"],
    ["--id", "c", "--bundle", "/b", "--state-dir", "/s", "--runtime", "runc", "--what"],
    ["--id"],
])
def test_bad_start_arguments(args: list[str]) -> None:
    with pytest.raises(UsageError):
        parse_start(args)


def test_runtime_errors_are_read_from_runc_style_stderr() -> None:
    stderr = (b'time="2026-11-25T12:00:00Z" level=error msg="runc create failed: no such file"\n'
              b"runc create failed: no such file\n")
    assert error_text(stderr, 1) == "runc create failed: no such file"
    assert error_text(b'time="x" level=fatal msg="boom \\"quoted\\""\n', 1) == 'boom \\"quoted\\"'
    assert error_text(b"", 3) == "runtime exited with status 3"
