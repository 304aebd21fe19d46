"""A `create` killed with SIGKILL midway leaves cgroups and a state dir; `delete --force` removes them all."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

from tests.fixtures.bundle import make_bundle, read_spec, write_spec
from tests.integration.runtime.conftest import Runtime, cgroup_dirs_named, new_id


def test_delete_force_cleans_up_after_a_create_killed_midway(wharf_runc: Runtime, tmp_path: Path) -> None:
    # A createRuntime hook holds `create` in the middle: cgroups made, the init forked and waiting.
    hook_pid_file = tmp_path / "hook.pid"
    bundle = make_bundle(tmp_path / "b", ["true"])
    spec = read_spec(bundle)
    spec["hooks"] = {"createRuntime": [{"path": "/bin/sh",
                                        "args": ["sh", "-c", f"echo $$ > {hook_pid_file}; exec sleep 60"]}]}
    write_spec(bundle, spec)
    cid = new_id()
    create = subprocess.Popen(wharf_runc.cmd("create", "--bundle", str(bundle), cid),
                              stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    hook_pid = 0
    try:
        deadline = time.monotonic() + 15
        while not (hook_pid_file.exists() and hook_pid_file.read_text().strip()):
            assert time.monotonic() < deadline, "the hook never ran"
            assert create.poll() is None, "create ended before its hook ran"
            time.sleep(0.01)
        hook_pid = int(hook_pid_file.read_text())
        create.send_signal(signal.SIGKILL)
        create.wait(timeout=10)
        assert cgroup_dirs_named(cid), "the killed create should have left its cgroups"
        assert (wharf_runc.root / cid).exists()

        wharf_runc.ok("delete", "--force", cid)
        assert cgroup_dirs_named(cid) == []
        assert not (wharf_runc.root / cid).exists()
        assert cid not in wharf_runc.ids()
    finally:
        if create.poll() is None:
            create.kill()
            create.wait()
        if hook_pid:
            try:
                os.kill(hook_pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
