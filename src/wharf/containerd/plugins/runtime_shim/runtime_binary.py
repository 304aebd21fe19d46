"""Finding the OCI runtime a container names (`wharf-runc`, `runc`, `crun` or a path)."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path


def resolve_runtime(name: str) -> str:
    """A name is looked up beside our interpreter first (wharf-runc lives in the same venv), then on PATH."""
    if "/" in name:
        return name
    search = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", os.defpath)])
    return shutil.which(name, path=search) or name


def own_runtime() -> str | None:
    """The wharf-runc launcher of this installation (beside our interpreter), which runs the same
    `wharf` package as this process and its shims; None when it is not installed here."""
    path = os.path.join(os.path.dirname(sys.executable), "wharf-runc")
    return path if os.path.isfile(path) else None
