"""The shim's test world: bundles over a shared busybox rootfs, shims run for real with `runc`,
each test in its own /run/wt-<random>/ (runtime root, state dirs, bundles), cleaned up even when
the test fails: shims killed by their unique paths, runc containers force-deleted."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

from tests.fixtures.cleanup import kill_processes, processes_mentioning, wait_gone
from wharf.shim.client import call_sync
from wharf.shim.protocol import parse_frame_header

SHIM = [str(Path(sys.executable).with_name("wharf-shim"))]


class ShimHost:
    """A test's private world: its runtime root, bundles and shim state dirs under one short dir."""

    def __init__(self, base: Path, rootfs: Path, runc: str) -> None:
        self.base, self.rootfs, self.runc = base, rootfs, runc
        self.runtime_root = base / "rt"
        self.ids: list[str] = []

    def bundle(self, args: list[str], terminal: bool = False, name: str | None = None) -> Path:
        bundle = self.base / "bundles" / (name or secrets.token_hex(4))
        bundle.mkdir(parents=True)
        subprocess.run([self.runc, "spec", "--bundle", str(bundle)], check=True, capture_output=True)
        spec = json.loads((bundle / "config.json").read_text())
        spec["root"] = {"path": str(self.rootfs), "readonly": True}
        spec["process"]["terminal"] = terminal
        spec["process"]["args"] = args
        spec["hostname"] = "shimtest"
        spec["linux"]["namespaces"] = [ns for ns in spec["linux"]["namespaces"] if ns["type"] != "network"]
        (bundle / "config.json").write_text(json.dumps(spec))
        return bundle

    def new_id(self) -> str:
        container_id = f"wt-shim-{secrets.token_hex(5)}"
        self.ids.append(container_id)
        return container_id

    def start_args(self, container_id: str, bundle: Path, *extra: str) -> list[str]:
        return [*SHIM, "start", "--id", container_id, "--bundle", str(bundle),
                "--state-dir", str(self.state_dir(container_id)), "--runtime", self.runc,
                "--runtime-root", str(self.runtime_root), *extra]

    def state_dir(self, container_id: str) -> Path:
        return self.base / "s" / container_id

    def start(self, args: list[str], *extra: str, terminal: bool = False) -> Shim:
        container_id = self.new_id()
        bundle = self.bundle(args, terminal=terminal)
        result = subprocess.run(self.start_args(container_id, bundle, *extra), capture_output=True, text=True,
                                timeout=30)
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == str(self.state_dir(container_id) / "shim.sock")
        return Shim(container_id, self.state_dir(container_id))

    def runc_state(self, container_id: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([self.runc, "--root", str(self.runtime_root), "state", container_id],
                              capture_output=True, text=True)

    def cleanup(self) -> None:
        pids = processes_mentioning(str(self.base))
        kill_processes(pids)
        wait_gone(pids)
        for container_id in self.ids:
            subprocess.run([self.runc, "--root", str(self.runtime_root), "delete", "--force", container_id],
                           capture_output=True)
        shutil.rmtree(self.base, ignore_errors=True)


class Shim:
    def __init__(self, container_id: str, state_dir: Path) -> None:
        self.id = container_id
        self.state_dir = state_dir
        self.control = str(state_dir / "shim.sock")
        self.attach_path = str(state_dir / "attach.sock")

    def call(self, method: str, **params: object) -> dict:
        return call_sync(self.control, method, **params)

    def attach(self, stdin: bool = False, stdout: bool = True, stderr: bool = True,
               stdin_once: bool = False) -> socket.socket:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(20)
        sock.connect(self.attach_path)
        options = {"stdin": stdin, "stdout": stdout, "stderr": stderr, "stdin_once": stdin_once}
        sock.sendall(json.dumps(options).encode() + b"\n")
        return sock

    def attach_exec(self, exec_id: str, **options: bool) -> socket.socket:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(20)
        sock.connect(self.attach_path)
        header = {"stdin": False, "stdout": True, "stderr": True, "stdin_once": False, **options,
                  "exec_id": exec_id}
        sock.sendall(json.dumps(header).encode() + b"\n")
        return sock

    def pid(self) -> int:
        """The shim daemon's pid (the process listening on the control socket)."""
        needle = f"--state-dir {self.state_dir} "
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
                except OSError:
                    continue
                if "wharf-shim" in cmdline and needle in cmdline:
                    return int(entry.name)
        raise LookupError(f"no shim for {self.state_dir}")

    def finish(self) -> None:
        """delete + shutdown, as the supervisor ends a task; returns once the shim is gone."""
        self.call("delete", force=True)
        self.shutdown()

    def shutdown(self) -> None:
        pid = self.pid()
        self.call("shutdown")
        wait_for(lambda: not process_alive(pid))


def read_frames(sock: socket.socket) -> list[tuple[int, bytes]]:
    """Every frame until the shim closes the attach connection."""
    frames = []
    buffer = b""
    while chunk := sock.recv(65536):
        buffer += chunk
    while buffer:
        stream, length = parse_frame_header(buffer[:8])
        frames.append((stream, buffer[8:8 + length]))
        buffer = buffer[8 + length:]
    return frames


def wait_for(predicate, timeout: float = 10.0, interval: float = 0.02):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {predicate}")


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0]
    return status != "Z"
