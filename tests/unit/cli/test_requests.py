"""The requests the CLI sends, seen by a small HTTP server on a unix socket of the test's own.

For endpoints wharfd does not serve yet (update) and for request details (auth headers, create
bodies, chunked answers) that the interop tests cannot see.
"""

import base64
import json
import os
import secrets
import shutil
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from wharf.cli.main import main


class RecordingServer:
    """Answers every request with the next canned answer and records method, path, headers, body."""

    def __init__(self) -> None:
        self.directory = Path(f"/tmp/wcli-{secrets.token_hex(4)}")
        self.directory.mkdir()
        self.path = str(self.directory / "s.sock")
        self.requests: list[dict[str, object]] = []
        self.answers: list[tuple[int, str, bytes]] = []
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(self.path)
        self.server.listen()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            with conn:
                self._handle(conn)

    def _handle(self, conn: socket.socket) -> None:
        data = b""
        while b"\r\n\r\n" not in data:
            data += conn.recv(65536)
        head, _, body = data.partition(b"\r\n\r\n")
        lines = head.decode().split("\r\n")
        method, target, _ = lines[0].split(" ")
        headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
        if headers.get("transfer-encoding") == "chunked":
            while not body.endswith(b"0\r\n\r\n"):
                body += conn.recv(65536)
            decoded, rest = b"", body
            while True:
                size_text, _, rest = rest.partition(b"\r\n")
                size = int(size_text, 16)
                if size == 0:
                    break
                decoded, rest = decoded + rest[:size], rest[size + 2:]
            body = decoded
        else:
            while len(body) < int(headers.get("content-length", 0)):
                body += conn.recv(65536)
        self.requests.append({"method": method, "target": target, "headers": headers, "body": body})
        status, content_type, payload = self.answers.pop(0) if self.answers else (200, "application/json", b"{}")
        # chunked, in two pieces, as aiohttp streams
        half = len(payload) // 2
        chunks = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in (payload[:half], payload[half:]) if p)
        conn.sendall(f"HTTP/1.1 {status} X\r\nContent-Type: {content_type}\r\nTransfer-Encoding: chunked\r\n\r\n"
                     .encode() + chunks + b"0\r\n\r\n")

    def close(self) -> None:
        self.server.close()
        shutil.rmtree(self.directory, ignore_errors=True)


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[RecordingServer]:
    recording = RecordingServer()
    monkeypatch.setenv("WHARF_HOST", f"unix://{recording.path}")
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "config"))
    yield recording
    recording.close()


def test_update_sends_the_resources(server: RecordingServer, capsys: pytest.CaptureFixture[str]) -> None:
    server.answers.append((200, "application/json", b'{"Warnings": []}'))
    assert main(["update", "-m", "64m", "--cpus", "1.5", "--pids-limit", "20", "--restart", "on-failure:3", "box"]) == 0
    request = server.requests[0]
    assert (request["method"], request["target"]) == ("POST", "/v1.51/containers/box/update")
    assert json.loads(request["body"]) == {"Memory": 64 << 20, "NanoCpus": 1_500_000_000, "PidsLimit": 20,
                                           "RestartPolicy": {"Name": "on-failure", "MaximumRetryCount": 3}}
    assert capsys.readouterr().out == "box\n"


def test_create_body_from_flags(server: RecordingServer, capsys: pytest.CaptureFixture[str]) -> None:
    server.answers.append((201, "application/json", b'{"Id": "abc", "Warnings": []}'))
    assert main(["create", "--name", "web", "-p", "127.0.0.1:8080:80/tcp", "-v", "data:/data", "-v", "/anon",
                 "--mount", "type=tmpfs,target=/cache,tmpfs-size=1m", "--tmpfs", "/run:size=1m", "--ulimit",
                 "nofile=100:200", "--cap-add", "NET_ADMIN", "--read-only", "--init", "--health-cmd", "true",
                 "--health-interval", "1m30s", "--stop-signal", "SIGINT", "--stop-timeout", "3",
                 "--add-host", "db:10.0.0.2", "--dns", "1.1.1.1", "--network", "mynet", "--network-alias",
                 "w", "--entrypoint", "/bin/sh", "-l", "a=b", "busybox", "-c", "true"]) == 0
    request = server.requests[0]
    assert request["target"] == "/v1.51/containers/create?name=web"
    body = json.loads(request["body"])
    host = body["HostConfig"]
    assert body["Entrypoint"] == ["/bin/sh"] and body["Cmd"] == ["-c", "true"] and body["Labels"] == {"a": "b"}
    assert body["ExposedPorts"] == {"80/tcp": {}} and body["Volumes"] == {"/anon": {}}
    assert body["Healthcheck"] == {"Test": ["CMD-SHELL", "true"], "Interval": 90_000_000_000}
    assert (body["StopSignal"], body["StopTimeout"]) == ("SIGINT", 3)
    assert host["PortBindings"] == {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": "8080"}]}
    assert host["Binds"] == ["data:/data"]
    assert host["Mounts"] == [{"Type": "tmpfs", "Target": "/cache", "TmpfsOptions": {"SizeBytes": 1 << 20}}]
    assert host["Tmpfs"] == {"/run": "size=1m"}
    assert host["Ulimits"] == [{"Name": "nofile", "Soft": 100, "Hard": 200}]
    assert (host["CapAdd"], host["ReadonlyRootfs"], host["Init"]) == (["NET_ADMIN"], True, True)
    assert (host["ExtraHosts"], host["Dns"], host["NetworkMode"]) == (["db:10.0.0.2"], ["1.1.1.1"], "mynet")
    assert body["NetworkingConfig"] == {"EndpointsConfig": {"mynet": {"Aliases": ["w"]}}}
    assert capsys.readouterr().out == "abc\n"


def test_pull_sends_stored_credentials(server: RecordingServer, capsys: pytest.CaptureFixture[str]) -> None:
    config = Path(os.environ["DOCKER_CONFIG"])
    config.mkdir()
    (config / "config.json").write_text(json.dumps(
        {"auths": {"reg.example:5000": {"auth": base64.b64encode(b"me:pw").decode()}}}))
    server.answers.append((200, "application/json", b'{"status":"Pulling"}\n{"status":"Done"}\n'))
    assert main(["pull", "-q", "reg.example:5000/app:1"]) == 0
    request = server.requests[0]
    assert request["target"] == "/v1.51/images/create?fromImage=reg.example%3A5000%2Fapp&tag=1"
    auth = json.loads(base64.urlsafe_b64decode(request["headers"]["x-registry-auth"]))
    assert auth == {"username": "me", "password": "pw", "serveraddress": "reg.example:5000"}
    assert capsys.readouterr().out == "reg.example:5000/app:1\n"


def test_stream_errors_and_daemon_errors(server: RecordingServer, capsys: pytest.CaptureFixture[str]) -> None:
    server.answers.append((200, "application/json", b'{"status":"Pulling"}\n{"error":"manifest unknown"}\n'))
    assert main(["pull", "busybox"]) == 1
    assert capsys.readouterr().err == "manifest unknown\n"
    server.answers.append((404, "application/json", b'{"message":"No such container: x"}'))
    assert main(["stop", "x"]) == 1
    assert capsys.readouterr().err == "Error response from daemon: No such container: x\n"


def test_build_sends_the_context(server: RecordingServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import io
    import tarfile

    (tmp_path / "Dockerfile").write_text("FROM busybox\n")
    (tmp_path / "file.txt").write_text("x")
    server.answers.append((200, "application/json", b'{"stream":"Step 1/1\\n"}\n{"aux":{"ID":"sha256:1"}}\n'))
    assert main(["build", "-q", "-t", "a:1", "-t", "b:2", "--build-arg", "V=1", "--target", "t", "--no-cache",
                 str(tmp_path)]) == 0
    request = server.requests[0]
    assert request["target"].startswith("/v1.51/build?t=a%3A1&t=b%3A2&dockerfile=Dockerfile&buildargs=")
    assert "target=t" in request["target"] and "nocache=1" in request["target"]
    with tarfile.open(fileobj=io.BytesIO(request["body"])) as tar:
        assert sorted(tar.getnames()) == ["Dockerfile", "file.txt"]
    assert capsys.readouterr().out == "sha256:1\n"
