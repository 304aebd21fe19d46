"""Reading a container's json-file log (written by the shim): tail, since/until, follow."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import BinaryIO

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
    # The live file is held open from the start: a client that reads a followed log after the
    # container is removed (the docker SDK's `containers.run(remove=True)`) still gets it all.
    live = _open(path)
    try:
        entries, offset = read_existing(path, options)
        for entry in entries:
            yield entry
        if not options.follow:
            return
        # Follow: read what the shim appends until the container stops (then a last read).
        while True:
            running = still_running()
            if live is None:
                live, offset = _open(path), 0
            elif _rotated(live, path):
                for entry in _read_new(live, offset, options)[0]:  # the rest of the file rotated away
                    yield entry
                live.close()
                live, offset = _open(path), 0
            if live is not None:
                found, offset = _read_new(live, offset, options)
                for entry in found:
                    if options.until_ns and entry.time_ns > options.until_ns:
                        return
                    yield entry
            if not running:
                return
            await asyncio.sleep(FOLLOW_POLL_SECONDS)
    finally:
        if live is not None:
            live.close()


def _open(path: str) -> BinaryIO | None:
    try:
        return open(path, "rb")  # noqa: SIM115 - held across the follow loop, closed by it
    except FileNotFoundError:
        return None


def _rotated(live: BinaryIO, path: str) -> bool:
    """The shim renamed the live file away (to FILE.1) and started a new one."""
    try:
        return os.stat(path).st_ino != os.fstat(live.fileno()).st_ino
    except FileNotFoundError:
        return False  # removed with the container: what is open is all there will be


def _read_new(live: BinaryIO, offset: int, options: LogOptions) -> tuple[list[LogEntry], int]:
    """Complete lines written after `offset`, and the offset after them."""
    size = os.fstat(live.fileno()).st_size
    if size < offset:
        offset = 0  # truncated
    if size == offset:
        return [], offset
    data = os.pread(live.fileno(), size - offset, offset)
    complete = data[: data.rfind(b"\n") + 1]
    found = []
    for line in complete.splitlines():
        entry = _parse_line(line)
        if entry is not None and _wanted(entry, options):
            found.append(entry)
    return found, offset + len(complete)
