"""200 concurrent Engine API clients on the unix socket for a bounded time: every request that
should succeed does, and wharfd holds no more fds, threads or memory afterwards than the load
needed. Prints p50/p99 latencies (bench/load.py is the longer, bench mode)."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import signal
import socket
import time

import pytest

from bench.load import ProcessFigures, run_load
from tests.fixtures.daemon import WharfDaemon
from wharf.daemon.server.listeners import accept_queue_length

CLIENTS = int(os.environ.get("WHARF_LOAD_CLIENTS", "200"))
SECONDS = float(os.environ.get("WHARF_LOAD_SECONDS", "15"))
BURST = 600
"""Connections arriving while wharfd is not accepting: more than the 128 a default listen queue holds,
well under the 4096 of the kernel's somaxconn that Docker's Go listener takes."""


def _settled(pid: int, before: ProcessFigures, slack_fds: int, timeout: float = 10.0) -> ProcessFigures:
    """wharfd's figures once closed connections are released (they go asynchronously)."""
    deadline = time.monotonic() + timeout
    while True:
        now = ProcessFigures.of(pid)
        if now.fds <= before.fds + slack_fds or time.monotonic() > deadline:
            return now
        time.sleep(0.2)


def test_many_clients_no_failures_no_leaks(wharf: WharfDaemon) -> None:
    assert wharf.process is not None
    pid = wharf.process.pid
    # Warm up (thread pools, caches, the first container) so "after" compares like with like.
    asyncio.run(run_load(wharf.socket, clients=20, seconds=2, events=2))
    before = ProcessFigures.of(pid)
    result = asyncio.run(run_load(wharf.socket, clients=CLIENTS, seconds=SECONDS, events=10))
    print(f"\n{CLIENTS} clients for {SECONDS:.0f} s:\n{result.report()}")
    assert not result.failures, "\n".join(result.failures[:30])
    assert result.requests > CLIENTS
    assert result.events_seen > 0
    after = _settled(pid, before, slack_fds=8)
    print(f"wharfd before: {before}\nwharfd after:  {after}")
    assert after.fds <= before.fds + 8, f"fd leak: {before.fds} → {after.fds}"
    assert after.threads <= before.threads + 8, f"thread leak: {before.threads} → {after.threads}"
    assert after.rss_kib <= before.rss_kib + 96 * 1024, f"memory: {before.rss_kib} → {after.rss_kib} KiB"
    left = wharf.docker("ps", "-aq", "--filter", "label=io.wharf.load", check=True).stdout.split()
    assert not left, f"containers left behind: {left}"


def _connect_without_waiting(path: str) -> socket.socket | None:
    """A non-blocking connect, as asyncio clients make it: None when the listen queue is full."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.setblocking(False)
    try:
        sock.connect(path)
    except BlockingIOError as err:
        assert err.errno == errno.EAGAIN
        sock.close()
        return None
    return sock


def test_a_burst_of_connections_while_wharfd_is_busy_is_queued_not_refused(wharf: WharfDaemon) -> None:
    if accept_queue_length() <= BURST:
        pytest.skip(f"net.core.somaxconn is {accept_queue_length()}: the kernel allows no queue of {BURST}")
    assert wharf.process is not None
    pid = wharf.process.pid
    connected: list[socket.socket] = []
    refused = 0
    os.kill(pid, signal.SIGSTOP)  # busy: nothing is accepted until it goes on
    try:
        for _ in range(BURST):
            sock = _connect_without_waiting(wharf.socket)
            if sock is None:
                refused += 1
            else:
                connected.append(sock)
    finally:
        os.kill(pid, signal.SIGCONT)
    try:
        assert refused == 0, f"{refused} of {BURST} connections refused: the listen queue is too short"
        for sock in connected:
            sock.setblocking(True)
            sock.settimeout(30)
            sock.sendall(b"GET /_ping HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n\r\n")
        answers = []
        for sock in connected:
            answer = b""
            while chunk := sock.recv(4096):
                answer += chunk
            answers.append(answer)
        assert all(a.startswith(b"HTTP/1.1 200") and a.endswith(b"OK") for a in answers)
    finally:
        for sock in connected:
            with contextlib.suppress(OSError):
                sock.close()
