"""Every figure of issue 9, wharfd side by side with the real Docker engine, in one run.

    .venv/bin/python -m bench.all [--runs 20] [--many 100] [--only wharf]

Each engine is a private instance (own sockets, data and exec roots; busybox imported from
Debian's busybox-static); the docker CLI is the client for both. The Docker engine (Debian's
docker.io, when installed) runs without a bridge (`--bridge none`), so its containers only have
loopback; Wharf's default bridge networking is measured as is and, for the like-for-like figure,
with `--network none`. Scale is measured with `--many` containers (default 100, half running,
half exited; the issue's 500 takes minutes per engine) and as many image tags. Prints every
figure and the ratio wharf/docker. Not a test: numbers, not verdicts.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import time
from collections.abc import Callable

from bench.engines import DockerEngine, Engine, WharfEngine, pss_kib, rss_kib

Figures = dict[str, float]


def _timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def _median_of(engine: Engine, args: tuple[str, ...], runs: int) -> float:
    engine.docker(*args, check=True)  # warm caches
    return statistics.median(_timed(lambda: engine.docker(*args, check=True)) for _ in range(runs))


def measure_run(engine: Engine, runs: int, figures: Figures) -> None:
    figures["run --rm busybox true, median (ms)"] = 1000 * _median_of(engine, ("run", "--rm", "busybox", "true"), runs)
    figures["run --rm --network none busybox true, median (ms)"] = 1000 * _median_of(
        engine, ("run", "--rm", "--network", "none", "busybox", "true"), runs)


def measure_sequential(engine: Engine, count: int, figures: Figures) -> None:
    def lifecycle() -> None:
        container = engine.docker("create", "busybox", "true", check=True).stdout.strip()
        engine.docker("start", container, check=True)
        engine.docker("wait", container, check=True)
        engine.docker("rm", container, check=True)

    figures[f"{count} x create+start+wait+rm sequential, total (s)"] = sum(_timed(lifecycle) for _ in range(count))


def measure_concurrent(engine: Engine, count: int, figures: Figures) -> None:
    def all_at_once() -> None:
        processes = []
        for _ in range(count):
            argv, env = engine.docker_argv("run", "--rm", "busybox", "true")
            processes.append(subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE))
        for process in processes:
            _, err = process.communicate()
            if process.returncode != 0:
                raise RuntimeError(f"{engine.name}: concurrent run failed: {err.decode()}")

    figures[f"{count} x run --rm concurrent, wall (s)"] = _timed(all_at_once)


def measure_exec(engine: Engine, runs: int, figures: Figures) -> None:
    container = engine.docker("run", "-d", "busybox", "sleep", "1000", check=True).stdout.strip()
    try:
        figures["exec true, median (ms)"] = 1000 * _median_of(engine, ("exec", container, "true"), runs)
    finally:
        engine.docker("rm", "-f", container)


def measure_idle_memory(engine: Engine, figures: Figures) -> None:
    time.sleep(1.0)  # let start-up garbage settle
    pids = engine.daemon_pids()
    figures["idle RSS engine+supervisor (MiB)"] = sum(rss_kib(pid) for pid in pids) / 1024


def measure_shims(engine: Engine, count: int, figures: Figures) -> None:
    containers = [engine.docker("run", "-d", "busybox", "sleep", "1000", check=True).stdout.strip()
                  for _ in range(count)]
    try:
        shims = engine.shim_pids()
        if len(shims) < count:
            raise RuntimeError(f"{engine.name}: {len(shims)} shims for {count} containers")
        figures[f"shim RSS per container, {count} sleeping (MiB)"] = sum(map(rss_kib, shims)) / len(shims) / 1024
        figures[f"shim PSS per container, {count} sleeping (MiB)"] = sum(map(pss_kib, shims)) / len(shims) / 1024
    finally:
        engine.docker("rm", "-f", *containers)


def _listing_times(engine: Engine, runs: int, label: str, figures: Figures) -> None:
    some = engine.docker("ps", "-aq", check=True).stdout.split()[0]
    for args in (("ps", "-a"), ("images",), ("inspect", some)):
        figures[f"{' '.join(args[:1])} with {label}, median (ms)"] = 1000 * _median_of(engine, args, runs)


def _populate(engine: Engine, containers: int, tags: int) -> None:
    for number in range(containers):
        if number % 2:
            engine.docker("run", "-d", "busybox", "sleep", "100000", check=True)
        else:
            engine.docker("run", "busybox", "true", check=True)
    for number in range(tags):
        engine.docker("tag", "busybox", f"bench/image{number}:latest", check=True)


def measure_scale(engine: Engine, many: int, runs: int, figures: Figures) -> None:
    _populate(engine, 5, 5)
    _listing_times(engine, runs, "5", figures)
    _populate(engine, many - 5, many - 5)
    _listing_times(engine, runs, str(many), figures)
    figures[f"engine start-up with {many} containers (s)"] = engine.restart()


def bench(engine: Engine, args: argparse.Namespace) -> Figures:
    figures: Figures = {}
    engine.start()
    try:
        measure_idle_memory(engine, figures)
        measure_run(engine, args.runs, figures)
        measure_sequential(engine, args.sequential, figures)
        measure_concurrent(engine, args.concurrent, figures)
        measure_exec(engine, args.runs, figures)
        measure_shims(engine, args.shims, figures)
        if args.many:
            measure_scale(engine, args.many, args.runs, figures)
    finally:
        engine.stop()
    for name, value in figures.items():
        print(f"  {engine.name:6s} {name:55s} {value:9.3f}", flush=True)
    return figures


def report(wharf: Figures, docker: Figures | None) -> None:
    print()
    print(f"{'figure':58s} {'wharf':>9s} {'docker':>9s} {'ratio':>6s}")
    for name, value in wharf.items():
        other = docker.get(name) if docker else None
        ratio = f"{value / other:6.2f}" if other else "     -"
        other_text = f"{other:9.3f}" if other is not None else "        -"
        print(f"{name:58s} {value:9.3f} {other_text} {ratio}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=20, help="samples per median")
    parser.add_argument("--sequential", type=int, default=50)
    parser.add_argument("--concurrent", type=int, default=20)
    parser.add_argument("--shims", type=int, default=20)
    parser.add_argument("--many", type=int, default=100, help="containers and image tags for scale (0: skip)")
    parser.add_argument("--only", choices=("wharf", "docker"))
    args = parser.parse_args()

    wharf = bench(WharfEngine(), args) if args.only != "docker" else {}
    docker = None
    if args.only != "wharf":
        if DockerEngine.available():
            docker = bench(DockerEngine(), args)
        else:
            print("docker: dockerd is not installed (apt-get install docker.io); no ratios")
    report(wharf or (docker or {}), docker if wharf else None)


if __name__ == "__main__":
    main()
