"""Interleaved A/B of `docker run --rm busybox true`: a base tree's code against the work tree's.

    .venv/bin/python -m bench.ab --base /tmp/ab-base/src [--runs 20] [--args "run --rm busybox true"]
    .venv/bin/python -m bench.ab --base-env WHARF_SHIM_ZYGOTE=0     (the same code, a switch off)
    .venv/bin/python -m bench.ab --docker                            (the real Docker engine as base)
    .venv/bin/python -m bench.ab --docker-bridge                     (the same, on a bridge of its own)
    .venv/bin/python -m bench.ab --base-env WHARF_RUNTIME_IN_PROCESS=0 \
        --setup "run -d --name sleeper busybox sleep 3600" --args "exec sleeper true"

Two private wharfds; the base one runs with `PYTHONPATH=<base>` so wharfd, wharf-containerd, the
shim and wharf-runc all import the base code. Runs alternate between the two, so both see the
same machine load (this machine is shared and noisy): compare the medians, not absolute figures.
Make a base with e.g. `git archive HEAD src/wharf | tar -x -C /tmp/ab-base`.
"""

from __future__ import annotations

import argparse
import shlex
import statistics
import time

from tests.fixtures.daemon import WharfDaemon
from tests.fixtures.dockerd import DockerDaemon


class BaseTreeDaemon(WharfDaemon):
    def __init__(self, base_src: str, extra_env: dict[str, str]) -> None:
        super().__init__()
        self.base_src = base_src
        self.extra_env = extra_env

    @property
    def env(self) -> dict[str, str]:
        env = super().env
        if self.base_src:
            env["PYTHONPATH"] = self.base_src
        env.update(self.extra_env)
        return env


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", default="", help="a src directory holding the base tree's wharf package")
    parser.add_argument("--docker", action="store_true",
                        help="the base is the private real Docker engine without a bridge (containers get "
                             "only loopback)")
    parser.add_argument("--docker-bridge", action="store_true",
                        help="the base is the private real Docker engine on a bridge made for it alone, "
                             "as Wharf's containers are on its default network (bench.all's main figure)")
    parser.add_argument("--base-env", action="append", default=[], metavar="KEY=VALUE",
                        help="an environment variable of the base daemons")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--args", default="run --rm busybox true", help="the docker CLI arguments to time")
    parser.add_argument("--setup", action="append", default=[], metavar="ARGS",
                        help="docker CLI arguments run once on each engine first (e.g. "
                             "\"run -d --name bench-sleeper busybox sleep 3600\" to time an exec into it)")
    args = parser.parse_args()
    command = shlex.split(args.args)
    base_env = dict(item.split("=", 1) for item in args.base_env)
    base: WharfDaemon | DockerDaemon = (DockerDaemon(own_bridge=args.docker_bridge)
                                        if args.docker or args.docker_bridge else BaseTreeDaemon(args.base, base_env))
    engines = {"base": base, "work": WharfDaemon()}
    samples: dict[str, list[float]] = {name: [] for name in engines}
    try:
        for engine in engines.values():
            engine.start()
            engine.import_busybox()
            for setup in args.setup:
                engine.docker(*shlex.split(setup), check=True)
            engine.docker(*command, check=True)  # warm caches
        for _ in range(args.runs):
            for name, engine in engines.items():
                started = time.perf_counter()
                engine.docker(*command, check=True)
                samples[name].append(time.perf_counter() - started)
    finally:
        for engine in engines.values():
            engine.stop()
    for name, values in samples.items():
        q1, median, q3 = statistics.quantiles(values, n=4)
        print(f"{name:5s} median {median * 1000:7.1f} ms  (q1 {q1 * 1000:.1f}, q3 {q3 * 1000:.1f}, n={len(values)})")
    print(f"work/base: {statistics.median(samples['work']) / statistics.median(samples['base']):.2f}")


if __name__ == "__main__":
    main()
