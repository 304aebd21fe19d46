"""The shim daemon stays small: no heavy modules, nothing of the runtime."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("asyncio", "subprocess", "argparse", "logging", "dataclasses", "inspect", "threading", "typing_extensions",
         "wharf.runtime", "wharf.containerd", "wharf.daemon", "aiohttp", "grpc", "msgspec")


def test_the_daemon_imports_nothing_heavy() -> None:
    code = ("import sys, wharf.shim.main, wharf.shim.daemon, wharf.shim.server;"
            f"print(' '.join(m for m in {HEAVY!r} if m in sys.modules))")
    # A fresh interpreter: what this test process imported must not count.
    result = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""
