"""process.terminal: the pty master comes back over --console-socket (SCM_RIGHTS), as runc sends it."""

from __future__ import annotations

import os
import select
import socket
import uuid
from pathlib import Path

from tests.fixtures.bundle import make_bundle
from tests.integration.runtime.conftest import Runtime, new_id


def read_all(fd: int, timeout: float = 10) -> bytes:
    chunks = []
    while select.select([fd], [], [], timeout)[0]:
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # EIO: the slave side is closed
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


def test_terminal_master_is_sent_over_the_console_socket(runtime: Runtime, tmp_path: Path) -> None:
    script = "tty; [ -t 0 ] && echo stdin-is-tty; [ -t 2 ] && echo stderr-is-tty"
    bundle = make_bundle(tmp_path / "b", ["sh", "-c", script], terminal=True)
    sock_dir = Path(f"/run/wt-{uuid.uuid4().hex[:8]}")
    sock_dir.mkdir()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    master = -1
    try:
        listener.bind(str(sock_dir / "console.sock"))
        listener.listen(1)
        cid = new_id()
        runtime.ok("create", "--bundle", str(bundle), "--console-socket", str(sock_dir / "console.sock"), cid)
        listener.settimeout(10)
        conn, _ = listener.accept()
        with conn:
            _, fds, _, _ = socket.recv_fds(conn, 1024, 1)
        assert len(fds) == 1
        master = fds[0]
        runtime.ok("start", cid)
        output = read_all(master).decode().replace("\r\n", "\n")
        lines = output.splitlines()
        assert lines[0].startswith("/dev/pts/")
        assert lines[1] == "stdin-is-tty"
        assert lines[2] == "stderr-is-tty"
    finally:
        if master >= 0:
            os.close(master)
        listener.close()
        for child in sock_dir.iterdir():
            child.unlink()
        sock_dir.rmdir()


def test_terminal_without_console_socket_is_refused(runtime: Runtime, tmp_path: Path) -> None:
    bundle = make_bundle(tmp_path / "b", ["true"], terminal=True)
    cid = new_id()
    result = runtime.call("create", "--bundle", str(bundle), cid)
    assert result.returncode != 0
    assert cid not in runtime.ids()
