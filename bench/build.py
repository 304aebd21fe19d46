"""`docker build` with the classic builder (DOCKER_BUILDKIT=0): Wharf vs the real Docker engine.

The same Dockerfile (FROM busybox, RUN, COPY of 1 MB and of 1,000 small files, ENV, CMD) built
cold (`--no-cache`) and with a full cache hit, through the docker CLI against a private wharfd and
a private dockerd. Prints medians and the ratio wharf/docker (below 1: Wharf is faster; the goal
for cache hits is at most 0.5). Not a test: numbers, not verdicts.

    .venv/bin/python -m bench.build [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Protocol

from tests.fixtures.daemon import WharfDaemon
from tests.fixtures.dockerd import DockerDaemon

DOCKERFILE = """\
FROM busybox
RUN echo prepared > /prepared
COPY big.bin /data/big.bin
COPY small/ /data/small/
ENV APP_MODE=bench
CMD ["sh"]
"""


class Engine(Protocol):
    @property
    def env(self) -> dict[str, str]: ...


def write_context(root: Path) -> None:
    (root / "Dockerfile").write_text(DOCKERFILE)
    (root / "big.bin").write_bytes(os.urandom(1 << 20))
    small = root / "small"
    small.mkdir()
    for number in range(1000):
        (small / f"file{number:04d}.txt").write_text(f"small file {number}\n")


def timed_build(engine: Engine, context: Path, *flags: str) -> float:
    env = dict(engine.env)
    env["DOCKER_BUILDKIT"] = "0"
    started = time.perf_counter()
    result = subprocess.run(["docker", "build", "-q", "-t", "bench-build:latest", *flags, str(context)],
                            capture_output=True, text=True, env=env, timeout=600)  # fmt: skip
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(f"build failed: {result.stderr}")
    return elapsed


def measure(engine: Engine, context: Path, runs: int) -> dict[str, float]:
    timed_build(engine, context)  # the first build fills the cache
    cold = [timed_build(engine, context, "--no-cache") for _ in range(runs)]
    cached = [timed_build(engine, context) for _ in range(runs)]
    return {"cold": statistics.median(cold), "cached": statistics.median(cached)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-build-") as temp:
        context = Path(temp)
        write_context(context)
        wharf = WharfDaemon()
        try:
            wharf.start()
            wharf.import_busybox()
            results["wharf"] = measure(wharf, context, args.runs)
        finally:
            wharf.stop()
        if DockerDaemon.available():
            docker = DockerDaemon()
            try:
                docker.start()
                docker.import_busybox()
                results["docker"] = measure(docker, context, args.runs)
            finally:
                docker.stop()
    for engine, numbers in results.items():
        print(f"{engine:7s} cold {numbers['cold'] * 1000:8.1f} ms   cache hit {numbers['cached'] * 1000:8.1f} ms")
    if "docker" in results:
        for kind in ("cold", "cached"):
            print(f"ratio wharf/docker {kind}: {results['wharf'][kind] / results['docker'][kind]:.2f}")
    else:
        print("docker: dockerd is not installed; no ratio")


if __name__ == "__main__":
    main()
