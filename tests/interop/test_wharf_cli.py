"""The wharf CLI against wharfd: the same commands as the docker CLI, the same results."""

import secrets
import subprocess

from tests.fixtures.daemon import VENV_BIN, WharfDaemon


def wharf_cli(daemon: WharfDaemon, *args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(VENV_BIN / "wharf"), "-H", daemon.host, *args], input=input,
                          capture_output=True, text=True, timeout=60)


def test_run_output_and_exit_code(wharf: WharfDaemon) -> None:
    result = wharf_cli(wharf, "run", "--rm", "busybox", "sh", "-c", "echo out; echo err >&2; exit 5")
    assert (result.returncode, result.stdout, result.stderr) == (5, "out\n", "err\n")


def test_run_interactive(wharf: WharfDaemon) -> None:
    result = wharf_cli(wharf, "run", "--rm", "-i", "busybox", "wc", "-l", input="a\nb\nc\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "3"


def test_detached_ps_logs_rm(wharf: WharfDaemon) -> None:
    name = "w" + secrets.token_hex(5)
    container_id = wharf_cli(wharf, "run", "-d", "--name", name, "busybox", "sh", "-c", "echo hi; sleep 30").stdout.strip()
    assert len(container_id) == 64
    ps = wharf_cli(wharf, "ps")
    assert ps.stdout.splitlines()[0].split() == ["CONTAINER", "ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"]
    assert any(line.startswith(container_id[:12]) and line.endswith(name) for line in ps.stdout.splitlines())
    for _ in range(50):
        if wharf_cli(wharf, "logs", name).stdout == "hi\n":
            break
    assert wharf_cli(wharf, "logs", name).stdout == "hi\n"
    assert wharf_cli(wharf, "rm", "-f", name).stdout.strip() == name
    missing = wharf_cli(wharf, "logs", name)
    assert missing.returncode == 1
    assert "No such container" in missing.stderr


def test_images_lists_busybox(wharf: WharfDaemon) -> None:
    lines = wharf_cli(wharf, "images").stdout.splitlines()
    assert lines[0].split() == ["REPOSITORY", "TAG", "IMAGE", "ID", "CREATED", "SIZE"]
    assert any(line.split()[:2] == ["busybox", "latest"] for line in lines[1:])
