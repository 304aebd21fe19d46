"""--terminal: the runtime sends the pty master over console.sock; everything is stream 1."""

from __future__ import annotations

import json

from shim_world import ShimHost, read_frames


def test_terminal_carries_stdin_and_output_and_resize_sets_the_window(host: ShimHost) -> None:
    log = host.base / "tty.log"
    shim = host.start(["sh", "-c", "read line; echo got:$line; stty size; tty"], "--terminal", "--stdin",
                      "--log-path", str(log), terminal=True)
    assert not (shim.state_dir / "console.sock").exists()
    client = shim.attach(stdin=True)
    shim.call("resize", width=100, height=40)
    shim.call("start")
    client.sendall(b"hello\n")
    frames = read_frames(client)
    assert {stream for stream, _ in frames} == {1}
    output = b"".join(payload for _, payload in frames).decode()
    assert "got:hello\r\n" in output
    assert "40 100\r\n" in output
    assert "/dev/pts/" in output or "/dev/console" in output
    assert shim.call("wait")["exit_status"] == 0
    logged = "".join(json.loads(line)["log"] for line in log.read_text().splitlines())
    assert "got:hello" in logged
    shim.finish()


def test_close_stdin_on_a_terminal_sends_end_of_file(host: ShimHost) -> None:
    shim = host.start(["cat"], "--terminal", "--stdin", terminal=True)
    shim.call("start")
    shim.call("close_stdin")
    assert shim.call("wait")["exit_status"] == 0
    shim.finish()


def test_resize_without_a_terminal_is_refused(host: ShimHost) -> None:
    import pytest

    from wharf import errdefs

    shim = host.start(["true"])
    with pytest.raises(errdefs.FailedPrecondition):
        shim.call("resize", width=80, height=24)
    shim.finish()
