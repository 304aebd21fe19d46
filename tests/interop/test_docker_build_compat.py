"""What real Docker clients expect of the classic builder (`POST /build` without BuildKit), as
docker-py's own integration tests check it: RUN's stderr marked red, `cachefrom`, `extrahosts`,
`networkmode` (host, a user-defined network), .dockerignore exceptions inside excluded
directories, and Dockerfiles inside and outside the context."""

from __future__ import annotations

import io
import os
import secrets
import subprocess
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import pytest

from tests.fixtures.daemon import WharfDaemon


@pytest.fixture
def client(wharf: WharfDaemon) -> Iterator[docker.APIClient]:
    api = docker.APIClient(base_url=wharf.host)
    yield api
    api.close()


@pytest.fixture
def names(wharf: WharfDaemon) -> Iterator[list[str]]:
    """Image tags a test makes (removed afterwards)."""
    made: list[str] = []
    yield made
    for name in made:
        wharf.docker("rmi", "-f", name)


def _tag(names: list[str]) -> str:
    name = f"wharf-compat-{secrets.token_hex(4)}"
    names.append(name)
    return name


def _build(client: docker.APIClient, **kwargs: Any) -> list[dict[str, Any]]:
    return list(client.build(decode=True, **kwargs))


def _errors(messages: list[dict[str, Any]]) -> list[str]:
    return [m["error"] for m in messages if "error" in m]


def _cache_hits(messages: list[dict[str, Any]]) -> int:
    return sum("Using cache" in m.get("stream", "") for m in messages)


def _run(wharf: WharfDaemon, image: str, *command: str) -> str:
    result = wharf.docker("run", "--rm", image, *command)
    assert result.returncode == 0, result.stderr
    return result.stdout


def _layer_names(wharf: WharfDaemon, image: str, tmp_path: Path) -> list[list[str]]:
    """The member names of each layer of `image` (docker save)."""
    archive = tmp_path / "saved.tar"
    env = wharf.env
    with open(archive, "wb") as out:
        subprocess.run(["docker", "save", image], stdout=out, env=env, check=True, timeout=60)
    layers = []
    with tarfile.open(archive) as saved:
        import json

        manifest = json.load(saved.extractfile("manifest.json"))  # type: ignore[arg-type]
        for name in manifest[0]["Layers"]:
            with tarfile.open(fileobj=saved.extractfile(name)) as layer:
                layers.append(layer.getnames())
    return layers


def test_run_stderr_is_marked_red_and_stdout_is_not(client: docker.APIClient) -> None:
    snippet = f"Ancient Temple {secrets.token_hex(3)}"
    script = f"FROM busybox\nRUN sh -c \">&2 echo '{snippet}'; echo plain-{snippet}\"\n"
    messages = _build(client, fileobj=io.BytesIO(script.encode()), nocache=True, rm=True)
    streams = [m.get("stream") for m in messages]
    assert f"\x1b[91m{snippet}\n\x1b[0m" in streams
    assert f"plain-{snippet}\n" in streams


def test_cache_from_takes_only_images_the_sources_descend_from(client: docker.APIClient, names: list[str]) -> None:
    token = secrets.token_hex(4)
    script = f"FROM busybox\nENV FOO={token}\nRUN touch baz\nRUN touch bax\n".encode()
    first, second = _tag(names), _tag(names)
    assert not _errors(_build(client, fileobj=io.BytesIO(script), tag=first, rm=True))

    with_source = _build(client, fileobj=io.BytesIO(script), tag=second, cache_from=[first], rm=True)
    assert _cache_hits(with_source) == 3
    unknown_source = _build(client, fileobj=io.BytesIO(script), tag=second, cache_from=["nosuchtag"], rm=True)
    assert not _errors(unknown_source) and _cache_hits(unknown_source) == 0
    assert _cache_hits(_build(client, fileobj=io.BytesIO(script), tag=second, rm=True)) == 3  # no sources: any


def test_cache_from_restores_steps_from_a_source_without_local_cache(fresh_wharf: WharfDaemon) -> None:
    # As after pulling the source: the local cache knows none of its steps.
    api = docker.APIClient(base_url=fresh_wharf.host)
    try:
        script = b"FROM busybox\nENV FOO=bar\nRUN echo made > /made\nWORKDIR /w\nCMD [\"cat\", \"/made\"]\n"
        source = _build(api, fileobj=io.BytesIO(script), tag="cache-source", rm=True)
        source_id = next(m["aux"]["ID"] for m in source if "aux" in m)
        api.prune_builds()
        restored = _build(api, fileobj=io.BytesIO(script), tag="restored", cache_from=["cache-source"], rm=True)
        assert _cache_hits(restored) == 4
        assert not any("Running in" in m.get("stream", "") for m in restored)
        assert next(m["aux"]["ID"] for m in restored if "aux" in m) == source_id
        assert _run(fresh_wharf, "restored") == "made\n"
    finally:
        api.close()


def test_extra_hosts_are_in_run_steps_hosts_file_and_not_in_layers(
    wharf: WharfDaemon, client: docker.APIClient, names: list[str], tmp_path: Path
) -> None:  # fmt: skip
    tag = _tag(names)
    script = (b"FROM busybox\nRUN ping -c1 -W2 hello.world.test\nRUN ping -c1 -W2 extrahost.local.test\n"
              b"RUN cp /etc/hosts /hosts-file\n")  # fmt: skip
    messages = _build(client, fileobj=io.BytesIO(script), tag=tag, rm=True, nocache=True,
                      extra_hosts={"extrahost.local.test": "127.0.0.1", "hello.world.test": "127.0.0.1"})  # fmt: skip
    assert not _errors(messages), messages
    hosts = _run(wharf, tag, "cat", "/hosts-file")
    assert "127.0.0.1\textrahost.local.test" in hosts and "127.0.0.1\thello.world.test" in hosts
    for names_in_layer in _layer_names(wharf, tag, tmp_path)[1:]:  # the steps' layers
        assert not {"etc/hosts", "etc/resolv.conf"} & set(names_in_layer)

    # The docker CLI's --add-host, through the classic builder.
    context = tmp_path / "ctx"
    context.mkdir()
    (context / "Dockerfile").write_text("FROM busybox\nRUN grep -q 'cli.host.test' /etc/hosts && echo found-it\n")
    env = dict(wharf.env, DOCKER_BUILDKIT="0")
    result = subprocess.run(["docker", "build", "--no-cache", "--add-host", "cli.host.test:10.1.2.3", str(context)],
                            capture_output=True, text=True, env=env, timeout=180)  # fmt: skip
    assert result.returncode == 0 and "found-it" in result.stdout, result.stdout + result.stderr


def test_run_steps_have_loopback_up(client: docker.APIClient) -> None:
    script = b"FROM busybox\nRUN ping -c1 -W2 127.0.0.1\n"
    assert not _errors(_build(client, fileobj=io.BytesIO(script), nocache=True, rm=True))


def test_network_mode_user_network_host_and_unknown(wharf: WharfDaemon, client: docker.APIClient) -> None:
    network = f"wharf-compat-net-{secrets.token_hex(3)}"
    created = wharf.docker("network", "create", network)
    assert created.returncode == 0, created.stderr
    target = ""
    try:
        run = wharf.docker("run", "-d", "--network", network, "--network-alias", "pingtarget.docker", "busybox",
                           "sleep", "120")  # fmt: skip
        assert run.returncode == 0, run.stderr
        target = run.stdout.strip()
        script = b"FROM busybox\nRUN ping -c1 -W3 pingtarget.docker\n"
        network_id = created.stdout.strip()
        for mode in (network, network_id):
            messages = _build(client, fileobj=io.BytesIO(script), network_mode=mode, nocache=True, rm=True)
            assert not _errors(messages), messages
    finally:
        if target:
            wharf.docker("rm", "-f", target)
        wharf.docker("network", "rm", network)

    host_interfaces = sorted(os.listdir("/sys/class/net"))
    script = b"FROM busybox\nRUN ls /sys/class/net\n"
    messages = _build(client, fileobj=io.BytesIO(script), network_mode="host", nocache=True, rm=True)
    assert not _errors(messages)
    output = "".join(m.get("stream", "") for m in messages)
    assert all(name in output for name in host_interfaces[:5])

    missing = _build(client, fileobj=io.BytesIO(b"FROM busybox\nRUN true\n"), network_mode="no-such-net-x",
                     nocache=True, rm=True)  # fmt: skip
    assert any("network no-such-net-x not found" in error for error in _errors(missing)), missing


def test_dockerignore_exceptions_reinclude_files_in_excluded_directories(
    wharf: WharfDaemon, client: docker.APIClient, names: list[str], tmp_path: Path
) -> None:  # fmt: skip
    context = tmp_path / "ctx"
    (context / "ignored" / "subdir").mkdir(parents=True)
    (context / "Dockerfile").write_text("FROM busybox\nADD . /test\n")
    (context / ".dockerignore").write_text(
        "ignored\nDockerfile\n.dockerignore\n ignored-with-spaces \n!ignored/subdir/excepted-file\n"
        "! ignored/subdir/excepted-with-spaces  \n#*"
    )
    for name in ("not-ignored", "#file.txt", "ignored-with-spaces", "ignored/subdir/file",
                 "ignored/subdir/excepted-file", "ignored/subdir/excepted-with-spaces"):  # fmt: skip
        (context / name).write_text(name)
    expected = ["/test/#file.txt", "/test/ignored/subdir/excepted-file", "/test/ignored/subdir/excepted-with-spaces",
                "/test/not-ignored"]  # fmt: skip

    sdk_tag = _tag(names)
    assert not _errors(_build(client, path=str(context), tag=sdk_tag, rm=True))
    assert sorted(_run(wharf, sdk_tag, "find", "/test", "-type", "f").split("\n")[:-1]) == expected

    cli_tag = _tag(names)
    env = dict(wharf.env, DOCKER_BUILDKIT="0")
    result = subprocess.run(["docker", "build", "-t", cli_tag, str(context)], capture_output=True, text=True,
                            env=env, timeout=180)  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert sorted(_run(wharf, cli_tag, "find", "/test", "-type", "f").split("\n")[:-1]) == expected


def test_dockerfile_inside_the_context_is_copied_and_one_outside_is_not(
    wharf: WharfDaemon, client: docker.APIClient, names: list[str], tmp_path: Path
) -> None:  # fmt: skip
    context = tmp_path / "ctx"
    context.mkdir()
    (context / "file.txt").write_text("hello world")
    (context / "custom.dockerfile").write_text("FROM busybox\nCOPY . /src\nWORKDIR /src\n")
    for dockerfile in ("custom.dockerfile", str(context / "custom.dockerfile")):
        tag = _tag(names)
        messages = _build(client, path=str(context), dockerfile=dockerfile, tag=tag, rm=True)
        assert "Successfully tagged" in messages[-1]["stream"], messages
        assert sorted(_run(wharf, tag, "ls", "-a").split()) == [".", "..", "custom.dockerfile", "file.txt"]

    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "Dockerfile").write_text("FROM busybox\nCOPY . /src\nWORKDIR /src\n")
    (context / "custom.dockerfile").unlink()
    (context / ".dockerignore").write_text(".dockerignore\n")
    tag = _tag(names)
    messages = _build(client, path=str(context), dockerfile=str(outside / "Dockerfile"), tag=tag, rm=True)
    assert "Successfully tagged" in messages[-1]["stream"], messages
    assert sorted(_run(wharf, tag, "ls", "-a").split()) == [".", "..", "file.txt"]
