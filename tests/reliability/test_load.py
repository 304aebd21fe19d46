"""200 concurrent Engine API clients on the unix socket for a bounded time: every request that
should succeed does, and wharfd holds no more fds, threads or memory afterwards than the load
needed. Prints p50/p99 latencies (bench/load.py is the longer, bench mode)."""

from __future__ import annotations

import asyncio
import os
import time

from bench.load import ProcessFigures, run_load
from tests.fixtures.daemon import WharfDaemon

CLIENTS = int(os.environ.get("WHARF_LOAD_CLIENTS", "200"))
SECONDS = float(os.environ.get("WHARF_LOAD_SECONDS", "15"))


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
