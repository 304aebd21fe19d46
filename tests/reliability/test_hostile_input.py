"""A corpus of malicious layers and archives fed through every way in: pull, load, import, build
context and cp. Nothing may be written outside where it belongs (a canary directory on the host is
watched), errors are 4xx (never a 500), and the daemon keeps serving."""

from __future__ import annotations

import hashlib
import json
import secrets
import shutil
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures.daemon import WharfDaemon
from tests.fixtures.registry import Registry, push_blob, push_manifest
from tests.reliability.hostile_archives import Member, build_tar, gzip_bomb, gzipped, snapshot_dir, variants

OUTCOMES: list[str] = []


@pytest.fixture(scope="module")
def canary() -> Iterator[Path]:
    path = Path(f"/var/tmp/wharf-canary-{secrets.token_hex(4)}")
    path.mkdir()
    (path / "secret").write_text("host secret\n")
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module", autouse=True)
def report() -> Iterator[None]:
    yield
    print("\nhostile inputs tried:\n" + "\n".join(OUTCOMES))


def _corpus(canary: Path) -> dict[str, bytes]:
    """variant → layer tar (uncompressed); the bomb is already gzipped."""
    return {name: build_tar(members) for name, members in variants(canary).items()}


def _judge(daemon: WharfDaemon, canary: Path, before: dict, way: str, variant: str, status: int,
           body: bytes) -> None:
    text = body.decode(errors="replace")
    error = status >= 400 or '"errorDetail"' in text or '"error"' in text
    OUTCOMES.append(f"{way:<8} {variant:<22} {status} {'refused' if error else 'accepted'}")
    assert status < 500, f"{way} {variant}: {status} {text[:500]}"
    assert snapshot_dir(canary) == before, f"{way} {variant} wrote outside: {snapshot_dir(canary)}"
    assert daemon.ping(), f"wharfd stopped serving after {way} {variant}"


def _all_variants(canary: Path) -> list[tuple[str, bytes, bool]]:
    """(variant, blob, is_gzipped)"""
    return [(name, data, False) for name, data in _corpus(canary).items()] + [("gzip-bomb", gzip_bomb(), True)]


def test_import(wharf: WharfDaemon, canary: Path) -> None:
    before = snapshot_dir(canary)
    for variant, blob, _ in _all_variants(canary):
        ref = f"hostile-import:{variant}"
        status, body = wharf.request("POST", f"/v1.45/images/create?fromSrc=-&repo=hostile-import&tag={variant}",
                                     body=blob, headers={"Content-Type": "application/x-tar"})
        _judge(wharf, canary, before, "import", variant, status, body)
        if status == 200 and variant in ("hardlink-abs", "hardlink-rel", "symlink-then-file"):
            run = wharf.docker("run", "--rm", "--network", "none", ref, "cat", "/hl", "/over", timeout=60)
            assert "host secret" not in run.stdout, f"import {variant} exposes a host file"
        wharf.docker("rmi", "-f", ref)


def _save_tar(layer: bytes, outer_extra: list[Member] | None = None, config_path: str | None = None) -> bytes:
    """A `docker save` archive with one layer."""
    diff_id = "sha256:" + hashlib.sha256(layer).hexdigest()
    config = json.dumps({"architecture": "amd64", "os": "linux", "config": {"Cmd": ["sh"]},
                         "rootfs": {"type": "layers", "diff_ids": [diff_id]}}).encode()
    config_name = config_path or hashlib.sha256(config).hexdigest() + ".json"
    manifest = json.dumps([{"Config": config_name, "RepoTags": ["hostile-load:latest"],
                            "Layers": ["layer/layer.tar"]}]).encode()
    members: list[Member] = []
    for name, data in (("manifest.json", manifest), (config_name, config), ("layer/layer.tar", layer)):
        info = tarfile.TarInfo(name)
        info.size = len(data)
        members.append((info, data))
    return build_tar(members + (outer_extra or []))


def test_load(wharf: WharfDaemon, canary: Path) -> None:
    before = snapshot_dir(canary)
    cases = [(variant, _save_tar(blob)) for variant, blob, zipped in _all_variants(canary) if not zipped]
    outer = variants(canary)
    cases += [(f"outer-{name}", _save_tar(build_tar([]), outer_extra=outer[name]))
              for name in ("dotdot", "absolute", "symlink-abs-dir", "hardlink-abs")]
    cases.append(("config-path-escape", _save_tar(build_tar([]), config_path=f"../../../../../..{canary}/secret")))
    for variant, archive in cases:
        status, body = wharf.request("POST", "/v1.45/images/load?quiet=1", body=archive,
                                     headers={"Content-Type": "application/x-tar"})
        _judge(wharf, canary, before, "load", variant, status, body)
        wharf.docker("rmi", "-f", "hostile-load:latest")


def test_pull(wharf: WharfDaemon, registry: Registry, canary: Path) -> None:
    before = snapshot_dir(canary)
    for variant, blob, zipped in _all_variants(canary):
        layer = blob if zipped else gzipped(blob)
        diff_id = "sha256:" + hashlib.sha256(blob if not zipped else b"").hexdigest()
        config = json.dumps({"architecture": "amd64", "os": "linux", "config": {},
                             "rootfs": {"type": "layers", "diff_ids": [diff_id]}}).encode()
        repository = "hostile/pull"
        layer_digest = push_blob(registry, repository, layer)
        config_digest = push_blob(registry, repository, config)
        manifest = json.dumps({
            "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest,
                       "size": len(config)},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": layer_digest,
                        "size": len(layer)}]}).encode()
        push_manifest(registry, repository, variant, manifest, "application/vnd.oci.image.manifest.v1+json")
        status, body = wharf.request("POST", f"/v1.45/images/create?fromImage={registry.address}/{repository}"
                                             f"&tag={variant}")
        _judge(wharf, canary, before, "pull", variant, status, body)
        if status == 200 and b"errorDetail" not in body:
            name = f"p{secrets.token_hex(4)}"
            created = wharf.docker("create", "--name", name, "--network", "none",
                                   f"{registry.address}/{repository}:{variant}", "sh")
            wharf.docker("rm", "-f", name)
            _judge(wharf, canary, before, "unpack", variant, 200 if created.returncode == 0 else 400, b"")
        wharf.docker("rmi", "-f", f"{registry.address}/{repository}:{variant}")


def test_build_context(wharf: WharfDaemon, canary: Path) -> None:
    before = snapshot_dir(canary)
    dockerfile = b"FROM busybox\nCOPY . /ctx/\nRUN ls -la /ctx\n"
    for variant, members in variants(canary).items():
        info = tarfile.TarInfo("Dockerfile")
        info.size = len(dockerfile)
        context = build_tar([(info, dockerfile), *members])
        tag = f"hostile-build:{variant}"
        status, body = wharf.request("POST", f"/v1.45/build?t={tag}&rm=1", body=context,
                                     headers={"Content-Type": "application/x-tar"})
        _judge(wharf, canary, before, "build", variant, status, body)
        if status == 200 and b"errorDetail" not in body:
            run = wharf.docker("run", "--rm", "--network", "none", tag, "sh", "-c",
                               "cat /ctx/hl /ctx/h /ctx/over /ctx/esc/secret 2>/dev/null", timeout=60)
            assert "host secret" not in run.stdout, f"build {variant} copied a host file into the image"
        wharf.docker("rmi", "-f", tag)
    # A context symlink to a host directory, COPYed by name.
    link = tarfile.TarInfo("hostdir")
    link.type, link.linkname = tarfile.SYMTYPE, str(canary)
    copying = b"FROM busybox\nCOPY hostdir/ /x/\n"
    info = tarfile.TarInfo("Dockerfile")
    info.size = len(copying)
    status, body = wharf.request("POST", "/v1.45/build?t=hostile-build:link&rm=1",
                                 body=build_tar([(info, copying), (link, None)]),
                                 headers={"Content-Type": "application/x-tar"})
    _judge(wharf, canary, before, "build", "copy-symlinked-dir", status, body)
    if status == 200 and b"errorDetail" not in body:
        run = wharf.docker("run", "--rm", "--network", "none", "hostile-build:link", "cat", "/x/secret")
        assert "host secret" not in run.stdout
    wharf.docker("rmi", "-f", "hostile-build:link")


def test_cp_archive(wharf: WharfDaemon, canary: Path) -> None:
    before = snapshot_dir(canary)
    name = f"hostile-cp-{secrets.token_hex(4)}"
    wharf.docker("run", "-d", "--network", "none", "--name", name, "busybox", "sleep", "300", check=True)
    try:
        for variant, blob, _ in _all_variants(canary):
            for path in ("/", "/tmp"):
                status, body = wharf.request("PUT", f"/v1.45/containers/{name}/archive?path={path}",
                                             body=blob, headers={"Content-Type": "application/x-tar"})
                _judge(wharf, canary, before, "cp", f"{variant}@{path}", status, body)
        # The container itself is unharmed and never sees the host's secret.
        run = wharf.docker("exec", name, "sh", "-c", "cat /hl /h /over /tmp/hl 2>/dev/null; echo ok")
        assert run.stdout.endswith("ok\n") and "host secret" not in run.stdout
    finally:
        wharf.docker("rm", "-f", name)
