"""Detaching (ctrl-p ctrl-q) from a terminal leaves the container running, with the docker CLI."""

import json
import os
import pty
import secrets
import select
import time

from tests.fixtures.daemon import WharfDaemon


def _drive(daemon: WharfDaemon, args: list[str], keys: bytes, wait_for: bytes) -> tuple[int, bytes]:
    """Run the docker CLI in a pty, wait for `wait_for` on screen, type `keys`; (exit code, screen)."""
    pid, fd = pty.fork()
    if pid == 0:
        os.execvpe("docker", ["docker", *args], daemon.env)
    screen = b""
    deadline = time.monotonic() + 30
    typed = False
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            screen += chunk
        if not typed and wait_for in screen:
            os.write(fd, keys)
            typed = True
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    return os.waitstatus_to_exitcode(status), screen


def test_detach_from_run_it_keeps_the_container(wharf: WharfDaemon) -> None:
    name = "d" + secrets.token_hex(5)
    code, screen = _drive(wharf, ["run", "-it", "--name", name, "--network", "none", "busybox", "sh", "-c",
                                  "echo ready; while true; do sleep 1; done"], b"\x10\x11", b"ready")
    try:
        assert code == 0, screen
        state = json.loads(wharf.docker("inspect", name, check=True).stdout)[0]["State"]
        assert state["Running"] is True
    finally:
        wharf.docker("rm", "-f", name)


def test_custom_detach_keys_on_attach(wharf: WharfDaemon) -> None:
    name = "d" + secrets.token_hex(5)
    wharf.docker("run", "-dit", "--name", name, "--network", "none", "busybox", "sh", check=True)
    try:
        code, screen = _drive(wharf, ["attach", "--detach-keys", "ctrl-a,x", name], b"echo here\n\x01x", b"")
        # As with the real Docker engine: `attach` says so and exits 1 (`run -it` exits 0).
        assert code == 1, screen
        assert b"read escape sequence" in screen
        state = json.loads(wharf.docker("inspect", name, check=True).stdout)[0]["State"]
        assert state["Running"] is True
    finally:
        wharf.docker("rm", "-f", name)
