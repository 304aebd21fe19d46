"""Time `docker run --rm busybox true` (the docker CLI) against wharfd and the real Docker engine.

Both engines are private instances started here (own sockets and data roots; the Docker engine
without bridge or firewall rules, so both run containers with only a loopback interface). Prints
the median and quartiles of each and the ratio wharf/docker. Not a test: numbers, not verdicts.

    .venv/bin/python -m bench.run_latency [--runs 30] [--command true]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import time
from collections.abc import Callable

from tests.fixtures.daemon import WharfDaemon
from tests.fixtures.dockerd import DockerDaemon


def time_runs(run: Callable[[], subprocess.CompletedProcess[str]], runs: int) -> list[float]:
    run()  # warm caches: first-run costs are not what this measures
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        result = run()
        samples.append(time.perf_counter() - started)
        if result.returncode != 0:
            raise RuntimeError(f"run failed: {result.stderr}")
    return samples


def summary(name: str, samples: list[float]) -> str:
    q1, median, q3 = statistics.quantiles(samples, n=4)
    return f"{name:8s} median {median * 1000:7.1f} ms   (q1 {q1 * 1000:.1f}, q3 {q3 * 1000:.1f}, n={len(samples)})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--command", default="true")
    args = parser.parse_args()
    command = ("run", "--rm", "busybox", *args.command.split())

    medians = {}
    wharf = WharfDaemon()
    try:
        wharf.start()
        wharf.import_busybox()
        samples = time_runs(lambda: wharf.docker(*command), args.runs)
        medians["wharf"] = statistics.median(samples)
        print(summary("wharf", samples))
    finally:
        wharf.stop()

    if DockerDaemon.available():
        docker = DockerDaemon()
        try:
            docker.start()
            docker.import_busybox()
            samples = time_runs(lambda: docker.docker(*command), args.runs)
            medians["docker"] = statistics.median(samples)
            print(summary("docker", samples))
        finally:
            docker.stop()
        print(f"ratio wharf/docker: {medians['wharf'] / medians['docker']:.2f}")
    else:
        print("docker: dockerd is not installed (apt-get install docker.io); no ratio")


if __name__ == "__main__":
    main()
