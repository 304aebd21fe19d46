"""Reading a container's json-file log (written by the shim): tail, since/until, follow."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from wharf.daemon.backend.timefmt import parse_rfc3339

FOLLOW_POLL_SECONDS = 0.1


@dataclass
class LogEntry:
    stream: str
    """`stdout` or `stderr`."""
    data: bytes
    time: str
    """RFC3339Nano, as written."""

    @property
    def time_ns(self) -> int:
        return parse_rfc3339(self.time)


@dataclass
class LogOptions:
    stdout: bool = True
    stderr: bool = True
    follow: bool = False
    tail: int | None = None
    """Last N lines only (None: all)."""
    since_ns: int = 0
    until_ns: int = 0


def _parse_line(line: bytes) -> LogEntry | None:
    try:
        record = json.loads(line)
        return LogEntry(record.get("stream", "stdout"), record.get("log", "").encode(), record.get("time", ""))
    except (ValueError, AttributeError):
        return None  # a torn last line while the shim is writing


def _log_files(path: str) -> list[str]:
    """Rotated files oldest first (`FILE.N` … `FILE.1`), then the live one."""
    rotated = []
    number = 1
    while os.path.exists(f"{path}.{number}"):
        rotated.append(f"{path}.{number}")
        number += 1
    return [*reversed(rotated), path]


def _wanted(entry: LogEntry, options: LogOptions) -> bool:
    if entry.stream == "stdout" and not options.stdout:
        return False
    if entry.stream == "stderr" and not options.stderr:
        return False
    if options.since_ns or options.until_ns:
        ns = entry.time_ns
        if options.since_ns and ns < options.since_ns:
            return False
        if options.until_ns and ns > options.until_ns:
            return False
    return True


def read_existing(path: str, options: LogOptions) -> tuple[list[LogEntry], int]:
    """Entries already written and the offset of the live file's end (where following resumes)."""
    entries: list[LogEntry] = []
    offset = 0
    for file in _log_files(path):
        try:
            with open(file, "rb") as source:
                data = source.read()
        except FileNotFoundError:
            continue
        complete = data[: data.rfind(b"\n") + 1]
        if file == path:
            offset = len(complete)
        for line in complete.splitlines():
            entry = _parse_line(line)
            if entry is not None and _wanted(entry, options):
                entries.append(entry)
    if options.tail is not None:
        entries = entries[-options.tail:] if options.tail > 0 else []
    return entries, offset


async def read_log(path: str, options: LogOptions, still_running: Callable[[], bool]) -> AsyncIterator[LogEntry]:
    entries, offset = read_existing(path, options)
    for entry in entries:
        yield entry
    if not options.follow:
        return
    # Follow: read what the shim appends until the container stops (then a last read).
    while True:
        running = still_running()
        try:
            size = os.path.getsize(path)
        except FileNotFoundError:
            size = 0
        if size < offset:
            offset = 0  # rotated: the live file starts again
        if size > offset:
            with open(path, "rb") as source:
                source.seek(offset)
                data = source.read(size - offset)
            complete = data[: data.rfind(b"\n") + 1]
            offset += len(complete)
            for line in complete.splitlines():
                entry = _parse_line(line)
                if entry is not None and _wanted(entry, options):
                    if options.until_ns and entry.time_ns > options.until_ns:
                        return
                    yield entry
        if not running:
            return
        await asyncio.sleep(FOLLOW_POLL_SECONDS)
