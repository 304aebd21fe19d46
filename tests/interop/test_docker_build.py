"""`docker build` (the classic builder: DOCKER_BUILDKIT=0) and the docker SDK's `images.build`
against wharfd: instructions, multi-stage builds, build args, .dockerignore, the cache rules one by
one (also across a wharfd restart), failing steps and hostile contexts."""

from __future__ import annotations

import asyncio
import io
import json
import os
import secrets
import subprocess
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures.daemon import WharfDaemon
from tests.fixtures.registry import Registry
from wharf.containerd.proxy import connect
from wharf.daemon.builder.runner import BUILD_LABEL


@pytest.fixture
def context_dir(tmp_path: Path) -> Path:
    path = tmp_path / "ctx"
    path.mkdir()
    return path


@pytest.fixture
def tag(wharf: WharfDaemon) -> Iterator[str]:
    name = f"wharf-build-test-{secrets.token_hex(4)}"
    yield name
    for suffix in ("", ":1", ":2", ":old"):
        wharf.docker("rmi", "-f", name + suffix)


def build(daemon: WharfDaemon, context: Path, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    env = dict(daemon.env)
    env["DOCKER_BUILDKIT"] = "0"
    return subprocess.run(["docker", "build", *args, str(context)], capture_output=True, text=True, env=env,
                          timeout=timeout)  # fmt: skip


def write(context: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = context / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def steps_using_cache(output: str) -> list[int]:
    """The step numbers that were cache hits."""
    hits, step = [], 0
    for line in output.splitlines():
        if line.startswith("Step "):
            step = int(line.split()[1].split("/")[0])
        elif line.strip() == "---> Using cache":
            hits.append(step)
    return hits


def run_output(daemon: WharfDaemon, image: str, *command: str) -> str:
    result = daemon.docker("run", "--rm", image, *command, check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_multi_instruction_build_runs_with_its_effects(wharf: WharfDaemon, context_dir: Path, tag: str) -> None:
    write(context_dir, {
        "file.txt": "hello\n", "dir/a": "a\n", "dir/sub/b": "b\n",
        "Dockerfile": (
            "FROM busybox\n"
            "ENV GREETING=hi\n"
            'RUN echo "$GREETING from run" && mkdir -p /made && echo made > /made/x && rm /bin/vi\n'
            "COPY file.txt /app/\n"
            "COPY dir /app/dir\n"
            "WORKDIR /app\n"
            "RUN chown -R 1000:1000 /app\n"
            "USER 1000:1000\n"
            'CMD ["sh", "-c", "cat file.txt dir/a dir/sub/b /made/x; id -u; pwd; echo $GREETING; ls /bin/vi"]\n'
        ),
    })  # fmt: skip
    result = build(wharf, context_dir, "-t", tag)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Step 1/9 : FROM busybox" in result.stdout
    assert "hi from run" in result.stdout
    assert " ---> Running in " in result.stdout
    assert f"Successfully tagged {tag}:latest" in result.stdout
    run = wharf.docker("run", "--rm", tag)
    assert run.stdout.splitlines() == ["hello", "a", "b", "made", "1000", "/app", "hi"]
    assert "No such file" in run.stderr  # the RUN's `rm` became a whiteout
    inspected = json.loads(wharf.docker("image", "inspect", tag, check=True).stdout)[0]
    assert inspected["Config"]["User"] == "1000:1000"
    assert inspected["Config"]["WorkingDir"] == "/app"
    assert "GREETING=hi" in inspected["Config"]["Env"]
    assert len(inspected["RootFS"]["Layers"]) == 5  # busybox + RUN + COPY + COPY + RUN
    history = json.loads(wharf.request("GET", f"/images/{tag}/history")[1] or b"[]")
    assert history, "history is listed"


def test_multi_stage_copy_from_and_target(wharf: WharfDaemon, context_dir: Path, tag: str) -> None:
    write(context_dir, {"Dockerfile": (
        "FROM busybox AS builder\n"
        "RUN mkdir /out && echo built > /out/artifact\n"
        "FROM busybox AS tester\n"
        "RUN echo testing > /tested\n"
        "FROM scratch\n"
        "COPY --from=builder /out/artifact /artifact\n"
        "COPY --from=busybox /bin/busybox /bin/busybox\n"
        'CMD ["/bin/busybox", "cat", "/artifact"]\n'
    )})  # fmt: skip
    result = build(wharf, context_dir, "-t", tag)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Step 1/6 : FROM busybox AS builder" in result.stdout  # the unused `tester` stage is skipped
    assert "echo testing" not in result.stdout
    assert run_output(wharf, tag) == "built\n"
    result = build(wharf, context_dir, "-t", f"{tag}:2", "--target", "tester")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Step 5/" not in result.stdout  # stops after the target stage
    assert run_output(wharf, f"{tag}:2", "cat", "/tested") == "testing\n"
    result = build(wharf, context_dir, "--target", "nosuchstage")
    assert result.returncode != 0
    assert "failed to reach build target nosuchstage" in result.stderr


def test_build_args_before_and_after_from(wharf: WharfDaemon, context_dir: Path, tag: str) -> None:
    write(context_dir, {"Dockerfile": (
        "ARG BASE=busybox\n"
        "FROM ${BASE}\n"
        "ARG WHO=nobody\n"
        "ARG EMPTY\n"
        'RUN echo "who=$WHO" > /who\n'
        "ENV SAVED=$WHO\n"
    )})  # fmt: skip
    result = build(wharf, context_dir, "-t", tag, "--build-arg", "WHO=alice", "--build-arg", "UNUSED=1")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "[UNUSED] were not consumed" in result.stdout
    assert run_output(wharf, tag, "sh", "-c", "cat /who; echo $SAVED; echo ${WHO:-unset}") == "who=alice\nalice\nunset\n"
    # A different arg value is a different RUN: no cache hit there.
    result = build(wharf, context_dir, "-t", tag, "--build-arg", "WHO=bob")
    assert result.returncode == 0, result.stdout + result.stderr
    assert 5 not in steps_using_cache(result.stdout)
    assert run_output(wharf, tag, "cat", "/who") == "who=bob\n"


def test_dockerignore_leaves_files_out(wharf: WharfDaemon, context_dir: Path, tag: str) -> None:
    write(context_dir, {
        "keep.txt": "keep\n", "secret.key": "secret\n", "logs/a.log": "log\n", "logs/important.log": "imp\n",
        ".dockerignore": "*.key\nlogs/*.log\n!logs/important.log\n",
        "Dockerfile": "FROM busybox\nCOPY . /ctx/\n",
    })  # fmt: skip
    result = build(wharf, context_dir, "-t", tag)
    assert result.returncode == 0, result.stdout + result.stderr
    listing = run_output(wharf, tag, "find", "/ctx", "-type", "f").split()
    assert "/ctx/keep.txt" in listing and "/ctx/logs/important.log" in listing
    assert "/ctx/secret.key" not in listing and "/ctx/logs/a.log" not in listing


def test_cache_rules(wharf: WharfDaemon, context_dir: Path, tag: str) -> None:
    write(context_dir, {
        "one.txt": "one\n", "two.txt": "two\n",
        "Dockerfile": (
            "FROM busybox\n"
            "RUN echo step2 > /s2\n"
            "COPY one.txt /one.txt\n"
            "RUN echo step4 > /s4\n"
            "COPY two.txt /two.txt\n"
            "RUN cat /one.txt /two.txt > /both\n"
        ),
    })  # fmt: skip
    first = build(wharf, context_dir, "-t", tag)
    assert first.returncode == 0, first.stdout + first.stderr
    assert steps_using_cache(first.stdout) == []

    second = build(wharf, context_dir, "-t", tag)
    assert second.returncode == 0, second.stdout + second.stderr
    assert steps_using_cache(second.stdout) == [2, 3, 4, 5, 6]
    assert second.stdout.split("Successfully built ")[1][:12] == first.stdout.split("Successfully built ")[1][:12]

    # Changing the second copied file invalidates from its COPY on, and nothing before.
    (context_dir / "two.txt").write_text("TWO\n")
    third = build(wharf, context_dir, "-t", tag)
    assert third.returncode == 0, third.stdout + third.stderr
    assert steps_using_cache(third.stdout) == [2, 3, 4]
    assert run_output(wharf, tag, "cat", "/both") == "one\nTWO\n"

    # A mode change of a copied file is a change too.
    os.chmod(context_dir / "one.txt", 0o600)
    fourth = build(wharf, context_dir, "-t", tag)
    assert steps_using_cache(fourth.stdout) == [2]

    # --no-cache: nothing from the cache.
    fifth = build(wharf, context_dir, "-t", tag, "--no-cache")
    assert fifth.returncode == 0, fifth.stdout + fifth.stderr
    assert steps_using_cache(fifth.stdout) == []


def test_cache_survives_a_daemon_restart(fresh_wharf: WharfDaemon, context_dir: Path) -> None:
    write(context_dir, {"f": "x\n", "Dockerfile": "FROM busybox\nRUN echo hi > /hi\nCOPY f /f\nENV A=b\n"})
    first = build(fresh_wharf, context_dir, "-t", "restart-cache:1")
    assert first.returncode == 0, first.stdout + first.stderr
    fresh_wharf.kill_daemons()
    fresh_wharf.start()
    second = build(fresh_wharf, context_dir, "-t", "restart-cache:1")
    assert second.returncode == 0, second.stdout + second.stderr
    assert steps_using_cache(second.stdout) == [2, 3, 4]
    assert run_output(fresh_wharf, "restart-cache:1", "cat", "/hi", "/f") == "hi\nx\n"


def _build_leftovers(daemon: WharfDaemon) -> tuple[list[str], list[str]]:
    """The supervisor's containers and active snapshots that carry the build label."""

    async def ask() -> tuple[list[str], list[str]]:
        supervisor = connect(f"{daemon.exec_root}/containerd.sock")
        try:
            containers = [c.id for c in await supervisor.containers.list({BUILD_LABEL: "1"})]
            snapshots = [s.name for s in await supervisor.snapshots.list()
                         if s.labels.get(BUILD_LABEL) == "1" and s.kind.value == "active"]
            return containers, snapshots
        finally:
            await supervisor.close()

    return asyncio.run(ask())


def test_a_build_killed_mid_run_is_swept_when_wharfd_starts_again(fresh_wharf: WharfDaemon,
                                                                     context_dir: Path) -> None:
    write(context_dir, {"Dockerfile": "FROM busybox\nRUN sleep 60\n"})
    env = dict(fresh_wharf.env, DOCKER_BUILDKIT="0")
    client = subprocess.Popen(["docker", "build", str(context_dir)], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, env=env)
    try:
        deadline = time.monotonic() + 60
        while not fresh_wharf.shim_pids():  # the RUN step's container runs
            assert time.monotonic() < deadline and client.poll() is None, "the RUN step never started"
            time.sleep(0.1)
        assert _build_leftovers(fresh_wharf)[0]
        fresh_wharf.kill_daemons()
    finally:
        client.kill()
        client.wait()
    fresh_wharf.start()
    assert _build_leftovers(fresh_wharf) == ([], [])
    deadline = time.monotonic() + 15
    while fresh_wharf.shim_pids():  # its shim exits once its task is deleted
        assert time.monotonic() < deadline, "the build container's shim outlived the sweep"
        time.sleep(0.1)


def test_failing_run_reports_its_code_and_moves_no_tag(wharf: WharfDaemon, context_dir: Path, tag: str) -> None:
    write(context_dir, {"Dockerfile": "FROM busybox\nRUN echo good > /marker\n"})
    assert build(wharf, context_dir, "-t", tag).returncode == 0
    before = json.loads(wharf.docker("image", "inspect", tag, check=True).stdout)[0]["Id"]
    write(context_dir, {"Dockerfile": "FROM busybox\nRUN echo partial > /marker\nRUN exit 3\n"})
    result = build(wharf, context_dir, "-t", tag)
    assert result.returncode != 0
    assert "The command '/bin/sh -c exit 3' returned a non-zero code: 3" in result.stderr
    after = json.loads(wharf.docker("image", "inspect", tag, check=True).stdout)[0]["Id"]
    assert after == before
    assert run_output(wharf, tag, "cat", "/marker") == "good\n"


@pytest.mark.parametrize(
    ("dockerfile", "message"),
    [
        ("FROM busybox\nFROBNICATE x\n", "unknown instruction: FROBNICATE"),
        ("RUN echo no from\n", "no build stage in current context"),
        ("FROM busybox\nCOPY ../outside /x\n", "forbidden path outside the build context"),
        ('FROM busybox\nRUN ["echo", 1]\n', "dockerfile parse error"),
        ("FROM busybox\nCOPY missing.txt /x\n", "COPY failed: file not found in build context"),
    ],
)
def test_malformed_dockerfiles_give_clear_errors(
    wharf: WharfDaemon, context_dir: Path, dockerfile: str, message: str
) -> None:
    write(context_dir, {"Dockerfile": dockerfile})
    result = build(wharf, context_dir)
    assert result.returncode != 0
    assert message in result.stderr, result.stdout + result.stderr


def test_symlinks_out_of_the_context_are_refused(wharf: WharfDaemon, context_dir: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside-secret"
    outside.write_text("host secret\n")
    os.symlink(str(outside), context_dir / "abs-link")
    os.symlink("../outside-secret", context_dir / "rel-link")
    for source in ("abs-link", "rel-link"):
        write(context_dir, {"Dockerfile": f"FROM busybox\nCOPY {source} /stolen\n"})
        result = build(wharf, context_dir)
        assert result.returncode != 0, result.stdout
        assert "forbidden path outside the build context" in result.stderr, result.stderr
    # Copied as part of a directory, a link stays a link: its target is never read.
    write(context_dir, {"Dockerfile": "FROM busybox\nCOPY . /ctx/\n", "sub/keep": "k\n"})
    os.symlink(str(outside), context_dir / "sub" / "link")
    name = f"wharf-build-links-{secrets.token_hex(3)}"
    result = build(wharf, context_dir, "-t", name)
    try:
        assert result.returncode == 0, result.stdout + result.stderr
        assert run_output(wharf, name, "readlink", "/ctx/sub/link").strip() == str(outside)
        assert "host secret" not in wharf.docker("run", "--rm", name, "cat", "/ctx/sub/link").stdout
    finally:
        wharf.docker("rmi", "-f", name)


def test_hostile_context_tar_is_refused(wharf: WharfDaemon, tmp_path: Path) -> None:
    """A raw API client sending `../` names: refused, nothing written outside the build dir."""
    body = io.BytesIO()
    with tarfile.open(fileobj=body, mode="w") as archive:
        data = b"FROM busybox\n"
        info = tarfile.TarInfo("Dockerfile")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
        evil = tarfile.TarInfo(f"../../../../tmp/wharf-evil-{secrets.token_hex(4)}")
        evil.size = 4
        archive.addfile(evil, io.BytesIO(b"evil"))
    status, answer = wharf.request("POST", "/build", body.getvalue(), {"Content-Type": "application/x-tar"})
    assert status == 200
    assert b"climbs out of the context" in answer
    assert not list(Path("/tmp").glob("wharf-evil-*"))


def test_quiet_build_prints_only_the_id_and_sdk_build(wharf: WharfDaemon, context_dir: Path, tag: str) -> None:
    write(context_dir, {"Dockerfile": "FROM busybox\nLABEL a=b\nRUN echo quiet\n"})
    result = build(wharf, context_dir, "-q", "-t", tag)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().startswith("sha256:")
    assert "quiet" not in result.stdout

    import docker

    client = docker.DockerClient(base_url=wharf.host)
    try:
        image, logs = client.images.build(
            path=str(context_dir), tag=f"{tag}:2", buildargs={"X": "1"}, labels={"from.sdk": "yes"}, rm=True
        )
        assert image.labels.get("from.sdk") == "yes" and image.labels.get("a") == "b"
        assert any("Successfully built" in entry.get("stream", "") for entry in logs)
        with pytest.raises(docker.errors.BuildError) as failure:
            client.images.build(fileobj=io.BytesIO(b"FROM busybox\nRUN exit 5\n"), rm=True)
        assert "returned a non-zero code: 5" in str(failure.value)
    finally:
        client.close()


def test_docker_commit_takes_the_container_changes(wharf: WharfDaemon, tag: str) -> None:
    name = f"commit-src-{secrets.token_hex(3)}"
    wharf.docker("run", "--name", name, "busybox", "sh", "-c", "echo committed > /data.txt; rm /bin/vi",
                 check=True)  # fmt: skip
    try:
        result = wharf.docker("commit", "--change", "ENV FROM_COMMIT=1", "--change", 'CMD ["cat", "/data.txt"]',
                              "-m", "a message", "-a", "someone", name, f"{tag}:1")  # fmt: skip
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip().startswith("sha256:")
        assert run_output(wharf, f"{tag}:1") == "committed\n"
        assert "FROM_COMMIT=1" in run_output(wharf, f"{tag}:1", "env")
        assert wharf.docker("run", "--rm", f"{tag}:1", "ls", "/bin/vi").returncode != 0
        inspected = json.loads(wharf.docker("image", "inspect", f"{tag}:1", check=True).stdout)[0]
        assert inspected["Author"] == "someone" and inspected["Comment"] == "a message"
    finally:
        wharf.docker("rm", "-f", name)
    missing = wharf.docker("commit", "no-such-container-xyz", "x:y")
    assert missing.returncode != 0 and "No such container" in missing.stderr


def test_config_instructions_add_chown_chmod_and_onbuild(wharf: WharfDaemon, context_dir: Path, tag: str) -> None:
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w:gz") as bundle:
        info = tarfile.TarInfo("pkg/readme")
        info.size = 8
        bundle.addfile(info, io.BytesIO(b"read me\n"))
    (context_dir / "bundle.tgz").write_bytes(archive.getvalue())
    write(context_dir, {
        "owned.txt": "owned\n",
        "build/Custom.dockerfile": (
            "FROM busybox\n"
            "MAINTAINER someone@example.com\n"
            "LABEL version=1.0 'quoted key'=\"a value\"\n"
            "EXPOSE 8080 53/udp\n"
            "VOLUME /data\n"
            "STOPSIGNAL SIGINT\n"
            "HEALTHCHECK --interval=30s --retries=2 CMD true\n"
            'SHELL ["/bin/sh", "-e", "-c"]\n'
            "ADD bundle.tgz /opt/\n"
            "COPY --chown=1234:5678 --chmod=600 owned.txt /owned.txt\n"
            "RUN <<EOF\n"
            "echo from heredoc > /heredoc\n"
            "EOF\n"
            "ONBUILD RUN echo triggered > /triggered\n"
            'ENTRYPOINT ["/bin/sh", "-c"]\n'
            'CMD ["cat /opt/pkg/readme; stat -c %u:%g:%a /owned.txt; cat /heredoc"]\n'
        ),
    })  # fmt: skip
    result = build(wharf, context_dir, "-t", tag, "-f", str(context_dir / "build/Custom.dockerfile"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert run_output(wharf, tag).splitlines() == ["read me", "1234:5678:600", "from heredoc"]
    config = json.loads(wharf.docker("image", "inspect", tag, check=True).stdout)[0]["Config"]
    assert config["Labels"] == {"version": "1.0", "quoted key": "a value"}
    assert set(config["ExposedPorts"]) == {"8080/tcp", "53/udp"}
    assert config["Volumes"] == {"/data": {}}
    assert config["StopSignal"] == "SIGINT"
    assert config["Healthcheck"]["Test"] == ["CMD-SHELL", "true"] and config["Healthcheck"]["Retries"] == 2
    assert config["OnBuild"] == ["RUN echo triggered > /triggered"]
    assert config["Entrypoint"] == ["/bin/sh", "-c"]

    write(context_dir, {"Dockerfile": f"FROM {tag}\n"})
    child = build(wharf, context_dir, "-t", f"{tag}:2")
    assert child.returncode == 0, child.stdout + child.stderr
    assert "# Executing 1 build trigger" in child.stdout
    assert run_output(wharf, f"{tag}:2", "cat /triggered") == "triggered\n"


def test_build_prune_forgets_the_cache(fresh_wharf: WharfDaemon, context_dir: Path) -> None:
    write(context_dir, {"Dockerfile": "FROM busybox\nRUN echo once > /once\n"})
    assert build(fresh_wharf, context_dir).returncode == 0
    assert steps_using_cache(build(fresh_wharf, context_dir).stdout) == [2]
    status, answer = fresh_wharf.request("POST", "/build/prune")
    assert status == 200 and "CachesDeleted" in json.loads(answer)
    assert steps_using_cache(build(fresh_wharf, context_dir).stdout) == []


def test_commit_of_a_running_container_pauses_it(wharf: WharfDaemon, tag: str) -> None:
    name = f"commit-live-{secrets.token_hex(3)}"
    wharf.docker("run", "-d", "--name", name, "busybox", "sh", "-c", "echo live > /live; sleep 60", check=True)
    try:
        for _ in range(100):
            if wharf.docker("exec", name, "cat", "/live").stdout == "live\n":
                break
        result = wharf.docker("commit", name, f"{tag}:old")
        assert result.returncode == 0, result.stderr
        state = json.loads(wharf.docker("inspect", name, check=True).stdout)[0]["State"]
        assert state["Running"] and not state["Paused"]
        assert run_output(wharf, f"{tag}:old", "cat", "/live") == "live\n"
    finally:
        wharf.docker("rm", "-f", name)


def test_run_mounts_cache_bind_and_tmpfs(wharf: WharfDaemon, context_dir: Path, tag: str) -> None:
    write(context_dir, {
        "config/settings": "setting=1\n",
        "Dockerfile": (
            "FROM busybox\n"
            "RUN --mount=type=cache,target=/cache,id=wharf-test-cache echo $RANDOM$RANDOM >> /cache/runs;"
            " wc -l < /cache/runs > /runs-seen\n"
            "RUN --mount=type=bind,source=config,target=/cfg cat /cfg/settings > /copied-setting\n"
            "RUN --mount=type=bind,source=config,target=/cfg,rw echo scribble > /cfg/settings\n"
            "RUN --mount=type=tmpfs,target=/scratch touch /scratch/x && grep -q ' /scratch ' /proc/mounts\n"
            "COPY config/settings /after\n"
        ),
    })  # fmt: skip
    first = build(wharf, context_dir, "-t", tag)
    assert first.returncode == 0, first.stdout + first.stderr
    assert run_output(wharf, tag, "cat", "/copied-setting", "/after") == "setting=1\nsetting=1\n"
    first_runs = int(run_output(wharf, tag, "cat", "/runs-seen"))
    # The cache mount outlives the build; the bind source is part of the RUN's cache key.
    write(context_dir, {"config/settings": "setting=2\n"})
    second = build(wharf, context_dir, "-t", tag, "--no-cache")
    assert second.returncode == 0, second.stdout + second.stderr
    assert int(run_output(wharf, tag, "cat", "/runs-seen")) == first_runs + 1
    assert run_output(wharf, tag, "cat", "/copied-setting") == "setting=2\n"
    third = build(wharf, context_dir, "-t", tag)
    assert 2 in steps_using_cache(third.stdout) and 3 in steps_using_cache(third.stdout)
    (context_dir / "config" / "settings").write_text("setting=3\n")
    fourth = build(wharf, context_dir, "-t", tag)
    assert 2 in steps_using_cache(fourth.stdout) and 3 not in steps_using_cache(fourth.stdout)


def test_workdir_is_created_and_run_uses_it_and_the_user(wharf: WharfDaemon, context_dir: Path, tag: str) -> None:
    write(context_dir, {"Dockerfile": (
        "FROM busybox\n"
        "WORKDIR /newdir\n"
        "WORKDIR sub\n"
        "RUN pwd > /pwd && touch made-here\n"
        "USER 1000\n"
        "RUN id -u > /tmp/uid\n"
    )})  # fmt: skip
    result = build(wharf, context_dir, "-t", tag)
    assert result.returncode == 0, result.stdout + result.stderr
    assert run_output(wharf, tag, "cat", "/pwd", "/tmp/uid") == "/newdir/sub\n1000\n"
    assert run_output(wharf, tag, "ls", "/newdir/sub") == "made-here\n"


def test_from_pulls_a_missing_base_image(wharf: WharfDaemon, registry: Registry, context_dir: Path, tag: str) -> None:
    base = f"{registry.address}/library/busybox:latest"
    wharf.docker("rmi", "-f", base)
    write(context_dir, {"Dockerfile": f"FROM {base}\nRUN echo on-pulled-base > /x\n"})
    result = build(wharf, context_dir, "-t", tag)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Pulling from" in result.stdout or "Pull complete" in result.stdout or "Downloaded" in result.stdout
    assert run_output(wharf, tag, "cat", "/x") == "on-pulled-base\n"
    write(context_dir, {"Dockerfile": f"FROM {registry.address}/library/busybox:no-such-tag\n"})
    missing = build(wharf, context_dir)
    assert missing.returncode != 0 and "not found" in missing.stderr


def test_copy_heredoc_writes_inline_files(wharf: WharfDaemon, context_dir: Path, tag: str) -> None:
    write(context_dir, {"Dockerfile": (
        "FROM busybox\n"
        "ENV WHO=world\n"
        "COPY <<greeting /etc/greeting\n"
        'hello "$WHO"\n'
        "greeting\n"
        "COPY <<'raw' /etc/raw\n"
        "kept $WHO\n"
        "raw\n"
    )})  # fmt: skip
    result = build(wharf, context_dir, "-t", tag)
    assert result.returncode == 0, result.stdout + result.stderr
    assert run_output(wharf, tag, "cat", "/etc/greeting", "/etc/raw") == 'hello "world"\nkept $WHO\n'
