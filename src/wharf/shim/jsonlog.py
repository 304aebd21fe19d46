"""The json-file log, as Docker's json-file driver writes it.

One JSON object per line of output: `{"log": "line\\n", "stream": "stdout", "time": RFC3339Nano}`.
Output is split on newlines per stream; a partial last line is kept until its newline, until it
grows past MAX_LINE (then written as is, like Docker's 16 KiB partial messages) or until the stream
ends. With `max_size` the file is rotated into FILE.1 … FILE.(max_files-1); with one file it is
truncated instead, as Docker does.
"""

from __future__ import annotations

import json
import os
import time

MAX_LINE = 16 * 1024


class _Clock:
    """RFC3339 with nanoseconds in UTC; the seconds part is formatted once per second."""

    def __init__(self) -> None:
        self._second = -1
        self._prefix = ""

    def now(self) -> str:
        seconds, nanos = divmod(time.time_ns(), 1_000_000_000)
        if seconds != self._second:
            self._second = seconds
            self._prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
        return f"{self._prefix}.{nanos:09d}Z"


def _pieces(line: bytes) -> list[bytes]:
    return [line[start:start + MAX_LINE] for start in range(0, len(line), MAX_LINE)] or [line]


class JSONFileLog:
    def __init__(self, path: str, max_size: int = 0, max_files: int = 1) -> None:
        self.path = path
        self.max_size = max_size
        self.max_files = max(1, max_files)
        self._partial: dict[str, bytes] = {}
        self._clock = _Clock()
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o640)
        self._size = os.fstat(self._fd).st_size

    def write(self, stream: str, data: bytes) -> None:
        """Log a chunk of a stream's output: every complete line now, the rest later."""
        pending = self._partial.pop(stream, b"") + data
        lines = pending.split(b"\n")
        rest = lines.pop()
        entries: list[bytes] = []
        for line in lines:
            entries += _pieces(line + b"\n")
        if len(rest) >= MAX_LINE:
            pieces = _pieces(rest)
            rest = pieces.pop() if len(pieces[-1]) < MAX_LINE else b""
            entries += pieces
        if rest:
            self._partial[stream] = rest
        self._append(stream, entries)

    def end_of_stream(self, stream: str) -> None:
        rest = self._partial.pop(stream, b"")
        if rest:
            self._append(stream, [rest])

    def close(self) -> None:
        for stream in list(self._partial):
            self.end_of_stream(stream)
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def _append(self, stream: str, entries: list[bytes]) -> None:
        if not entries or self._fd < 0:
            return
        batch: list[bytes] = []
        batch_size = 0
        for entry in entries:
            record = self._encode(stream, entry)
            used = self._size + batch_size
            if self.max_size and used > 0 and used + len(record) > self.max_size:
                self._flush(batch)
                batch, batch_size = [], 0
                self._rotate()
            batch.append(record)
            batch_size += len(record)
        self._flush(batch)

    def _encode(self, stream: str, entry: bytes) -> bytes:
        text = entry.decode("utf-8", errors="replace")
        return (json.dumps({"log": text, "stream": stream, "time": self._clock.now()}) + "\n").encode()

    def _flush(self, batch: list[bytes]) -> None:
        if not batch:
            return
        data = b"".join(batch)
        view = memoryview(data)
        try:
            while view:
                written = os.write(self._fd, view)
                view = view[written:]
        except OSError:
            # A full disk: drop this output rather than leave half a JSON line in the log (and
            # keep the container running, as Docker's json-file does).
            try:
                os.ftruncate(self._fd, self._size)
            except OSError:
                pass
            return
        self._size += len(data)

    def _rotate(self) -> None:
        if self.max_files == 1:
            os.ftruncate(self._fd, 0)
            self._size = 0
            return
        os.close(self._fd)
        for index in range(self.max_files - 1, 1, -1):
            older = f"{self.path}.{index - 1}"
            if os.path.exists(older):
                os.replace(older, f"{self.path}.{index}")
        os.replace(self.path, f"{self.path}.1")
        self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o640)
        self._size = 0
