"""--log-max-size / --log-max-files: json-file rotation as Docker does it."""

from __future__ import annotations

import json
from pathlib import Path

from shim_world import ShimHost


def _lines(path: Path) -> list[str]:
    return [json.loads(line)["log"] for line in path.read_text().splitlines()]


def test_log_rotates_into_numbered_files_and_keeps_the_newest_lines(host: ShimHost) -> None:
    log = host.base / "rot.log"
    script = "i=1; while [ $i -le 300 ]; do echo line-$i-padding-padding-padding; i=$((i+1)); done"
    shim = host.start(["sh", "-c", script], "--log-path", str(log), "--log-max-size", "4000",
                      "--log-max-files", "3")
    shim.call("start")
    assert shim.call("wait")["exit_status"] == 0
    files = [log, Path(f"{log}.1"), Path(f"{log}.2")]
    assert all(path.exists() for path in files)
    assert not Path(f"{log}.3").exists()
    assert all(path.stat().st_size <= 4000 for path in files)
    kept = _lines(files[2]) + _lines(files[1]) + _lines(files[0])
    numbers = [int(line.split("-")[1]) for line in kept]
    assert numbers == list(range(numbers[0], 301))  # oldest lines dropped, no gap, none lost since
    assert numbers[0] > 1
    shim.finish()


def test_one_log_file_is_truncated_when_full(host: ShimHost) -> None:
    log = host.base / "one.log"
    script = "i=1; while [ $i -le 200 ]; do echo line-$i-padding-padding-padding; i=$((i+1)); done"
    shim = host.start(["sh", "-c", script], "--log-path", str(log), "--log-max-size", "3000")
    shim.call("start")
    shim.call("wait")
    assert not Path(f"{log}.1").exists()
    assert log.stat().st_size <= 3000
    assert _lines(log)[-1] == "line-200-padding-padding-padding\n"
    shim.finish()
