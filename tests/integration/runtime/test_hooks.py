"""OCI lifecycle hooks run at their moments with the state on stdin."""

from __future__ import annotations

import json
from pathlib import Path

from tests.fixtures.bundle import make_bundle, read_spec, write_spec
from tests.integration.runtime.conftest import Runtime, new_id


def hook(out: Path) -> dict:
    return {"path": "/bin/sh", "args": ["sh", "-c", f"cat > {out}"], "timeout": 10}


def test_hooks_run_with_the_state_on_stdin(runtime: Runtime, tmp_path: Path) -> None:
    out = tmp_path / "hooks"
    out.mkdir()
    bundle = make_bundle(tmp_path / "b", ["sh", "-c", "echo ran"])
    spec = read_spec(bundle)
    spec["hooks"] = {kind: [hook(out / f"{kind}.json")] for kind in ("createRuntime", "createContainer",
                                                                     "poststart", "poststop")}
    # startContainer runs inside the container: its path and output are the container's.
    spec["hooks"]["startContainer"] = [hook(Path("/startContainer.json"))]
    spec["annotations"] = {"who": "test"}
    write_spec(bundle, spec)
    cid = new_id()
    result = runtime.run(bundle, cid)
    assert (result.returncode, result.stdout) == (0, "ran\n"), result.stderr
    for kind in ("createRuntime", "createContainer", "poststart", "poststop"):
        state = json.loads((out / f"{kind}.json").read_text())
        assert state["id"] == cid and state["bundle"] == str(bundle), kind
        assert state["annotations"] == {"who": "test"}
    assert json.loads((out / "createRuntime.json").read_text())["pid"] > 0
    assert json.loads((bundle / "rootfs" / "startContainer.json").read_text())["id"] == cid


def test_a_failing_create_hook_fails_create_and_cleans_up(runtime: Runtime, tmp_path: Path) -> None:
    bundle = make_bundle(tmp_path / "b", ["true"])
    spec = read_spec(bundle)
    spec["hooks"] = {"createRuntime": [{"path": "/bin/sh", "args": ["sh", "-c", "echo no >&2; exit 3"]}]}
    write_spec(bundle, spec)
    cid = new_id()
    result = runtime.call("create", "--bundle", str(bundle), cid)
    assert result.returncode != 0
    assert cid not in runtime.ids()
