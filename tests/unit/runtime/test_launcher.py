"""The wharf-runc launcher (scripts/wharf-runc): python -I -S on itself, wherever it is reached from."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

LAUNCHER = Path(sys.executable).parent / "wharf-runc"


@pytest.fixture
def launcher() -> Path:
    if not LAUNCHER.exists():
        pytest.skip("wharf-runc is not installed beside this interpreter")
    return LAUNCHER


def test_runs_isolated_without_site(launcher: Path, tmp_path: Path) -> None:
    out = subprocess.run([str(launcher), "--root", str(tmp_path), "list", "--format", "json"],
                         capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
    # what the launcher execs: the interpreter isolated and without site (no site-packages scan, no .pth)
    text = launcher.read_text()
    assert text.startswith("#!/bin/sh") and '-I -S "$self"' in text


def test_works_through_a_symlink(launcher: Path, tmp_path: Path) -> None:
    link = tmp_path / "wharf-runc"
    os.symlink(launcher, link)
    out = subprocess.run([str(link), "--version"], capture_output=True, text=True, check=True).stdout
    assert out.startswith("wharf-runc version")
