"""wharf-runc starts for every container operation: its hot path must not pull in heavy modules."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HEAVY = ("argparse", "asyncio", "subprocess", "logging", "wharf.containerd", "wharf.daemon", "wharf.shim")


def test_create_start_path_imports_nothing_heavy() -> None:
    code = (
        "import sys\n"
        "import wharf.runtime.cli, wharf.runtime.verbs, wharf.runtime.create, wharf.runtime.operations\n"
        f"print(' '.join(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == ""


# What the short verbs (state, start, kill, delete) may import beyond the interpreter's own start-up:
# no json (re, enum), no signal/socket (enum), no typing, no ctypes.
SHORT_VERB_FORBIDDEN = ("json", "re", "enum", "signal", "socket", "typing", "ctypes", "dataclasses", "subprocess")


def test_short_verbs_import_almost_nothing(tmp_path: Path) -> None:
    src = str(Path(__file__).resolve().parents[3] / "src")
    for verb in (["state", "x"], ["start", "x"], ["kill", "x", "KILL"], ["delete", "x"], ["delete", "-f", "x"]):
        code = ("import sys; sys.path.insert(0, sys.argv[1]); before = set(sys.modules)\n"
                "from wharf.runtime.cli import main\n"
                "main(sys.argv[2:])\n"
                f"print(' '.join(m for m in {SHORT_VERB_FORBIDDEN!r} if m in sys.modules))\n")
        out = subprocess.run([sys.executable, "-I", "-S", "-c", code, src, "--root", str(tmp_path), *verb],
                             capture_output=True, text=True, check=True).stdout
        assert out.strip() == "", (verb, out)
