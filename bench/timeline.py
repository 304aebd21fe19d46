"""Where the time of one `docker run --rm busybox true` goes: every process wharfd and
wharf-containerd start (shim, runtime, CNI plugins, unshare, iptables), with when it was exec'd
and when it exited, relative to the moment the docker CLI was started.

Kernel tracepoints (`perf record -e sched:sched_process_{fork,exec,exit}`, no ptrace, so the
processes run at full speed) on a private wharfd; only descendants of wharfd, wharf-containerd
and the shims are shown. Gaps between spans are Python work in the daemons (or waiting).

    .venv/bin/python -m bench.timeline [--network none] [--runs 3]
    .venv/bin/python -m bench.timeline --setup "run -d --name sleeper busybox sleep 3600" --args "exec sleeper true"
"""

from __future__ import annotations

import argparse
import re
import shlex
import subprocess
import tempfile
import time
from pathlib import Path

from bench.engines import children_of, cmdline
from tests.fixtures.daemon import WharfDaemon

EVENT = re.compile(r"^\s*(.+?)\s+(\d+)\s+\[\d+\]\s+(\d+\.\d+): sched:(sched_process_\w+): (.*)$")


def parse(script: str, roots: set[int], since: float, zygotes: frozenset[int] = frozenset()
          ) -> list[tuple[float, float, str]]:
    """(start ms, end ms, program) of every descendant of `roots` exec'd after `since` (monotonic s),
    of every `wharf-shim start` forked by a shim zygote and of every wharf-runc forked by a shim (no
exec: the span is fork → exit)."""
    family = set(roots) | zygotes
    started: dict[int, tuple[float, str]] = {}
    forked: dict[int, float] = {}
    spans = []
    for line in script.splitlines():
        match = EVENT.match(line)
        if not match:
            continue
        pid, stamp, event, rest = int(match[2]), float(match[3]), match[4], match[5]
        fields = dict(item.split("=", 1) for item in rest.split() if "=" in item)
        if event == "sched_process_fork":
            if int(fields.get("pid", -1)) in family:
                family.add(int(fields["child_pid"]))
                if stamp >= since:
                    forked[int(fields["child_pid"])] = stamp
            if int(fields.get("pid", -1)) in zygotes and stamp >= since:
                started[int(fields["child_pid"])] = (stamp, "wharf-shim start (forked by the zygote)")
        elif event == "sched_process_exec" and pid in family and stamp >= since:
            started[pid] = (stamp, Path(fields.get("filename", "?")).name)
        elif event == "sched_process_exit" and pid in started and fields.get("group_dead") != "false":
            begin, program = started.pop(pid)
            spans.append(((begin - since) * 1000, (stamp - since) * 1000, program))
        elif event == "sched_process_exit" and pid in forked and fields.get("comm") == "wharf-runc":
            # wharf-runc run in a fork of its shim (or the runtime's own bootstrap fork): no exec.
            spans.append(((forked[pid] - since) * 1000, (stamp - since) * 1000, "wharf-runc (forked)"))
    spans += [((begin - since) * 1000, float("nan"), program + " (lives on)") for begin, program in started.values()]
    return sorted(spans)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--network", default="")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--args", default="", help="other docker CLI arguments to profile (e.g. \"exec sleeper true\")")
    parser.add_argument("--setup", action="append", default=[], metavar="ARGS",
                        help="docker CLI arguments run first (e.g. \"run -d --name sleeper busybox sleep 3600\")")
    args = parser.parse_args()
    command = (shlex.split(args.args) if args.args else
               ["run", "--rm", *(["--network", args.network] if args.network else []), "busybox", "true"])
    wharf = WharfDaemon()
    data = Path(tempfile.mkdtemp()) / "perf.data"
    try:
        wharf.start()
        wharf.import_busybox()
        for setup in args.setup:
            wharf.docker(*shlex.split(setup), check=True)
        wharf.docker(*command, check=True)  # warm
        # The running containers' shims too: they fork the runtime for `exec`.
        roots = {*wharf.supervisor_pids(), wharf.process.pid, *wharf.shim_pids()}  # type: ignore[union-attr]
        # The shim zygote was forked before the recording started: a root of its own.
        zygotes = frozenset(child for pid in wharf.supervisor_pids() for child in children_of(pid)
                            if "wharf-shim zygote" in cmdline(child))
        recorder = subprocess.Popen(
            ["perf", "record", "-q", "-k", "CLOCK_MONOTONIC", "-a", "-o", str(data),
             "-e", "sched:sched_process_fork", "-e", "sched:sched_process_exec", "-e", "sched:sched_process_exit"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1.0)
        marks = []
        for _ in range(args.runs):
            since = time.monotonic()
            wharf.docker(*command, check=True)
            marks.append((since, (time.monotonic() - since) * 1000))
            time.sleep(0.3)
        recorder.send_signal(2)
        recorder.wait()
        script = subprocess.run(["perf", "script", "-i", str(data)], capture_output=True, text=True).stdout
        for since, total in marks:
            print(f"--- docker {' '.join(command)}: {total:.1f} ms")
            for begin, end, program in parse(script, roots, since, zygotes):
                if begin <= total:
                    print(f"  {begin:7.1f} → {end:7.1f}  ({end - begin:6.1f} ms)  {program}")
    finally:
        wharf.stop()
        data.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
