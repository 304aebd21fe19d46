"""Every figure of issue 9, wharfd side by side with the real Docker engine, in one run.

    .venv/bin/python -m bench.all [--runs 20] [--many 100] [--many-images N] [--only wharf]

Each engine is a private instance (own sockets, data and exec roots; busybox imported from
Debian's busybox-static); the docker CLI is the client for both. Both run containers on a bridge:
Wharf on its default network, the Docker engine (Debian's docker.io, when installed) on a bridge
device made for it alone (tests/fixtures/dockerd.py `own_bridge`; no firewall rules on either
side's account but Wharf's one MASQUERADE rule per network). `run` is also measured with
`--network none` on both, and, as the figure earlier versions printed, against a second Docker
engine without any bridge (`--bridge none`: its containers only have loopback). Scale is
measured with `--many` containers (default 100, half running, half exited; the issue asks 500)
and `--many-images` images (default: as many; the issue asks 200), each a distinct image
imported from its own one-file layer; `ps -a` is also timed against the engine's own answers
replayed at once (bench/replay.py), the docker CLI's share that no engine can go below. Prints
every figure and the ratio wharf/docker. Not a test: numbers, not verdicts.
"""

from __future__ import annotations

import argparse
import io
import statistics
import subprocess
import tarfile
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor

from bench.engines import DockerEngine, Engine, WharfEngine, pss_kib, rss_kib
from bench.replay import ReplayingEngine

Figures = dict[str, float]


def _timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def _median_of(engine: Engine, args: tuple[str, ...], runs: int) -> float:
    engine.docker(*args, check=True)  # warm caches
    return statistics.median(_timed(lambda: engine.docker(*args, check=True)) for _ in range(runs))


RUN_ON_BRIDGE = "run --rm busybox true, both on a bridge, median (ms)"
RUN_DOCKER_WITHOUT_BRIDGE = "run --rm busybox true, docker --bridge none (old), median (ms)"


def measure_run(engine: Engine, runs: int, figures: Figures) -> None:
    figures[RUN_ON_BRIDGE] = 1000 * _median_of(engine, ("run", "--rm", "busybox", "true"), runs)
    figures["run --rm --network none busybox true, median (ms)"] = 1000 * _median_of(
        engine, ("run", "--rm", "--network", "none", "busybox", "true"), runs)


def measure_docker_without_bridge(runs: int) -> float:
    """`run --rm busybox true` (ms) on a Docker engine with no bridge at all, the earlier baseline."""
    engine = DockerEngine(own_bridge=False)
    try:
        engine.start()
        return 1000 * _median_of(engine, ("run", "--rm", "busybox", "true"), runs)
    finally:
        engine.stop()


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
        figures[f"{args[0]} with {label}, median (ms)"] = 1000 * _median_of(engine, args, runs)
    _client_floor(engine, runs, label, figures)


def _client_floor(engine: Engine, runs: int, label: str, figures: Figures) -> None:
    """`ps -a` against the engine's own answers replayed at once: the docker CLI's share alone."""
    argv, env = engine.docker_argv("ps", "-a")
    upstream = env["DOCKER_HOST"].removeprefix("unix://")
    with ReplayingEngine(upstream) as replay:
        replayed = {**env, "DOCKER_HOST": replay.host}

        def listing() -> None:
            # Read through pipes as engine.docker does: a bare wait with a timeout polls with
            # growing sleeps (up to 50 ms) and would time the polling, not the client.
            subprocess.run(argv, env=replayed, check=True, capture_output=True, timeout=60)

        listing()  # fetches the answers once
        figures[f"ps with {label}, the docker CLI alone (ms)"] = 1000 * statistics.median(
            _timed(listing) for _ in range(runs))


def _one_file_layer(number: int) -> bytes:
    """A tar of one small file whose content is `number`: a layer (and image) of its own."""
    content = f"{number}\n".encode()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        member = tarfile.TarInfo("bench-image")
        member.size = len(content)
        tar.addfile(member, io.BytesIO(content))
    return buffer.getvalue()


def _import_image(engine: Engine, number: int) -> None:
    argv, env = engine.docker_argv("import", "--change", 'CMD ["sh"]', "-", f"bench/image{number}:latest")
    result = subprocess.run(argv, env=env, input=_one_file_layer(number), capture_output=True, timeout=300)
    if result.returncode != 0:
        raise RuntimeError(f"{engine.name}: import failed: {result.stderr.decode()}")


def _add_container(engine: Engine, number: int) -> None:
    args = ("run", "-d", "busybox", "sleep", "100000") if number % 2 else ("run", "busybox", "true")
    result = engine.docker(*args)
    if result.returncode != 0:
        raise RuntimeError(f"{engine.name}: {' '.join(args)} failed: {result.stderr}")


def _in_parallel(action: Callable[[int], None], numbers: Iterable[int], jobs: int) -> None:
    # Set-up, not a measured figure: a few CLI calls at once keep both cores busy.
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        for _ in pool.map(action, numbers):
            pass


def _populate(engine: Engine, containers: range, images: range, jobs: int) -> None:
    _in_parallel(lambda number: _add_container(engine, number), containers, jobs)
    _in_parallel(lambda number: _import_image(engine, number), images, jobs)


def measure_scale(engine: Engine, many: int, many_images: int, runs: int, jobs: int, figures: Figures) -> None:
    _populate(engine, range(5), range(5), jobs)
    _listing_times(engine, runs, "5 containers, 5 images", figures)
    started = time.perf_counter()
    _populate(engine, range(5, many), range(5, many_images), jobs)
    print(f"  {engine.name:6s} (set-up of {many} containers, {many_images} images: "
          f"{time.perf_counter() - started:.0f} s)", flush=True)
    _listing_times(engine, runs, f"{many} containers, {many_images} images", figures)
    figures[f"engine start-up with {many} containers (s)"] = engine.restart()


def bench(engine: Engine, args: argparse.Namespace) -> Figures:
    figures: Figures = {}
    try:
        engine.start()
        measure_idle_memory(engine, figures)
        measure_run(engine, args.runs, figures)
        measure_sequential(engine, args.sequential, figures)
        measure_concurrent(engine, args.concurrent, figures)
        measure_exec(engine, args.runs, figures)
        measure_shims(engine, args.shims, figures)
        if args.many:
            measure_scale(engine, args.many, args.many_images, args.runs, args.jobs, figures)
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


def _inserted_after(figures: Figures, after: str, name: str, value: float) -> Figures:
    """`figures` with `name` placed right after `after`, so the report keeps related lines together."""
    result: Figures = {}
    for key, existing in figures.items():
        result[key] = existing
        if key == after:
            result[name] = value
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=20, help="samples per median")
    parser.add_argument("--sequential", type=int, default=50)
    parser.add_argument("--concurrent", type=int, default=20)
    parser.add_argument("--shims", type=int, default=20)
    parser.add_argument("--many", type=int, default=100, help="containers for scale (0: skip scale)")
    parser.add_argument("--many-images", type=int, help="images for scale (default: --many)")
    parser.add_argument("--jobs", type=int, default=4, help="CLI calls at once while setting up scale")
    parser.add_argument("--only", choices=("wharf", "docker"))
    args = parser.parse_args()
    if args.many_images is None:
        args.many_images = args.many

    wharf = bench(WharfEngine(), args) if args.only != "docker" else {}
    docker = None
    if args.only != "wharf":
        if DockerEngine.available():
            docker = bench(DockerEngine(), args)
            without_bridge = measure_docker_without_bridge(args.runs)
            print(f"  {'docker':6s} {RUN_DOCKER_WITHOUT_BRIDGE:55s} {without_bridge:9.3f}", flush=True)
            docker = _inserted_after(docker, RUN_ON_BRIDGE, RUN_DOCKER_WITHOUT_BRIDGE, without_bridge)
            if wharf:  # the earlier comparison: Wharf on its bridge against that bridge-less engine
                wharf = _inserted_after(wharf, RUN_ON_BRIDGE, RUN_DOCKER_WITHOUT_BRIDGE, wharf[RUN_ON_BRIDGE])
        else:
            print("docker: dockerd is not installed (apt-get install docker.io); no ratios")
    report(wharf or (docker or {}), docker if wharf else None)


if __name__ == "__main__":
    main()
