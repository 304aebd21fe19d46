"""The CVE-2019-5736 guard refuses to exec the runtime's own binary, however it is reached."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from wharf.runtime import exe_guard


@pytest.fixture(autouse=True)
def remembered() -> None:
    exe_guard.remember_own_exe()


def _script(path: Path, interpreter: str) -> Path:
    path.write_text(f"#!{interpreter} -x\necho hi\n")
    path.chmod(0o755)
    return path


def test_own_exe_directly_and_through_a_symlink(tmp_path: Path) -> None:
    with pytest.raises(PermissionError, match="CVE-2019-5736"):
        exe_guard.refuse_runtime_binary("/proc/self/exe")
    os.symlink(os.path.realpath(sys.executable), tmp_path / "python-link")
    with pytest.raises(PermissionError):
        exe_guard.refuse_runtime_binary(str(tmp_path / "python-link"))


def test_a_shebang_chain_ending_in_our_exe(tmp_path: Path) -> None:
    inner = _script(tmp_path / "inner", "/proc/self/exe")
    outer = _script(tmp_path / "outer", str(inner))
    with pytest.raises(PermissionError):
        exe_guard.refuse_runtime_binary(str(outer))


def test_ordinary_programs_and_scripts_pass(tmp_path: Path) -> None:
    exe_guard.refuse_runtime_binary("/bin/sh")
    exe_guard.refuse_runtime_binary(str(_script(tmp_path / "script", "/bin/sh")))
    exe_guard.refuse_runtime_binary(str(tmp_path / "missing"))  # execve reports that one
