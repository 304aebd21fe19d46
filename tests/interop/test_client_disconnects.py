"""A client that hangs up before its answer is written is not a fault of wharfd's: no error in its
log (the docker CLI's `run -d` leaves a wait request behind on every detached container)."""

from __future__ import annotations

import secrets
import socket
import time

from tests.fixtures.daemon import WharfDaemon


def _errors(log: str) -> list[str]:
    return [line for line in log.splitlines() if " ERROR " in line or "Traceback" in line]


def test_a_wait_whose_client_hung_up_logs_no_error(wharf: WharfDaemon) -> None:
    name = "hangup-" + secrets.token_hex(4)
    wharf.docker("run", "-d", "--name", name, "--network", "none", "busybox", "sleep", "1", check=True)
    errors_before = len(_errors(wharf.log()))
    try:
        client = socket.socket(socket.AF_UNIX)
        client.connect(wharf.socket)
        client.sendall(f"POST /v1.51/containers/{name}/wait HTTP/1.1\r\nHost: docker\r\n"
                       "Content-Length: 0\r\n\r\n".encode())
        assert client.recv(200).startswith(b"HTTP/1.1 200")  # the headers come first, the code at exit
        client.close()
        exited = wharf.docker("wait", name, check=True)
        assert exited.stdout.strip() == "0"
        time.sleep(0.5)  # the abandoned wait is answered into the closed connection meanwhile
        assert _errors(wharf.log())[errors_before:] == []
    finally:
        wharf.docker("rm", "-f", name)
