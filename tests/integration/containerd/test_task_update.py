"""tasks.update through a real wharf-containerd, wharf-shim and runc: new limits reach the task's
cgroups and its bundle's config.json; a stopped task's update is refused with FailedPrecondition."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest

from tests.fixtures.bundle import base_spec
from tests.integration.containerd.conftest import SupervisorProcess, run
from tests.integration.containerd.test_supervisor import IMAGE, _import_busybox, busybox_layer, container_id
from wharf import errdefs
from wharf.containerd.core.containers import Container
from wharf.containerd.core.tasks import CreateTaskOptions
from wharf.containerd.proxy import connect

__all__ = ["busybox_layer", "container_id"]  # fixtures shared with test_supervisor

MB = 1024 * 1024


def _cgroup(controller: str, cid: str, name: str) -> str:
    return Path(f"/sys/fs/cgroup/{controller}/{cid}/{name}").read_text().strip()


def test_update_of_a_running_task(supervisor: SupervisorProcess, busybox_layer: bytes, container_id: str) -> None:
    cid = container_id

    async def scenario() -> None:
        sup = await connect(str(supervisor.address))
        try:
            chain = await _import_busybox(sup, busybox_layer)
            await sup.snapshots.prepare(f"{cid}-rootfs", chain)
            spec = base_spec(["sleep", "1000"], hostname=cid)
            spec["linux"]["cgroupsPath"] = f"/{cid}"
            spec["linux"]["resources"]["pids"] = {"limit": 20}
            await sup.containers.create(Container(id=cid, image=IMAGE, runtime="runc", spec=spec,
                                                  snapshot_key=f"{cid}-rootfs"))
            await sup.tasks.create(cid, CreateTaskOptions())
            await sup.tasks.start(cid)
            assert _cgroup("pids", cid, "pids.max") == "20"

            await sup.tasks.update(cid, {"pids": {"limit": 35}, "memory": {"limit": 48 * MB}},
                                   {"io.wharf.updated": "yes"})
            assert _cgroup("pids", cid, "pids.max") == "35"
            assert _cgroup("memory", cid, "memory.limit_in_bytes") == str(48 * MB)
            bundle = json.loads((supervisor.base / "state" / "bundles" / cid / "config.json").read_text())
            assert bundle["linux"]["resources"]["pids"] == {"limit": 35}
            assert bundle["linux"]["resources"]["devices"] == [{"allow": False, "access": "rwm"}]
            assert bundle["annotations"]["io.wharf.updated"] == "yes"
            with pytest.raises(errdefs.NotFound):
                await sup.tasks.update("wt-no-such-task", {"pids": {"limit": 1}})

            await sup.tasks.kill(cid, signal.SIGKILL)
            await sup.tasks.wait(cid)
            with pytest.raises(errdefs.FailedPrecondition):
                await sup.tasks.update(cid, {"pids": {"limit": 40}})
            await sup.tasks.delete(cid)
            await sup.containers.delete(cid)
            await sup.snapshots.remove(f"{cid}-rootfs")
        finally:
            await sup.close()

    run(scenario())
