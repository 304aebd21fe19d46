"""Reaching wharf-containerd: connect to the one answering on the socket, or start it first.

It is started in its own session so that it outlives wharfd (containers keep their supervisor
while wharfd restarts or is upgraded)."""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import subprocess
import sys
from typing import Any

from wharf import errdefs
from wharf.daemon.config import DaemonConfig

log = logging.getLogger("wharfd.supervisor")

READY_TIMEOUT = 30.0


def _connect(address: str) -> Any:
    from wharf.containerd.proxy import connect

    return connect(address)


# Asked for to see that the supervisor answers: a question whose answer does not grow with the
# containers (listing them all, their OCI specs encoded and decoded, took ~0.2 s of 500).
_NO_SUCH_CONTAINER = "wharfd-asks-whether-the-supervisor-answers"


async def _answers(supervisor: Any) -> bool:
    try:
        await asyncio.wait_for(supervisor.containers.get(_NO_SUCH_CONTAINER), 2.0)
    except errdefs.NotFound:
        return True
    except (errdefs.WharfError, OSError, TimeoutError):
        return False
    return True


def _supervisor_command(config: DaemonConfig) -> list[str]:
    beside_us = os.path.join(os.path.dirname(sys.executable), "wharf-containerd")
    binary = beside_us if os.path.exists(beside_us) else shutil.which("wharf-containerd") or "wharf-containerd"
    return [
        binary,
        "--address", config.containerd_address,
        "--root", os.path.join(config.data_root, "containerd"),
        "--state", os.path.join(config.exec_root, "containerd"),
        "--runtime-root", os.path.join(config.exec_root, "runtime"),
        "--runtime", config.runtime,
        *[f"--insecure-registry={registry}" for registry in config.insecure_registries],
        *[f"--registry-mirror={mirror}" for mirror in config.registry_mirrors],
    ]  # fmt: skip


_launched_early = False
"""`launch_before_imports` started our supervisor: `connect_or_start` waits for it."""


def launch_before_imports(config: DaemonConfig) -> None:
    """Start our supervisor now, before wharfd's heavy imports, so that its start-up overlaps them;
    unless the address is someone else's (`--containerd`) or something listens on it already
    (a supervisor that outlived wharfd: `connect_or_start` checks that it answers, and starts one
    if it does not)."""
    global _launched_early
    if config.containerd or _listens(config.containerd_address):
        return
    _launch(config)
    _launched_early = True


def _listens(address: str) -> bool:
    import socket

    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(address)
    except OSError:
        return False
    finally:
        probe.close()
    return True


def _launch(config: DaemonConfig) -> None:
    for directory in (config.data_root, config.exec_root):
        os.makedirs(directory, mode=0o711, exist_ok=True)
    command = _supervisor_command(config)
    log.info("starting %s", " ".join(command))
    with open(os.path.join(config.exec_root, "containerd.log"), "ab") as output:
        subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=output, stderr=output,
                         start_new_session=True, close_fds=True)


async def connect_or_start(config: DaemonConfig) -> Any:
    address = config.containerd_address
    if os.path.exists(address):
        supervisor = _connect(address)
        if await _answers(supervisor):
            log.info("using the supervisor already on %s", address)
            return supervisor
        await _close(supervisor)
    if config.containerd:
        # An explicit address is someone else's supervisor: wait for it, never start our own.
        raise errdefs.Unavailable(f"no supervisor answers on {address}")
    if not _launched_early:
        _launch(config)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + READY_TIMEOUT
    while loop.time() < deadline:
        if os.path.exists(address):
            supervisor = _connect(address)
            if await _answers(supervisor):
                return supervisor
            await _close(supervisor)
        await asyncio.sleep(0.05)
    raise errdefs.Unavailable(f"wharf-containerd did not answer on {address} within {READY_TIMEOUT}s")


async def _close(supervisor: Any) -> None:
    close = getattr(supervisor, "close", None)
    if close is not None:
        result = close()
        if asyncio.iscoroutine(result):
            await result
