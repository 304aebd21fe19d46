"""Time the OCI runtimes themselves: `wharf-runc` vs `runc` vs `crun` on a busybox `true` bundle.

Rounds are interleaved (each round times every runtime once), so the machine's load changes hit
all runtimes alike. For each runtime: `run` (create + start + wait + delete in one call), then `create`, `start` and
`delete` as separate calls, as containerd's shim makes them. Prints medians and quartiles, and each
runtime's ratio to runc. Not a test: numbers, not verdicts.

crun refuses this kind of hybrid-cgroup host; it is timed through the same private-mount-namespace
wrapper the tests use (`unshare` + `sh` in front of it), whose own cost is printed too.

    .venv/bin/python -m bench.runtime [--runs 30] [--runtimes wharf-runc,runc,crun]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from tests.fixtures.bundle import make_bundle

_CRUN_WRAPPER = """#!/bin/sh
exec unshare --mount --propagation private sh -c 'umount -l /sys/fs/cgroup/unified 2>/dev/null; exec "$0" "$@"' {crun} "$@"
"""
PHASES = ("run", "create", "start", "delete")


def runtime_command(name: str, work: Path) -> list[str] | None:
    if name == "wharf-runc":
        beside = Path(sys.executable).parent / "wharf-runc"
        return [str(beside)] if beside.exists() else None
    binary = shutil.which(name)
    if binary is None:
        return None
    if name == "crun":
        wrapper = work / "crun-wrapper"
        wrapper.write_text(_CRUN_WRAPPER.format(crun=binary))
        wrapper.chmod(0o755)
        return [str(wrapper)]
    return [binary]


def _call(command: list[str]) -> float:
    # stderr to a file, not a pipe: a created container's init inherits it and would hold a pipe open
    with tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        result = subprocess.run(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)
        elapsed = time.perf_counter() - started
        if result.returncode != 0:
            err.seek(0)
            raise RuntimeError(f"{' '.join(command)}: {err.read().decode(errors='replace')}")
    return elapsed


def time_round(command: list[str], bundle: Path, root: Path) -> tuple[float, ...]:
    """One round: `run`, then `create`, `start`, (wait) and `delete` of another container."""
    base = [*command, "--root", str(root)]
    cid = "bench-" + uuid.uuid4().hex[:10]
    run = _call([*base, "run", "--bundle", str(bundle), cid])
    cid = "bench-" + uuid.uuid4().hex[:10]
    create = _call([*base, "create", "--bundle", str(bundle), cid])
    start = _call([*base, "start", cid])
    _wait_stopped(base, cid)
    delete = _call([*base, "delete", cid])
    return run, create, start, delete


def time_runtimes(commands: dict[str, list[str]], bundle: Path, roots: dict[str, Path],
                  runs: int) -> dict[str, dict[str, list[float]]]:
    """Rounds interleaved across the runtimes, so a change in the machine's load hits them alike."""
    samples = {name: {phase: [] for phase in PHASES} for name in commands}
    for i in range(runs + 1):  # the first round warms caches and is dropped
        for name, command in commands.items():
            values = time_round(command, bundle, roots[name])
            if i:
                for phase, value in zip(PHASES, values, strict=True):
                    samples[name][phase].append(value)
    return samples


def _wait_stopped(base: list[str], cid: str) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        state = subprocess.run([*base, "state", cid], capture_output=True, text=True).stdout
        if '"stopped"' in state:
            return
        time.sleep(0.002)
    raise RuntimeError(f"{cid} did not stop")


def wrapper_cost(runs: int) -> float:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c",
                        'umount -l /sys/fs/cgroup/unified 2>/dev/null; exec "$0"', "true"], check=True)
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--runtimes", default="wharf-runc,runc,crun")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-runtime-") as tmp:
        work = Path(tmp)
        bundle = make_bundle(work / "bundle", ["true"])
        commands: dict[str, list[str]] = {}
        for name in args.runtimes.split(","):
            command = runtime_command(name, work)
            if command is None:
                print(f"{name}: not installed, skipped")
                continue
            commands[name] = command
        roots = {name: Path(f"/run/wb-{uuid.uuid4().hex[:8]}") for name in commands}
        try:
            all_samples = time_runtimes(commands, bundle, roots, args.runs)
        finally:
            for root in roots.values():
                shutil.rmtree(root, ignore_errors=True)
        medians: dict[str, dict[str, float]] = {}
        for name, samples in all_samples.items():
            medians[name] = {phase: statistics.median(values) for phase, values in samples.items()}
            for phase, values in samples.items():
                q1, median, q3 = statistics.quantiles(values, n=4)
                print(f"{name:10s} {phase:6s} median {median * 1000:7.1f} ms  (min {min(values) * 1000:.1f}, "
                      f"q1 {q1 * 1000:.1f}, q3 {q3 * 1000:.1f}, n={len(values)})")
        if "crun" in medians:
            print(f"(crun's numbers include its wrapper: unshare + sh cost {wrapper_cost(20) * 1000:.1f} ms a call)")
        if "runc" in medians:
            print()
            for name, phases in medians.items():
                ratios = "  ".join(f"{phase} {phases[phase] / medians['runc'][phase]:.2f}x" for phase in PHASES)
                print(f"{name:10s} vs runc: {ratios}")


if __name__ == "__main__":
    main()
