"""Health checks (HEALTHCHECK, `--health-*`): a probe run as an exec in the container every interval,
its results kept in `State.Health` as Docker keeps them, `health_status` events on changes.

A monitor runs while its container runs: it starts on the container's `start` event and stops on
`die`/`destroy` (the event bus tells this service; the container service knows nothing of it).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import signal
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from wharf import errdefs
from wharf.daemon.backend.events import EventBus
from wharf.daemon.backend.exec import build_exec_process
from wharf.daemon.backend.record import ContainerRecord
from wharf.daemon.backend.state import Status
from wharf.daemon.backend.supervisor import Supervisor
from wharf.daemon.backend.timefmt import now_ns, rfc3339nano

log = logging.getLogger("wharfd.health")

DEFAULT_INTERVAL = 30.0
DEFAULT_TIMEOUT = 30.0
DEFAULT_RETRIES = 3
MAX_LOG_ENTRIES = 5
MAX_OUTPUT = 4096
STARTING, HEALTHY, UNHEALTHY = "starting", "healthy", "unhealthy"
_FRAME = struct.Struct(">BxxxI")


@dataclass
class HealthConfig:
    test: list[str]
    interval: float
    timeout: float
    start_period: float
    start_interval: float
    retries: int

    @property
    def command(self) -> list[str]:
        if self.test[0] == "CMD-SHELL":
            return ["/bin/sh", "-c", " ".join(self.test[1:])]
        return self.test[1:]


def _seconds(value: Any, default: float) -> float:
    """The API's durations are nanoseconds; 0 or absent means the default."""
    try:
        ns = int(value or 0)
    except (TypeError, ValueError):
        return default
    return ns / 1e9 if ns > 0 else default


def health_config(config: dict[str, Any]) -> HealthConfig | None:
    """The container's effective health check (create's Healthcheck, or the image's); None without one."""
    check = config.get("Healthcheck") or {}
    test = [str(t) for t in check.get("Test") or []]
    if not test or test[0] == "NONE" or (test[0] in ("CMD", "CMD-SHELL") and len(test) < 2):
        return None
    if test[0] not in ("CMD", "CMD-SHELL"):
        test = ["CMD-SHELL", *test] if len(test) == 1 else ["CMD", *test]
    interval = _seconds(check.get("Interval"), DEFAULT_INTERVAL)
    return HealthConfig(
        test=test, interval=interval, timeout=_seconds(check.get("Timeout"), DEFAULT_TIMEOUT),
        start_period=_seconds(check.get("StartPeriod"), 0.0),
        start_interval=_seconds(check.get("StartInterval"), interval),
        retries=int(check.get("Retries") or DEFAULT_RETRIES),
    )  # fmt: skip


@dataclass
class ProbeResult:
    start: int
    end: int
    exit_code: int
    output: str

    def to_api(self) -> dict[str, Any]:
        return {"Start": rfc3339nano(self.start), "End": rfc3339nano(self.end), "ExitCode": self.exit_code,
                "Output": self.output}


async def _read_output(reader: asyncio.StreamReader, limit: int) -> bytes:
    out = bytearray()
    while True:
        try:
            header = await reader.readexactly(_FRAME.size)
            _, size = _FRAME.unpack(header)
            payload = await reader.readexactly(size)
        except (asyncio.IncompleteReadError, ConnectionError):
            return bytes(out)
        if len(out) < limit:
            out += payload[: limit - len(out)]


class HealthService:
    def __init__(
        self, supervisor: Supervisor, events: EventBus, find_container: Callable[[str], ContainerRecord],
        save: Callable[[ContainerRecord], None],
    ) -> None:  # fmt: skip
        self._supervisor = supervisor
        self._events = events
        self._find = find_container
        self._save = save
        self._monitors: dict[str, asyncio.Task[None]] = {}
        events.add_observer(self._on_event)

    def _on_event(self, event: dict[str, Any]) -> None:
        if event.get("Type") != "container":
            return
        action, container_id = event.get("Action"), event["Actor"]["ID"]
        if action == "start":
            self.watch(container_id)
        elif action in ("die", "destroy"):
            self.unwatch(container_id)

    def watch(self, container_id: str) -> None:
        """Start the monitor of a running container that has a health check."""
        try:
            record = self._find(container_id)
        except errdefs.NotFound:
            return
        config = health_config(record.config)
        if config is None:
            return
        self.unwatch(container_id)
        # As Docker: every (re)start and daemon restart begins at "starting"; the log is kept.
        previous_log = (record.state.health or {}).get("Log") or []
        record.state.health = {"Status": STARTING, "FailingStreak": 0, "Log": previous_log}
        self._monitors[container_id] = asyncio.create_task(self._monitor(record, config),
                                                           name=f"health-{container_id[:12]}")

    def unwatch(self, container_id: str) -> None:
        monitor = self._monitors.pop(container_id, None)
        if monitor is not None:
            monitor.cancel()

    def watch_running(self, records: list[ContainerRecord]) -> None:
        """At daemon start: resume monitoring the containers that are still running."""
        for record in records:
            if record.state.running:
                self.watch(record.id)

    async def _monitor(self, record: ContainerRecord, config: HealthConfig) -> None:
        started = asyncio.get_running_loop().time()
        while True:
            in_start_period = asyncio.get_running_loop().time() - started < config.start_period
            health = record.state.health or {}
            interval = config.start_interval if in_start_period and health.get("Status") == STARTING else config.interval
            await asyncio.sleep(interval)
            if record.state.status is not Status.RUNNING:
                if record.state.running:
                    continue  # paused: no probes
                return
            try:
                result = await self._probe(record, config)
            except errdefs.WharfError as err:
                result = ProbeResult(now_ns(), now_ns(), -1, str(err))
            in_start_period = asyncio.get_running_loop().time() - started < config.start_period
            self._record(record, config, result, in_start_period)

    def _record(self, record: ContainerRecord, config: HealthConfig, result: ProbeResult, in_start_period: bool) -> None:
        health = record.state.health
        if health is None:
            return
        before = health["Status"]
        health["Log"] = [*health.get("Log", []), result.to_api()][-MAX_LOG_ENTRIES:]
        if result.exit_code == 0:
            health["FailingStreak"] = 0
            health["Status"] = HEALTHY
        elif not (in_start_period and before == STARTING):
            # Failures in the start period do not count (Docker's start period).
            health["FailingStreak"] = health.get("FailingStreak", 0) + 1
            if health["FailingStreak"] >= config.retries:
                health["Status"] = UNHEALTHY
        with contextlib.suppress(OSError):
            self._save(record)
        if health["Status"] != before:
            attributes = {"image": str(record.config.get("Image", "")), "name": record.name.lstrip("/")}
            self._events.publish("container", f"health_status: {health['Status']}", record.id, attributes)

    async def _probe(self, record: ContainerRecord, config: HealthConfig) -> ProbeResult:
        """Run the check as an exec, its output read from the shim's attach socket; killed at the timeout."""
        spec = (await self._supervisor.containers.get(record.id)).spec
        process = build_exec_process(spec, record.config, {"Cmd": config.command})
        exec_id = "health-" + secrets.token_hex(16)
        tasks = self._supervisor.tasks
        info = await tasks.exec(record.id, exec_id, process, user=str(record.config.get("User") or ""))
        start = now_ns()
        try:
            reader, writer = await asyncio.open_unix_connection(info.attach_socket)
        except OSError as err:
            raise errdefs.Unavailable(f"health check of {record.id}: attach: {err}") from err
        try:
            header = {"stdin": False, "stdout": True, "stderr": True, "exec_id": exec_id}
            writer.write(json.dumps(header).encode() + b"\n")
            await writer.drain()
            await tasks.start_exec(record.id, exec_id)
            output = asyncio.create_task(_read_output(reader, MAX_OUTPUT))
            try:
                status = await asyncio.wait_for(tasks.wait_exec(record.id, exec_id), config.timeout)
            except TimeoutError:
                with contextlib.suppress(errdefs.WharfError):
                    await tasks.kill_exec(record.id, exec_id, int(signal.SIGKILL))
                output.cancel()
                return ProbeResult(start, now_ns(), -1,
                                   f"Health check exceeded timeout ({config.timeout:g}s)")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(output), 2)
            text = output.result().decode(errors="replace") if output.done() else ""
            output.cancel()
            return ProbeResult(start, now_ns(), status.code, text)
        finally:
            writer.close()
            with contextlib.suppress(errdefs.WharfError, TimeoutError):
                await asyncio.wait_for(tasks.wait_exec(record.id, exec_id), 5)
                await tasks.delete_exec(record.id, exec_id)

    async def close(self) -> None:
        for container_id in list(self._monitors):
            self.unwatch(container_id)
