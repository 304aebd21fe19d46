"""`docker update` and `container:<ref>` namespaces over the fake supervisor: a running container's
new limits go to the supervisor's tasks.update (wharfd writes no cgroup); joins are resolved at start."""

from __future__ import annotations

import pytest

from tests.unit.daemon.harness import Harness, run
from wharf import errdefs
from wharf.daemon.backend import containers_namespaces
from wharf.daemon.backend.record import ContainerRecord
from wharf.daemon.backend.state import ContainerState, Status

MB = 1024 * 1024


async def _create(h: Harness, name: str, **host_config: object) -> str:
    body = {"Image": "busybox", "Cmd": ["sleep", "100"], "HostConfig": host_config}
    status, created, _ = await h.request("POST", f"/containers/create?name={name}", body)
    assert status == 201, created
    return str(created["Id"])


def _spec(h: Harness, container_id: str) -> dict:
    return h.supervisor.containers.items[container_id].spec


def test_update_of_a_running_container_asks_the_supervisor() -> None:
    async def scenario(h: Harness) -> None:
        await h.import_image()
        cid = await _create(h, "live", Memory=64 * MB)
        assert (await h.request("POST", f"/containers/{cid}/start"))[0] == 204
        status, body, _ = await h.request("POST", f"/containers/{cid}/update",
                                          {"Memory": 96 * MB, "MemorySwap": 200 * MB, "PidsLimit": 40})
        assert status == 200, body
        sent = h.supervisor.tasks.updated_resources[cid]
        assert sent["memory"]["limit"] == 96 * MB and sent["memory"]["swap"] == 200 * MB
        assert sent["pids"]["limit"] == 40 and "devices" not in sent
        stored = _spec(h, cid)["linux"]["resources"]
        assert stored["memory"]["limit"] == 96 * MB and "devices" in stored
        await h.request("POST", f"/containers/{cid}/kill")

    run(scenario)


def test_update_of_a_created_container_only_stores_it() -> None:
    async def scenario(h: Harness) -> None:
        await h.import_image()
        cid = await _create(h, "cold")
        status, body, _ = await h.request("POST", f"/containers/{cid}/update", {"PidsLimit": 33})
        assert status == 200, body
        assert cid not in h.supervisor.tasks.updated_resources
        assert _spec(h, cid)["linux"]["resources"]["pids"]["limit"] == 33
        status, inspect, _ = await h.request("GET", f"/containers/{cid}/json")
        assert inspect["HostConfig"]["PidsLimit"] == 33

    run(scenario)


def test_namespaces_of_another_container_are_joined_at_start() -> None:
    async def scenario(h: Harness) -> None:
        await h.import_image()
        donor = await _create(h, "donor")
        joiner = await _create(h, "joiner", IpcMode="container:donor", PidMode="container:donor")
        kinds = {ns["type"]: ns for ns in _spec(h, joiner)["linux"]["namespaces"]}
        assert "path" not in kinds["ipc"] and "path" not in kinds["pid"]
        status, body, _ = await h.request("POST", "/containers/joiner/start")
        assert status == 500
        assert body["message"] == f"can't join IPC of container {donor}: container {donor} is not running"
        assert (await h.request("POST", "/containers/donor/start"))[0] == 204
        assert (await h.request("POST", "/containers/joiner/start"))[0] == 204
        pid = h.supervisor.tasks.tasks[donor].pid
        kinds = {ns["type"]: ns for ns in _spec(h, joiner)["linux"]["namespaces"]}
        assert kinds["ipc"]["path"] == f"/proc/{pid}/ns/ipc" and kinds["pid"]["path"] == f"/proc/{pid}/ns/pid"
        for name in ("joiner", "donor"):
            await h.request("POST", f"/containers/{name}/kill")

    run(scenario)


def _record(container_id: str, status: Status, pid: int = 0) -> ContainerRecord:
    record = ContainerRecord(id=container_id, name=f"/{container_id[:4]}", created=0, path="sh", args=[],
                             config={}, host_config={}, image_id="", directory="/nonexistent")
    record.state = ContainerState(status=status, pid=pid)
    return record


def _finder(*records: ContainerRecord):  # type: ignore[no-untyped-def]
    def find(ref: str) -> ContainerRecord:
        for record in records:
            if ref in (record.id, record.name.lstrip("/")):
                return record
        raise errdefs.NotFound(f"No such container: {ref}")
    return find


def test_resolve_at_create_keeps_ids_and_refuses_missing_ipc_and_pid_peers() -> None:
    donor = _record("d" * 64, Status.CREATED)
    find = _finder(donor)
    resolved = containers_namespaces.resolve_at_create(
        {"IpcMode": "container:dddd", "PidMode": "", "NetworkMode": "container:nosuch"}, find)
    assert resolved["IpcMode"] == f"container:{donor.id}"
    assert resolved["NetworkMode"] == "container:nosuch"  # a network peer may come later
    with pytest.raises(errdefs.InvalidArgument, match="No such container: nosuch"):
        containers_namespaces.resolve_at_create({"PidMode": "container:nosuch"}, find)


def test_join_at_start_uses_the_peer_as_it_is_now() -> None:
    running, restarting = _record("a" * 64, Status.RUNNING, pid=4242), _record("b" * 64, Status.RESTARTING)
    find = _finder(running, restarting)
    spec = {"linux": {"namespaces": [{"type": "pid"}, {"type": "uts"}]}, "hostname": "x"}
    containers_namespaces.join_at_start(spec, {"PidMode": f"container:{running.id}"}, find)
    assert {"type": "pid", "path": "/proc/4242/ns/pid"} in spec["linux"]["namespaces"]
    with pytest.raises(errdefs.System, match=f"Container {restarting.id} is restarting"):
        containers_namespaces.join_at_start(spec, {"PidMode": f"container:{restarting.id}"}, find)
    with pytest.raises(errdefs.System, match="cannot join PID of a non running container: gone: No such container"):
        containers_namespaces.join_at_start(spec, {"PidMode": "container:gone"}, find)


def test_spec_at_create_leaves_the_joins_for_start() -> None:
    spec = {"linux": {"namespaces": [{"type": "ipc"}, {"type": "uts"}]}, "hostname": "box"}
    containers_namespaces.spec_at_create(spec, {"IpcMode": "container:abc", "UTSMode": "host"})
    assert {"type": "ipc"} in spec["linux"]["namespaces"] and "hostname" not in spec
