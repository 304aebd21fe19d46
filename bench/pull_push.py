"""Pull, push, save and load of a ~200 MB multi-layer image: Wharf vs the real Docker engine.

Everything is private and on loopback: the real registry (Debian's docker-registry) on 127.0.0.1
serves the image (seeded with skopeo from an OCI layout of random-content layers); a fresh,
empty registry receives each push (so no cross-repository mount turns a push into a no-op); a
private wharfd and a private dockerd do the work through the docker CLI. Prints MB/s of each and
the ratio wharf/docker (above 1: Wharf is faster). Not a test: numbers, not verdicts.

    .venv/bin/python -m bench.pull_push [--layers 5] [--layer-mb 40] [--runs 2]
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from tests.fixtures.daemon import WharfDaemon
from tests.fixtures.dockerd import DockerDaemon
from tests.fixtures.oci_layout import write_layout
from tests.fixtures.registry import Registry


class Engine(Protocol):
    def docker(self, *args: str, input: str | None = None, check: bool = False,
               timeout: float = 120.0) -> subprocess.CompletedProcess[str]: ...


def layer_tar(size: int, index: int) -> bytes:
    """A layer of a few files: random bytes (3/4, incompressible) and text (1/4, compressible),
    as real layers mix binaries and text."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        chunk = 4 << 20
        for number, start in enumerate(range(0, size, chunk)):
            length = min(chunk, size - start)
            if number % 4 == 3:
                line = f"layer {index} file {number}: the quick brown fox jumps over the lazy dog\n".encode()
                data = (line * (length // len(line) + 1))[:length]
            else:
                data = os.urandom(length)
            info = tarfile.TarInfo(f"data/layer{index}/file{number}.bin")
            info.size = length
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def seed_image(registry: Registry, work: Path, layers: int, layer_mb: int) -> tuple[str, int]:
    """Push the benchmark image to `registry`; return its name and compressed size."""
    tars = [layer_tar(layer_mb << 20, index) for index in range(layers)]
    layout = work / "layout"
    write_layout(layout, tars, tag="1")
    size = sum(p.stat().st_size for p in (layout / "blobs" / "sha256").iterdir())
    name = f"{registry.address}/bench/image:1"
    subprocess.run(["skopeo", "copy", "--dest-tls-verify=false", f"oci:{layout}:1", f"docker://{name}"],
                   check=True, capture_output=True)
    return name, size


def timed(action: Callable[[], subprocess.CompletedProcess[str]]) -> float:
    started = time.perf_counter()
    result = action()
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(f"failed: {result.stderr[-2000:]}")
    return elapsed


def measure(engine: Engine, image: str, work: Path, tag: str, runs: int) -> dict[str, list[float]]:
    """Seconds per operation, `runs` times each. Each push goes to a fresh, empty registry: with
    blobs already there (or mountable from a repository pushed before) a push measures nothing."""
    times: dict[str, list[float]] = {"pull": [], "push": [], "save": [], "load": []}
    archive = work / f"{tag}.tar"
    for _run in range(runs):
        engine.docker("rmi", "-f", image)
        engine.docker("image", "prune", "-f")
        times["pull"].append(timed(lambda: engine.docker("pull", image, timeout=600)))
        push_registry = Registry()
        push_registry.start()
        try:
            target = f"{push_registry.address}/{tag}/image:1"
            engine.docker("tag", image, target, check=True)
            times["push"].append(timed(lambda target=target: engine.docker("push", target, timeout=600)))  # type: ignore[misc]
            engine.docker("rmi", target, check=True)
        finally:
            push_registry.stop()
        archive.unlink(missing_ok=True)
        times["save"].append(timed(lambda: engine.docker("save", "-o", str(archive), image, timeout=600)))
        engine.docker("rmi", "-f", image, check=True)
        times["load"].append(timed(lambda: engine.docker("load", "-i", str(archive), timeout=600)))
    times["archive_bytes"] = [float(archive.stat().st_size)]
    archive.unlink(missing_ok=True)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--layers", type=int, default=5)
    parser.add_argument("--layer-mb", type=int, default=40)
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()

    source = Registry()
    wharf, docker = WharfDaemon(), DockerDaemon()
    with tempfile.TemporaryDirectory(prefix="wharf-bench-", dir="/var/tmp") as scratch:
        work = Path(scratch)
        try:
            source.start()
            image, compressed = seed_image(source, work, args.layers, args.layer_mb)
            uncompressed = args.layers * (args.layer_mb << 20)
            wharf.start()
            docker.start()
            results = {"wharf": measure(wharf, image, work, "wharf", args.runs),
                       "docker": measure(docker, image, work, "docker", args.runs)}
        finally:
            for stop in (wharf.stop, docker.stop, source.stop):
                try:
                    stop()
                except Exception as err:  # noqa: BLE001 - report, keep cleaning up
                    print(f"cleanup: {err}")
    print(f"image: {args.layers} layers, {uncompressed / 1e6:.0f} MB uncompressed, "
          f"{compressed / 1e6:.0f} MB in the registry (gzip); best of {args.runs} runs")
    print(f"{'operation':10s} {'wharf':>16s} {'docker':>16s} {'ratio':>8s}")
    for operation, volume in (("pull", compressed), ("push", compressed), ("save", None), ("load", None)):
        line = f"{operation:10s}"
        speeds = {}
        for engine in ("wharf", "docker"):
            seconds = min(results[engine][operation])
            size = volume if volume is not None else results[engine]["archive_bytes"][0]
            speeds[engine] = size / seconds / 1e6
            line += f" {seconds:6.2f}s {speeds[engine]:6.0f}MB/s"
        line += f" {speeds['wharf'] / speeds['docker']:7.2f}x"
        print(line)
    for engine in ("wharf", "docker"):
        print(f"{engine} raw seconds: " + ", ".join(
            f"{op} {statistics.mean(results[engine][op]):.2f}" for op in ("pull", "push", "save", "load")))


if __name__ == "__main__":
    main()
