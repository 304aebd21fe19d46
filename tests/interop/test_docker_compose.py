"""docker-compose (Debian's 1.29, over the docker SDK) against wharfd: a two-service app with a
named volume, the project's network (service names resolve), a port published on 127.0.0.1."""

from __future__ import annotations

import subprocess
import time
import urllib.request
import uuid
from pathlib import Path

from tests.conftest import require_binary
from tests.fixtures.daemon import WharfDaemon
from tests.fixtures.registry import free_port

COMPOSE_FILE = """\
version: "3.8"
services:
  web:
    image: busybox
    command: ["sh", "-c", "echo hello-from-{tag} > /www/index.html && exec httpd -f -p 80 -h /www"]
    volumes: ["site:/www"]
    ports: ["127.0.0.1:{port}:80"]
  client:
    image: busybox
    depends_on: [web]
    command: ["sh", "-c", "until wget -qO- http://web/index.html; do sleep 0.2; done; exec sleep 300"]
volumes:
  site: {{}}
"""


def _compose(wharf: WharfDaemon, directory: Path, project: str, *args: str,
             timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = dict(wharf.env, COMPOSE_INTERACTIVE_NO_CLI="1")
    return subprocess.run(["docker-compose", "-p", project, "-f", str(directory / "docker-compose.yml"), *args],
                          capture_output=True, text=True, env=env, timeout=timeout, cwd=directory)


def _http_get(url: str, deadline: float) -> str:
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return response.read().decode()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_two_service_app_up_check_down(wharf: WharfDaemon, tmp_path: Path) -> None:
    require_binary("docker-compose")
    tag = uuid.uuid4().hex[:8]
    project, port = f"wt{tag}", free_port()
    (tmp_path / "docker-compose.yml").write_text(COMPOSE_FILE.format(tag=tag, port=port))
    try:
        up = _compose(wharf, tmp_path, project, "up", "-d")
        assert up.returncode == 0, up.stderr + wharf.log()[-3000:]
        listed = _compose(wharf, tmp_path, project, "ps")
        assert listed.returncode == 0 and listed.stdout.count("Up") == 2, listed.stdout + listed.stderr

        # From the host, through the published port.
        assert _http_get(f"http://127.0.0.1:{port}/index.html", time.monotonic() + 20).strip() == f"hello-from-{tag}"
        # From the other service, by service name over the project's network.
        deadline = time.monotonic() + 20
        while f"hello-from-{tag}" not in (logs := _compose(wharf, tmp_path, project, "logs", "client").stdout):
            assert time.monotonic() < deadline, logs
            time.sleep(0.3)
        exec_result = _compose(wharf, tmp_path, project, "exec", "-T", "client", "wget", "-qO-", "http://web/")
        assert exec_result.returncode == 0 and f"hello-from-{tag}" in exec_result.stdout, exec_result.stderr

        assert f"{project}_default" in wharf.docker("network", "ls", "--format", "{{.Name}}").stdout.split()
        assert f"{project}_site" in wharf.docker("volume", "ls", "--format", "{{.Name}}").stdout.split()
    finally:
        down = _compose(wharf, tmp_path, project, "down", "-v", "--timeout", "2")
    assert down.returncode == 0, down.stderr
    label = f"label=com.docker.compose.project={project}"
    assert wharf.docker("ps", "-aq", "--filter", label).stdout.strip() == ""
    assert f"{project}_default" not in wharf.docker("network", "ls", "--format", "{{.Name}}").stdout.split()
    assert f"{project}_site" not in wharf.docker("volume", "ls", "--format", "{{.Name}}").stdout.split()

