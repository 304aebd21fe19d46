"""Runtimes under test: wharf-runc and its twins runc and crun, driven through the same CLI."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.bundle import make_bundle

RUNTIMES = ("wharf-runc", "runc", "crun")


def runtime_binary(name: str) -> str | None:
    if name == "wharf-runc":
        beside_python = Path(sys.executable).parent / "wharf-runc"
        return str(beside_python) if beside_python.exists() else shutil.which(name)
    return shutil.which(name)


class Runtime:
    """One runtime binary with a private --root; tracks its containers so teardown removes them."""

    def __init__(self, name: str, binary: str, root: Path) -> None:
        self.name = name
        self.binary = binary
        self.root = root

    def __repr__(self) -> str:
        return self.name

    def cmd(self, *args: str) -> list[str]:
        return [self.binary, "--root", str(self.root), *args]

    def call(self, *args: str, timeout: float = 30, **kwargs: Any) -> subprocess.CompletedProcess[str]:
        """Run the runtime; its output is captured through files, not pipes: a created container's
        init inherits the runtime's stdio and would hold pipes open long after the runtime exits."""
        kwargs.setdefault("stdin", subprocess.DEVNULL)
        kwargs.pop("capture_output", None)
        with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
            kwargs.setdefault("stdout", out)
            kwargs.setdefault("stderr", err)
            if "input" in kwargs:
                kwargs.pop("stdin")
            result = subprocess.run(self.cmd(*args), text=True, timeout=timeout, **kwargs)
            out.seek(0)
            err.seek(0)
            return subprocess.CompletedProcess(result.args, result.returncode, out.read(), err.read())

    def ok(self, *args: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
        result = self.call(*args, **kwargs)
        assert result.returncode == 0, f"{self.name} {' '.join(args)}: {result.returncode} {result.stderr}"
        return result

    def run(self, bundle: Path, container_id: str | None = None, **kwargs: Any) -> subprocess.CompletedProcess[str]:
        return self.call("run", "--bundle", str(bundle), container_id or new_id(), **kwargs)

    def state(self, container_id: str) -> dict[str, Any]:
        return json.loads(self.ok("state", container_id).stdout)

    def ids(self) -> list[str]:
        return self.ok("list", "-q").stdout.split()

    def cleanup(self) -> None:
        if self.root.exists():
            for container_id in self.ids():
                self.call("delete", "--force", container_id)
            shutil.rmtree(self.root, ignore_errors=True)


def new_id() -> str:
    return "wt-" + uuid.uuid4().hex[:12]


_crun: dict[str, str] = {}

# crun refuses a hybrid cgroup host whose cgroup2 tree has any controller ("cgroups in hybrid mode not
# supported"), as this one has (hugetlb). It runs happily in a mount namespace without that tree.
_CRUN_WITHOUT_UNIFIED = """#!/bin/sh
exec unshare --mount --propagation private sh -c 'umount -l /sys/fs/cgroup/unified 2>/dev/null; exec "$0" "$@"' {crun} "$@"
"""


def _probe(command: list[str], tmp: Path) -> str:
    bundle = make_bundle(tmp / "probe", ["true"]) if not (tmp / "probe").exists() else tmp / "probe"
    root = tmp / "probe-root"
    result = subprocess.run([*command, "--root", str(root), "run", "--bundle", str(bundle), new_id()],
                            capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
    shutil.rmtree(root, ignore_errors=True)
    return "" if result.returncode == 0 else (result.stderr.strip() or "crun failed")


def _crun_command(binary: str, tmp: Path) -> tuple[str, str]:
    """(the command to run crun as, or "" with the reason it can't run here)."""
    if "command" not in _crun:
        refusal = _probe([binary], tmp)
        command = binary
        if "hybrid mode" in refusal and shutil.which("unshare"):
            wrapper = tmp / "crun-without-unified"
            wrapper.write_text(_CRUN_WITHOUT_UNIFIED.format(crun=binary))
            wrapper.chmod(0o755)
            refusal = _probe([str(wrapper)], tmp)
            command = str(wrapper)
        _crun.update(command="" if refusal else command, reason=refusal)
    return _crun["command"], _crun["reason"]


@pytest.fixture(params=RUNTIMES)
def runtime(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    name = request.param
    binary = runtime_binary(name)
    if binary is None:
        pytest.skip(f"{name} is not installed")
    if name == "crun":
        binary, refusal = _crun_command(binary, tmp_path_factory.getbasetemp())
        if refusal:
            pytest.skip(f"crun cannot run containers on this host: {refusal}")
    rt = Runtime(name, binary, Path(f"/run/wt-{uuid.uuid4().hex[:8]}"))
    try:
        yield rt
    finally:
        rt.cleanup()


@pytest.fixture
def wharf_runc() -> Iterator[Runtime]:
    binary = runtime_binary("wharf-runc")
    assert binary, "wharf-runc is not installed: pip install -e ."
    rt = Runtime("wharf-runc", binary, Path(f"/run/wt-{uuid.uuid4().hex[:8]}"))
    try:
        yield rt
    finally:
        rt.cleanup()


@pytest.fixture
def runc() -> Iterator[Runtime]:
    """runc itself, to compare wharf-runc with."""
    binary = shutil.which("runc")
    if binary is None:
        pytest.skip("runc is not installed")
    rt = Runtime("runc", binary, Path(f"/run/wt-{uuid.uuid4().hex[:8]}"))
    try:
        yield rt
    finally:
        rt.cleanup()


def cgroup_dirs_named(name: str) -> list[str]:
    """Every cgroup directory called NAME on this host (to prove a container left none behind)."""
    found = []
    for mount_point in {line.split()[4] for line in open("/proc/self/mountinfo") if " - cgroup" in line}:
        for dirpath, dirnames, _ in os.walk(mount_point):
            found += [os.path.join(dirpath, d) for d in dirnames if d == name]
    return found
