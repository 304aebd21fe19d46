"""Time `wharf version` and `wharf ps` against `docker version` and `docker ps`, on the same wharfd.

The daemon is a private WharfDaemon (its own sockets and data root) with busybox imported and a few
containers running, so `ps` has rows to print. The CLI's modules are byte-compiled first, as an
installed package is (PYTHONDONTWRITEBYTECODE would otherwise make every run compile them). Prints
the median and quartiles of each command and the ratio wharf/docker. Not a test: numbers.

    .venv/bin/python -m bench.cli_latency [--runs 50] [--containers 3]
"""

from __future__ import annotations

import argparse
import compileall
import os
import statistics
import subprocess
import time
from pathlib import Path

from tests.fixtures.daemon import VENV_BIN, WharfDaemon

SOURCES = Path(__file__).resolve().parents[1] / "src" / "wharf"


def time_command(argv: list[str], env: dict[str, str], runs: int) -> list[float]:
    subprocess.run(argv, env=env, capture_output=True, check=True)  # warm the page cache
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        samples.append(time.perf_counter() - started)
    return samples


def summary(name: str, samples: list[float]) -> str:
    q1, median, q3 = statistics.quantiles(samples, n=4)
    return f"{name:16s} median {median * 1000:6.1f} ms   (q1 {q1 * 1000:.1f}, q3 {q3 * 1000:.1f}, n={len(samples)})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--containers", type=int, default=3)
    args = parser.parse_args()
    for part in ("cli", "client"):
        compileall.compile_dir(str(SOURCES / part), quiet=1)
    compileall.compile_file(str(SOURCES / "errdefs.py"), quiet=1)
    compileall.compile_file(str(SOURCES / "__init__.py"), quiet=1)

    daemon = WharfDaemon()
    try:
        daemon.start()
        daemon.import_busybox()
        for index in range(args.containers):
            daemon.docker("run", "-d", "--name", f"bench-{index}", "busybox", "sleep", "600", check=True)
        env = dict(daemon.env)
        env["WHARF_HOST"] = daemon.host
        medians: dict[str, float] = {}
        for verb in ("version", "ps"):
            for cli in ("docker", str(VENV_BIN / "wharf")):
                samples = time_command([cli, verb], env, args.runs)
                name = f"{os.path.basename(cli)} {verb}"
                medians[name] = statistics.median(samples)
                print(summary(name, samples))
            ratio = medians[f"wharf {verb}"] / medians[f"docker {verb}"]
            print(f"{'':16s} ratio wharf/docker for {verb}: {ratio:.2f}x")
    finally:
        daemon.stop()


if __name__ == "__main__":
    main()
