"""Containers over the fake supervisor: create, inspect, list, run with attach, wait, logs, stop,
kill, rm, --rm, restart of wharfd."""

import asyncio
import json
import os

from tests.unit.daemon.harness import Harness, read_frames, run, started

JSON = {"Content-Type": "application/json"}


async def _create(h: Harness, name: str = "", **config: object) -> str:
    body = {"Image": "busybox", **config}
    status, created, _ = await h.request("POST", f"/containers/create?name={name}", body)
    assert status == 201, created
    assert created["Warnings"] == []
    return str(created["Id"])


def test_create_errors() -> None:
    async def scenario(h: Harness) -> None:
        await h.import_image()
        for raw in (b"{not json", b'{"Image": "busybox", "Cmd": ', b"[1, 2, 3]", b'"a string"', b"\xff\xfe\x00"):
            status, body, _ = await h.request("POST", "/containers/create", raw=raw, headers=JSON)
            assert status == 400 and body["message"], raw
        status, body, _ = await h.request("POST", "/containers/create", {"Image": "nosuchimage:1"})
        assert status == 404 and body["message"] == "No such image: nosuchimage:1"
        status, body, _ = await h.request("POST", "/containers/create", {"Image": "busybox2"})
        assert status == 404 and body["message"] == "No such image: busybox2:latest"
        status, body, _ = await h.request("POST", "/containers/create", {"Image": "Not A/Valid:ref"})
        assert status == 400 and "invalid reference format" in body["message"]
        status, body, _ = await h.request("POST", "/containers/create?name=-bad/name", {"Image": "busybox"})
        assert status == 400 and "Invalid container name" in body["message"]
        first = await _create(h, "web")
        status, body, _ = await h.request("POST", "/containers/create?name=web", {"Image": "busybox"})
        assert status == 409
        assert body["message"] == (
            f'Conflict. The container name "/web" is already in use by container "{first}". '
            "You have to remove (or rename) that container to be able to reuse that name."
        )

    run(scenario)


def test_create_and_inspect() -> None:
    async def scenario(h: Harness) -> None:
        image_id = await h.import_image(changes=('CMD ["sh"]', "ENV PATH=/bin", "ENV A=image"))
        container_id = await _create(h, "box", Env=["A=mine"], User="nobody", HostConfig={"Memory": 1 << 26})
        assert len(container_id) == 64 and int(container_id, 16) >= 0
        for ref in (container_id, container_id[:8], "box"):
            status, inspect, _ = await h.request("GET", f"/containers/{ref}/json")
            assert status == 200 and inspect["Id"] == container_id, ref
        assert inspect["Name"] == "/box"
        assert inspect["Path"] == "sh" and inspect["Args"] == []
        assert inspect["Image"] == image_id
        assert inspect["State"]["Status"] == "created" and inspect["State"]["Running"] is False
        assert inspect["State"]["StartedAt"] == "0001-01-01T00:00:00Z"
        assert inspect["Config"]["Image"] == "busybox"
        assert inspect["Config"]["Env"] == ["A=mine", "PATH=/bin"]
        assert inspect["Config"]["Hostname"] == container_id[:12]
        assert inspect["HostConfig"]["Memory"] == 1 << 26
        assert inspect["Driver"] == "overlayfs"
        directory = os.path.join(h.root, "data", "containers", container_id)
        assert inspect["HostnamePath"] == os.path.join(directory, "hostname")
        with open(inspect["HostnamePath"]) as f:
            assert f.read() == container_id[:12] + "\n"
        with open(inspect["ResolvConfPath"]) as f:
            assert "nameserver 127." not in f.read()
        assert os.path.exists(os.path.join(directory, "config.v2.json"))
        stored = h.supervisor.containers.items[container_id]
        assert stored.snapshot_key == container_id
        assert stored.spec["process"]["args"] == ["sh"]
        assert stored.spec["annotations"]["io.wharf.user"] == "nobody"
        assert stored.spec["linux"]["resources"]["memory"]["limit"] == 1 << 26
        assert stored.spec["linux"]["cgroupsPath"] == f"/wharf-unit/{container_id}"
        assert container_id in h.supervisor.snapshots.items

        status, body, _ = await h.request("GET", "/containers/0123456789abcdef-nope/json")
        assert status == 404 and body["message"] == "No such container: 0123456789abcdef-nope"

    run(scenario)


def test_run_flow_attach_wait_start_logs() -> None:
    """What `docker run busybox sh -c 'echo out; echo err >&2'` does, in its order."""

    async def scenario(h: Harness) -> None:
        await h.import_image()
        container_id = await _create(h, "", Cmd=["sh", "-c", "echo out; echo err >&2"], AttachStdout=True,
                                     AttachStderr=True)
        reader, writer, head = await h.hijack(
            f"/v1.51/containers/{container_id}/attach?stream=1&stdout=1&stderr=1"
        )
        assert head.startswith(b"HTTP/1.1 101 UPGRADED\r\n")
        assert b"Content-Type: application/vnd.docker.multiplexed-stream" in head
        writer.write_eof()  # the CLI's CloseWrite when there is no stdin
        waiting = asyncio.create_task(h.request("POST", f"/containers/{container_id}/wait?condition=next-exit"))
        await asyncio.sleep(0.05)
        status, _, _ = await h.request("POST", f"/containers/{container_id}/start")
        assert status == 204
        frames = await read_frames(reader)
        writer.close()
        assert sorted(frames) == [(1, b"out\n"), (2, b"err\n")]
        status, result, _ = await waiting
        assert status == 200 and result == {"StatusCode": 0, "Error": None}
        status, inspect, _ = await h.request("GET", f"/containers/{container_id}/json")
        assert inspect["State"]["Status"] == "exited" and inspect["State"]["ExitCode"] == 0
        assert inspect["State"]["FinishedAt"] != "0001-01-01T00:00:00Z"
        assert h.supervisor.tasks.tasks == {}  # the task was deleted at exit
        async with h.session.get(f"http://docker/containers/{container_id}/logs?stdout=1&stderr=1") as resp:
            assert resp.headers["Content-Type"] == "application/vnd.docker.multiplexed-stream"
            data = await resp.read()
        assert data == b"\x01\x00\x00\x00\x00\x00\x00\x04out\n\x02\x00\x00\x00\x00\x00\x00\x04err\n"
        async with h.session.get(f"http://docker/containers/{container_id}/logs?stderr=1") as resp:
            assert await resp.read() == b"\x02\x00\x00\x00\x00\x00\x00\x04err\n"
        # Starting again works (a fresh task).
        status, _, _ = await h.request("POST", f"/containers/{container_id}/start")
        assert status == 204

    run(scenario)


def test_tty_attach_is_raw_and_stdin_flows() -> None:
    async def scenario(h: Harness) -> None:
        await h.import_image()
        container_id = await _create(h, "", Cmd=["cat"], Tty=True, OpenStdin=True, StdinOnce=True)
        reader, writer, head = await h.hijack(
            f"/containers/{container_id}/attach?stream=1&stdin=1&stdout=1&stderr=1"
        )
        assert b"Content-Type: application/vnd.docker.raw-stream" in head
        status, _, _ = await h.request("POST", f"/containers/{container_id}/start")
        assert status == 204
        options = h.supervisor.tasks.created_options[container_id]
        assert options.terminal and options.stdin
        writer.write(b"hello\n")
        await writer.drain()
        assert await reader.readexactly(6) == b"hello\n"
        writer.write_eof()  # with a terminal (as moby): the attachment ends, the container runs on
        assert await reader.read() == b""
        writer.close()
        status, inspected, _ = await h.request("GET", f"/containers/{container_id}/json")
        assert inspected["State"]["Running"] is True
        await h.request("POST", f"/containers/{container_id}/kill")
        status, result, _ = await h.request("POST", f"/containers/{container_id}/wait")
        assert result["StatusCode"] == 137

    run(scenario)


def test_auto_remove_and_wait_removed() -> None:
    async def scenario(h: Harness) -> None:
        await h.import_image()
        container_id = await _create(h, "gone", Cmd=["sh", "-c", "exit 3"], HostConfig={"AutoRemove": True})
        waiting = asyncio.create_task(h.request("POST", f"/containers/{container_id}/wait?condition=removed"))
        await asyncio.sleep(0.05)
        await h.request("POST", f"/containers/{container_id}/start")
        status, result, _ = await waiting
        assert status == 200 and result["StatusCode"] == 3
        status, _, _ = await h.request("GET", f"/containers/{container_id}/json")
        assert status == 404
        assert container_id not in h.supervisor.containers.items
        assert container_id not in h.supervisor.snapshots.items
        assert not os.path.exists(os.path.join(h.root, "data", "containers", container_id))
        # The name is free again.
        await _create(h, "gone")

    run(scenario)


def test_stop_kill_rm_and_list() -> None:
    async def scenario(h: Harness) -> None:
        await h.import_image()
        sleeper = await _create(h, "sleeper", Cmd=["sleep", "60"], Labels={"role": "test"})
        idle = await _create(h, "idle", Cmd=["echo", "x"])
        await h.request("POST", f"/containers/{sleeper}/start")
        status, _, _ = await h.request("POST", f"/containers/{sleeper}/start")
        assert status == 304

        status, listed, _ = await h.request("GET", "/containers/json")
        assert [c["Id"] for c in listed] == [sleeper]
        assert listed[0]["Names"] == ["/sleeper"] and listed[0]["State"] == "running"
        assert listed[0]["Status"].startswith("Up ") and listed[0]["Command"] == "sleep 60"
        assert listed[0]["Labels"] == {"role": "test"}
        status, listed, _ = await h.request("GET", "/containers/json?all=1")
        assert [c["Id"] for c in listed] == [idle, sleeper]
        assert listed[0]["Status"] == "Created"
        filters = json.dumps({"name": {"idle": True}})
        status, listed, _ = await h.request("GET", f"/containers/json?all=1&filters={filters}")
        assert [c["Id"] for c in listed] == [idle]
        filters = json.dumps({"label": ["role=test"], "status": ["running"]})
        status, listed, _ = await h.request("GET", f"/containers/json?all=1&filters={filters}")
        assert [c["Id"] for c in listed] == [sleeper]

        status, body, _ = await h.request("DELETE", "/containers/sleeper")
        assert status == 409
        assert body["message"] == ('cannot remove container "/sleeper": container is running: stop the '
                                   "container before removing or force remove")
        status, body, _ = await h.request("POST", f"/containers/{idle}/kill")
        assert status == 409 and body["message"] == f"Cannot kill container: {idle}: Container {idle} is not running"
        status, _, _ = await h.request("POST", f"/containers/{idle}/stop")
        assert status == 304

        status, _, _ = await h.request("POST", "/containers/sleeper/stop?t=5")
        assert status == 204
        status, inspect, _ = await h.request("GET", "/containers/sleeper/json")
        assert inspect["State"]["ExitCode"] == 143 and inspect["State"]["Status"] == "exited"
        status, listed, _ = await h.request("GET", "/containers/json?all=1")
        assert listed[1]["Status"].startswith("Exited (143) ")

        await h.request("POST", f"/containers/{sleeper}/start")
        status, _, _ = await h.request("POST", f"/containers/{sleeper}/kill")
        assert status == 204
        status, result, _ = await h.request("POST", f"/containers/{sleeper}/wait")
        assert result["StatusCode"] == 137

        await h.request("POST", f"/containers/{sleeper}/start")
        status, _, _ = await h.request("DELETE", f"/containers/{sleeper}?force=1")
        assert status == 204
        status, _, _ = await h.request("GET", f"/containers/{sleeper}/json")
        assert status == 404

    run(scenario)


def test_start_failure_is_reported() -> None:
    async def scenario(h: Harness) -> None:
        await h.import_image()
        container_id = await _create(h, "", Cmd=["no-such-binary"])
        status, body, _ = await h.request("POST", f"/containers/{container_id}/start")
        assert status == 400 and "executable file not found" in body["message"]
        status, inspect, _ = await h.request("GET", f"/containers/{container_id}/json")
        assert inspect["State"]["ExitCode"] == 127 and "executable file" in inspect["State"]["Error"]

    run(scenario)


def test_events_stream() -> None:
    async def scenario(h: Harness) -> None:
        await h.import_image()
        async with h.session.get("http://docker/events") as resp:
            container_id = await _create(h, "evented", Cmd=["echo", "x"])
            await h.request("POST", f"/containers/{container_id}/start")
            actions = []
            while len(actions) < 3:
                event = json.loads(await resp.content.readline())
                if event["Type"] == "container":
                    actions.append(event["Action"])
                    assert event["Actor"]["ID"] == container_id
                    assert event["Actor"]["Attributes"]["name"] == "evented"
                    assert event["id"] == container_id and event["status"] == event["Action"]
        assert actions == ["create", "start", "die"]

    run(scenario)


def test_daemon_restart_reloads_and_reconciles() -> None:
    async def main() -> None:
        async with started() as h:
            await h.import_image()
            survivor = await _create(h, "survivor", Cmd=["sleep", "60"])
            quitter = await _create(h, "quitter", Cmd=["sleep", "60"])
            await h.request("POST", f"/containers/{survivor}/start")
            await h.request("POST", f"/containers/{quitter}/start")
            root, supervisor = h.root, h.supervisor
            # wharfd goes away (its services stop following events) …
            await h.daemon.stop()
            # … and while it is away one task exits.
            task = supervisor.tasks.tasks[quitter]
            assert task.runner is not None
            task.runner.cancel()
            supervisor.tasks.killed_with[quitter] = 7 - 128 + 128 - 128 + 128 - 128  # exit code 7 - 128
            await task.exited.wait()
            async with started(root, supervisor) as again:
                for _ in range(100):
                    status, inspect, _ = await again.request("GET", "/containers/quitter/json")
                    if not inspect["State"]["Running"]:
                        break
                    await asyncio.sleep(0.02)
                assert inspect["State"]["Status"] == "exited"
                status, inspect, _ = await again.request("GET", "/containers/survivor/json")
                assert inspect["State"]["Running"] is True and inspect["State"]["Pid"] > 0
                status, _, _ = await again.request("POST", "/containers/survivor/kill")
                status, result, _ = await again.request("POST", "/containers/survivor/wait")
                assert result["StatusCode"] == 137

    asyncio.run(asyncio.wait_for(main(), 20))


def test_rename_and_prune() -> None:
    async def scenario(h: Harness) -> None:
        await h.import_image()
        first = await _create(h, "first", Cmd=["echo", "x"])
        await _create(h, "second", Cmd=["echo", "x"])
        status, body, _ = await h.request("POST", "/containers/first/rename?name=second")
        assert status == 409 and "is already in use" in body["message"]
        status, _, _ = await h.request("POST", "/containers/first/rename?name=renamed")
        assert status == 204
        status, inspect, _ = await h.request("GET", "/containers/renamed/json")
        assert inspect["Id"] == first and inspect["Name"] == "/renamed"
        status, _, _ = await h.request("GET", "/containers/first/json")
        assert status == 404
        status, body, _ = await h.request("POST", "/containers/prune")
        assert status == 200 and len(body["ContainersDeleted"]) == 2
        status, listed, _ = await h.request("GET", "/containers/json?all=1")
        assert listed == []
        status, body, _ = await h.request("POST", "/images/prune")
        assert status == 200 and body["ImagesDeleted"] is None  # busybox is tagged: not dangling

    run(scenario)


def test_bad_host_config_is_a_400() -> None:
    async def scenario(h: Harness) -> None:
        await h.import_image()
        status, body, _ = await h.request("POST", "/containers/create",
                                          {"Image": "busybox", "HostConfig": {"Memory": "lots"}})
        assert status == 400 and "cannot unmarshal string" in body["message"]
        status, listed, _ = await h.request("GET", "/containers/json?all=1")
        assert listed == []

    run(scenario)


def test_attach_without_upgrade_headers_still_hijacks() -> None:
    """Old clients send no Upgrade: answer 200 and carry the stream anyway."""

    async def scenario(h: Harness) -> None:
        await h.import_image()
        container_id = await _create(h, "", Cmd=["echo", "old", "client"])
        reader, writer = await asyncio.open_unix_connection(h.socket_path)
        writer.write(f"POST /v1.24/containers/{container_id}/attach?stream=1&stdout=1 HTTP/1.1\r\n"
                     "Host: docker\r\nContent-Length: 0\r\n\r\n".encode())
        head = await reader.readuntil(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200 OK\r\n")
        assert b"application/vnd.docker.raw-stream" in head  # API < 1.42 calls even frames raw-stream
        await h.request("POST", f"/containers/{container_id}/start")
        assert await read_frames(reader) == [(1, b"old client\n")]
        writer.close()

    run(scenario)


def test_events_since_until_replays_and_ends() -> None:
    async def scenario(h: Harness) -> None:
        await h.import_image()
        container_id = await _create(h, "past", Cmd=["echo", "x"])
        filters = json.dumps({"container": ["past"]})
        status, body, _ = await h.request("GET", f"/events?since=0&until=1&filters={filters}")
        assert status == 200 and body is None  # nothing before 1970-01-01T00:00:01
        async with h.session.get(f"http://docker/events?since=1&until=4000000000.5&filters={filters}") as resp:
            event = json.loads(await resp.content.readline())
        assert event["Action"] == "create" and event["Actor"]["ID"] == container_id

    run(scenario)


def test_restart_policies() -> None:
    async def scenario(h: Harness) -> None:
        await h.import_image()
        status, body, _ = await h.request("POST", "/containers/create", {
            "Image": "busybox", "HostConfig": {"RestartPolicy": {"Name": "sometimes"}}})
        assert status == 400 and "invalid restart policy" in body["message"]
        flaky = await _create(h, "flaky", Cmd=["sh", "-c", "exit 3"],
                              HostConfig={"RestartPolicy": {"Name": "on-failure", "MaximumRetryCount": 2}})
        await h.request("POST", f"/containers/{flaky}/start")
        for _ in range(200):
            status, inspect, _ = await h.request("GET", f"/containers/{flaky}/json")
            if inspect["RestartCount"] == 2 and inspect["State"]["Status"] == "exited":
                break
            await asyncio.sleep(0.02)
        assert inspect["RestartCount"] == 2 and inspect["State"]["ExitCode"] == 3
        assert inspect["State"]["Status"] == "exited"

        steady = await _create(h, "steady", Cmd=["sleep", "60"], HostConfig={"RestartPolicy": {"Name": "always"}})
        await h.request("POST", f"/containers/{steady}/start")
        status, _, _ = await h.request("POST", f"/containers/{steady}/stop")
        assert status == 204
        await asyncio.sleep(0.3)
        status, inspect, _ = await h.request("GET", f"/containers/{steady}/json")
        assert inspect["State"]["Status"] == "exited" and inspect["RestartCount"] == 0

    run(scenario)


def test_daemon_restart_undoes_a_start_it_died_in() -> None:
    """wharfd killed after asking the supervisor for the task, before recording the container as
    running: the task outlives it. The restarted wharfd removes it (the client was told the start
    failed), so the container is not running and `rm -f` works (a shim refuses to delete a running task)."""
    from wharf.containerd.core.tasks import CreateTaskOptions

    async def main() -> None:
        async with started() as h:
            await h.import_image()
            created = await _create(h, "interrupted-created", Cmd=["sleep", "60"])
            started_ = await _create(h, "interrupted-started", Cmd=["sleep", "60"])
            root, supervisor = h.root, h.supervisor
            await h.daemon.stop()
            for container_id in (created, started_):
                await supervisor.tasks.create(container_id, CreateTaskOptions())
            await supervisor.tasks.start(started_)
            async with started(root, supervisor) as again:
                assert created not in supervisor.tasks.tasks and started_ not in supervisor.tasks.tasks
                assert supervisor.tasks.killed_with[started_] == 9
                for container_id in (created, started_):
                    status, inspect, _ = await again.request("GET", f"/containers/{container_id}/json")
                    assert inspect["State"]["Running"] is False, inspect["State"]
                    status, body, _ = await again.request("DELETE", f"/containers/{container_id}?force=1")
                    assert status == 204, body

    asyncio.run(asyncio.wait_for(main(), 20))


def test_a_task_left_over_is_deleted_by_the_next_start_and_by_rm() -> None:
    """A stopped container that still has a task (a start interrupted after its create, or an exit
    whose task delete failed): the next start deletes it once the supervisor refuses to create
    another, and `rm` once the supervisor refuses to delete the container."""
    from wharf.containerd.core.tasks import CreateTaskOptions

    async def scenario(h: Harness) -> None:
        await h.import_image()
        started_again = await _create(h, "left-started", Cmd=["echo", "again"])
        removed = await _create(h, "left-removed", Cmd=["echo", "gone"])
        for container_id in (started_again, removed):
            await h.supervisor.tasks.create(container_id, CreateTaskOptions())
        status, body, _ = await h.request("POST", f"/containers/{started_again}/start")
        assert status == 204, body
        status, body, _ = await h.request("POST", f"/containers/{started_again}/wait")
        assert status == 200 and body["StatusCode"] == 0, body
        status, body, _ = await h.request("DELETE", f"/containers/{removed}")
        assert status == 204, body
        assert removed not in h.supervisor.tasks.tasks and removed not in h.supervisor.containers.items

    run(scenario)


def test_create_unpacks_an_image_whose_layer_snapshots_are_gone() -> None:
    """The rootfs is prepared on the image's top layer straight away; when that snapshot is
    missing, the image is unpacked again first."""

    async def scenario(h: Harness) -> None:
        await h.import_image()
        layers = [key for key, info in h.supervisor.snapshots.items.items() if info.kind.value == "committed"]
        assert layers
        for key in layers:
            del h.supervisor.snapshots.items[key]
        container_id = await _create(h, "unpacked-again", Cmd=["echo", "back"])
        assert h.supervisor.snapshots.items[container_id].parent == layers[-1]
        assert all(key in h.supervisor.snapshots.items for key in layers)

    run(scenario)


def test_daemon_start_sweeps_the_containers_of_an_interrupted_build() -> None:
    """A build whose RUN container was running when wharfd (or the supervisor) was killed: the next
    wharfd removes that container and its task at start-up, whether or not another build follows."""
    from wharf.containerd.core.containers import Container
    from wharf.containerd.core.tasks import CreateTaskOptions
    from wharf.daemon.builder.runner import BUILD_LABEL

    async def main() -> None:
        async with started() as h:
            await h.import_image()
            root, supervisor = h.root, h.supervisor
            await h.daemon.stop()
            build_id = "build-" + "0" * 58
            await supervisor.snapshots.prepare(build_id, "", {BUILD_LABEL: "1"})
            await supervisor.containers.create(Container(
                build_id, "busybox", "wharf-runc", {"process": {"args": ["sleep", "60"]}}, build_id,
                labels={BUILD_LABEL: "1"}))
            await supervisor.tasks.create(build_id, CreateTaskOptions())
            await supervisor.tasks.start(build_id)
            async with started(root, supervisor):
                assert build_id not in supervisor.tasks.tasks
                assert build_id not in supervisor.containers.items

    asyncio.run(asyncio.wait_for(main(), 20))
