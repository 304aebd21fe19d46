"""The json-file log writer: line splitting per stream, partial lines, rotation."""

from __future__ import annotations

import json
import re
from pathlib import Path

from wharf.shim.jsonlog import MAX_LINE, JSONFileLog


def _entries(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_one_entry_per_line_and_partial_lines_wait_for_their_newline(tmp_path: Path) -> None:
    path = tmp_path / "c.log"
    log = JSONFileLog(str(path))
    log.write("stdout", b"one\ntw")
    log.write("stderr", b"err")
    log.write("stdout", b"o\nthree")
    assert [(e["stream"], e["log"]) for e in _entries(path)] == [("stdout", "one\n"), ("stdout", "two\n")]
    log.end_of_stream("stdout")
    log.close()
    assert [(e["stream"], e["log"]) for e in _entries(path)][2:] == [("stdout", "three"), ("stderr", "err")]


def test_time_is_rfc3339_with_nanoseconds_in_utc(tmp_path: Path) -> None:
    path = tmp_path / "c.log"
    log = JSONFileLog(str(path))
    log.write("stdout", b"x\n")
    log.close()
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z", _entries(path)[0]["time"])


def test_a_long_line_is_split_into_partial_entries(tmp_path: Path) -> None:
    path = tmp_path / "c.log"
    log = JSONFileLog(str(path))
    log.write("stdout", b"a" * (MAX_LINE * 2 + 10) + b"\n")
    log.close()
    assert [len(e["log"]) for e in _entries(path)] == [MAX_LINE, MAX_LINE, 11]


def test_invalid_utf8_is_replaced_not_fatal(tmp_path: Path) -> None:
    path = tmp_path / "c.log"
    log = JSONFileLog(str(path))
    log.write("stdout", b"caf\xc3\xa9 \xff\n")
    log.close()
    assert _entries(path)[0]["log"] == "caf\u00e9 \ufffd\n"


def test_rotation_shifts_files_and_drops_the_oldest(tmp_path: Path) -> None:
    path = tmp_path / "c.log"
    log = JSONFileLog(str(path), max_size=300, max_files=3)
    for number in range(40):
        log.write("stdout", f"line {number:03d}\n".encode())
    log.close()
    files = [Path(f"{path}.2"), Path(f"{path}.1"), path]
    assert not Path(f"{path}.3").exists()
    assert all(file.stat().st_size <= 300 for file in files)
    kept = [e["log"] for file in files for e in _entries(file)]
    assert kept[-1] == "line 039\n"
    numbers = [int(line.split()[1]) for line in kept]
    assert numbers == list(range(numbers[0], 40))


def test_reopening_appends_and_counts_the_existing_size(tmp_path: Path) -> None:
    path = tmp_path / "c.log"
    path.write_text("x" * 250 + "\n")
    log = JSONFileLog(str(path), max_size=300, max_files=2)
    log.write("stdout", b"new line\n")
    log.close()
    assert Path(f"{path}.1").read_text() == "x" * 250 + "\n"
    assert _entries(path)[0]["log"] == "new line\n"
