"""wharfd's entry point: it starts the supervisor before importing the daemon.

wharfd's imports (aiohttp, gRPC, the services: ~0.35 s) and wharf-containerd's start-up (its own
imports, then restoring the shims: ~0.5 s and more with many containers) used to run one after the
other. The supervisor is now launched first, from this light module, so the two overlap;
`wharf.daemon.main` then connects to it as it always did.
"""

from __future__ import annotations


def main(argv: list[str] | None = None) -> None:
    from wharf.daemon.config import load_config
    from wharf.daemon.supervisor_process import launch_before_imports

    config = load_config(argv)
    launch_before_imports(config)
    from wharf.daemon.main import run

    run(config)
