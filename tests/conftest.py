import os
import shutil

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Integration and interop tests need root (namespaces, mounts, cgroups); say so instead of failing.
    if os.geteuid() == 0:
        return
    skip = pytest.mark.skip(reason="needs root: real namespaces, mounts and cgroups")
    for item in items:
        if "/integration/" in str(item.path) or "/interop/" in str(item.path):
            item.add_marker(skip)


def require_binary(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not installed")
    return path
