"""An empty content store per test (the registry fixture is tests/integration/conftest.py's)."""

from pathlib import Path

import pytest

from wharf.containerd.plugins.content_local import LocalContentStore
from wharf.containerd.plugins.metadata_sqlite.db import open_db


@pytest.fixture
def content(tmp_path: Path) -> LocalContentStore:
    return LocalContentStore(tmp_path, open_db(tmp_path / "wharf.db"))


