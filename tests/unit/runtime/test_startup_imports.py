"""wharf-runc starts for every container operation: its hot path must not pull in heavy modules."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("argparse", "asyncio", "subprocess", "logging", "wharf.containerd", "wharf.daemon", "wharf.shim")


def test_create_start_path_imports_nothing_heavy() -> None:
    code = (
        "import sys\n"
        "import wharf.runtime.cli, wharf.runtime.verbs, wharf.runtime.create, wharf.runtime.operations\n"
        f"print(' '.join(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == ""
