"""`wharf-containerd`: the supervisor process."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
from pathlib import Path

from wharf.containerd.distribution.registry_config import RegistryConfig
from wharf.containerd.server import SupervisorConfig, serve


def _env_float(name: str) -> float | None:
    """A default from the environment (test daemons set WHARF_GC_GRACE for the supervisor wharfd starts)."""
    value = os.environ.get(name, "")
    try:
        return float(value) if value else None
    except ValueError:
        return None


def parse_args(argv: list[str] | None = None) -> tuple[SupervisorConfig, str]:
    parser = argparse.ArgumentParser(prog="wharf-containerd", description="Wharf's supervisor (gRPC).")
    parser.add_argument("--address", required=True, help="unix socket path to serve on")
    parser.add_argument("--root", required=True, help="persistent state: content, snapshots, wharf.db")
    parser.add_argument("--state", required=True, help="runtime state: bundles, shim state dirs")
    parser.add_argument("--runtime", default="wharf-runc", help="default OCI runtime (name or path)")
    parser.add_argument("--runtime-root", default=None, help="--root passed to the OCI runtime")
    parser.add_argument("--insecure-registry", action="append", default=[],
                        help="registry (host:port or CIDR) reachable over plain HTTP or unverified TLS")
    parser.add_argument("--registry-mirror", action="append", default=[], help="Docker Hub mirror URL")
    parser.add_argument("--gc-grace", type=float, default=_env_float("WHARF_GC_GRACE"),
                        help="seconds during which new content and snapshots are never garbage collected"
                             " (default: $WHARF_GC_GRACE, else 60)")
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    args = parser.parse_args(argv)
    config = SupervisorConfig(
        address=Path(args.address).absolute(),
        root=Path(args.root).absolute(),
        state=Path(args.state).absolute(),
        runtime=args.runtime,
        runtime_root=Path(args.runtime_root).absolute() if args.runtime_root else None,
        registry=RegistryConfig(insecure_registries=args.insecure_registry, mirrors=args.registry_mirror),
    )
    if args.gc_grace is not None:
        config.gc_grace = args.gc_grace
    return config, args.log_level


async def run(config: SupervisorConfig) -> None:
    server, supervisor = await serve(config)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    logging.getLogger(__name__).info("shutting down (tasks and their shims live on)")
    await server.stop(grace=2)
    await supervisor.close()


def main(argv: list[str] | None = None) -> int:
    config, log_level = parse_args(argv)
    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("grpc").setLevel(logging.WARNING)  # its debug output is one line per RPC
    asyncio.run(run(config))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
