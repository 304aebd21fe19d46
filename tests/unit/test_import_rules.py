"""The import rules of docs/architecture.md, checked on the source (no imports executed)."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "wharf"

# What each part may import of wharf, besides itself.
ALLOWED = {
    "errdefs": set(),
    "oci": set(),
    "linux": {"errdefs"},
    "runtime": {"oci", "linux", "errdefs"},
    "shim": {"errdefs", "linux"},
    "api": {"errdefs", "oci"},
    "client": {"api", "errdefs", "oci"},
    "cli": {"client", "api", "errdefs", "oci"},
}
# The shim runs any runtime binary; this one module runs our own wharf-runc's `main` in a fork instead
# (its command line, unchanged), so it alone may import the runtime.
SHIM_RUNTIME_FORK = PACKAGE / "shim" / "runtime_fork.py"
# wharfd reaches the supervisor only through its contracts and the gRPC proxy.
DAEMON_ALLOWED_CONTAINERD = ("wharf.containerd.core", "wharf.containerd.proxy")
# wharfd touches no container itself: no runtime code (cgroups, namespaces) and no shim in it.
DAEMON_FORBIDDEN = {"runtime", "shim"}


def _wharf_imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found += [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
    return [name for name in found if name == "wharf" or name.startswith("wharf.")]


def _part_of(path: Path) -> str:
    relative = path.relative_to(PACKAGE)
    return relative.parts[0].removesuffix(".py")


def _sources() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("source", _sources(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_follow_the_design(source: Path) -> None:
    part = _part_of(source)
    for name in _wharf_imports(source):
        pieces = name.split(".")
        if len(pieces) < 2 or pieces[1] == part:
            continue
        target = pieces[1]
        if source == SHIM_RUNTIME_FORK and target == "runtime":
            continue
        if part in ALLOWED:
            assert target in ALLOWED[part], f"{source}: {part} must not import {name}"
        elif part == "daemon" and target == "containerd":
            assert name.startswith(DAEMON_ALLOWED_CONTAINERD), f"{source}: wharfd must not import {name}"
        elif part == "daemon":
            assert target not in DAEMON_FORBIDDEN, f"{source}: wharfd must not import {name}"


def test_wharfd_may_not_import_the_runtime(tmp_path: Path) -> None:
    offender = PACKAGE / "daemon" / "backend" / "resource_update.py"
    assert not [n for n in _wharf_imports(offender) if n.startswith(("wharf.runtime", "wharf.shim"))]
    sneaky = tmp_path / "sneaky.py"
    sneaky.write_text("def apply():\n    from wharf.runtime import cgroups\n")
    assert _wharf_imports(sneaky) == ["wharf.runtime", "wharf.runtime.cgroups"]


def test_the_rules_can_fail(tmp_path: Path) -> None:
    offender = tmp_path / "bad.py"
    offender.write_text("from wharf.daemon import server\nimport wharf.runtime.cli\n")
    assert _wharf_imports(offender) == ["wharf.daemon", "wharf.daemon.server", "wharf.runtime.cli"]
