"""Many concurrent Engine API clients against wharfd over its unix socket: requests served, failures,
latency percentiles per request kind, and wharfd's fds/threads/RSS before and after.

    .venv/bin/python -m bench.load [--clients 200] [--seconds 60] [--events 20]

Starts a private wharfd (busybox imported). The clients loop over a mix of list, inspect, logs,
ping, images and create/start/remove of containers (`--network none`) while `--events` event
streams stay open. tests/reliability/test_load.py runs the same driver, bounded, as a test.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import secrets
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

API = "http://localhost/v1.45"
LABEL = "io.wharf.load"


@dataclass
class LoadResult:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    failures: list[str] = field(default_factory=list)
    events_seen: int = 0

    @property
    def requests(self) -> int:
        return sum(len(values) for values in self.latencies.values())

    def percentile(self, kind: str | None, fraction: float) -> float:
        values = sorted(v for k, vs in self.latencies.items() if kind in (None, k) for v in vs)
        return values[min(len(values) - 1, int(fraction * len(values)))] if values else 0.0

    def report(self) -> str:
        lines = [f"{'kind':<14}{'count':>8}{'p50 ms':>10}{'p99 ms':>10}"]
        for kind in sorted(self.latencies):
            lines.append(f"{kind:<14}{len(self.latencies[kind]):>8}"
                         f"{self.percentile(kind, 0.5) * 1000:>10.1f}{self.percentile(kind, 0.99) * 1000:>10.1f}")
        lines.append(f"{'all':<14}{self.requests:>8}{self.percentile(None, 0.5) * 1000:>10.1f}"
                     f"{self.percentile(None, 0.99) * 1000:>10.1f}")
        lines.append(f"failures: {len(self.failures)}; events received: {self.events_seen}")
        return "\n".join(lines)


@dataclass(frozen=True)
class ProcessFigures:
    fds: int
    threads: int
    rss_kib: int

    @staticmethod
    def of(pid: int) -> ProcessFigures:
        status = Path(f"/proc/{pid}/status").read_text()
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        return ProcessFigures(fds=len(list(Path(f"/proc/{pid}/fd").iterdir())),
                              threads=int(fields["Threads"]), rss_kib=int(fields["VmRSS"].split()[0]))


class _Client:
    def __init__(self, session: aiohttp.ClientSession, result: LoadResult, rng: random.Random,
                 image: str, containers: list[str], creates: asyncio.Semaphore) -> None:
        self.session, self.result, self.rng = session, result, rng
        self.image, self.containers, self.creates = image, containers, creates

    async def _call(self, kind: str, method: str, path: str, ok: tuple[int, ...] = (200,),
                    body: dict | None = None) -> bytes:
        started = time.perf_counter()
        try:
            async with self.session.request(method, API + path, json=body) as response:
                data = await response.read()
                status = response.status
        except (TimeoutError, aiohttp.ClientError) as err:
            self.result.failures.append(f"{kind} {method} {path}: {err!r}")
            return b""
        self.result.latencies[kind].append(time.perf_counter() - started)
        if status not in ok:
            self.result.failures.append(f"{kind} {method} {path}: {status} {data[:200]!r}")
        return data

    async def one(self) -> None:
        pick = self.rng.random()
        if pick < 0.25:
            await self._call("list", "GET", "/containers/json?all=1")
        elif pick < 0.45:
            await self._call("inspect", "GET", f"/containers/{self.rng.choice(self.containers)}/json")
        elif pick < 0.6:
            await self._call("logs", "GET", f"/containers/{self.rng.choice(self.containers)}/logs?stdout=1&stderr=1")
        elif pick < 0.7:
            await self._call("ping", "GET", "/_ping")
        elif pick < 0.8:
            await self._call("images", "GET", "/images/json")
        elif pick < 0.9:
            await self._call("info", "GET", "/version")
        else:
            async with self.creates:
                await self.lifecycle()

    async def lifecycle(self) -> None:
        name = f"load-{secrets.token_hex(5)}"
        body = {"Image": self.image, "Cmd": ["echo", name], "Labels": {LABEL: "1"},
                "HostConfig": {"NetworkMode": "none"}}
        created = await self._call("create", "POST", f"/containers/create?name={name}", (201,), body)
        if not created:
            return
        container_id = json.loads(created)["Id"]
        await self._call("start", "POST", f"/containers/{container_id}/start", (204,))
        await self._call("rm", "DELETE", f"/containers/{container_id}?force=1", (204,))


async def _events(session: aiohttp.ClientSession, result: LoadResult, stop: asyncio.Event) -> None:
    try:
        async with session.get(API + "/events", timeout=aiohttp.ClientTimeout(total=None)) as response:
            if response.status != 200:
                result.failures.append(f"events: {response.status}")
                return
            while not stop.is_set():
                try:
                    line = await asyncio.wait_for(response.content.readline(), 0.5)
                except TimeoutError:
                    continue
                if not line:
                    result.failures.append("events: stream ended early")
                    return
                result.events_seen += 1
    except aiohttp.ClientError as err:
        result.failures.append(f"events: {err!r}")


async def run_load(socket_path: str, clients: int, seconds: float, events: int = 10,
                   image: str = "busybox:latest", seed: int = 1, max_creating: int = 8) -> LoadResult:
    """`clients` concurrent clients for `seconds`, each with its own connection; returns when all
    have finished and every container they made is removed."""
    result = LoadResult()
    connector = aiohttp.UnixConnector(path=socket_path, limit=0)
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        fixtures = []
        for _ in range(3):  # containers with logs, to inspect and read
            name = f"load-fixed-{secrets.token_hex(4)}"
            async with session.post(API + f"/containers/create?name={name}", json={
                    "Image": image, "Cmd": ["sh", "-c", "seq 1 200"], "Labels": {LABEL: "1"},
                    "HostConfig": {"NetworkMode": "none"}}) as response:
                fixtures.append(json.loads(await response.read())["Id"])
            async with session.post(API + f"/containers/{fixtures[-1]}/start"):
                pass
        stop = asyncio.Event()
        streams = [asyncio.create_task(_events(session, result, stop)) for _ in range(events)]
        creates = asyncio.Semaphore(max_creating)
        deadline = time.monotonic() + seconds

        async def client(index: int) -> None:
            worker = _Client(session, result, random.Random(seed * 100_003 + index), image, fixtures, creates)
            while time.monotonic() < deadline:
                await worker.one()

        await asyncio.gather(*(client(i) for i in range(clients)))
        stop.set()
        await asyncio.gather(*streams)
        for container_id in fixtures:
            async with session.delete(API + f"/containers/{container_id}?force=1"):
                pass
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--events", type=int, default=20)
    options = parser.parse_args()
    from tests.fixtures.daemon import WharfDaemon

    daemon = WharfDaemon()
    try:
        daemon.start()
        daemon.import_busybox()
        assert daemon.process is not None
        before = ProcessFigures.of(daemon.process.pid)
        result = asyncio.run(run_load(daemon.socket, options.clients, options.seconds, options.events))
        time.sleep(2)
        after = ProcessFigures.of(daemon.process.pid)
        print(f"{options.clients} clients, {options.seconds:.0f} s, {options.events} event streams")
        print(result.report())
        print(f"requests/s: {result.requests / options.seconds:.0f}")
        print(f"wharfd before: {before}\nwharfd after:  {after}")
        for failure in result.failures[:20]:
            print("FAILED", failure)
    finally:
        daemon.stop()


if __name__ == "__main__":
    main()
