"""`GET /distribution/{name}/json` (the docker SDK's `images.get_registry_data`) against the real
registry on 127.0.0.1, side by side with the real Docker engine where it is installed."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import require_binary
from tests.fixtures.daemon import UnixHTTPConnection, WharfDaemon
from tests.fixtures.dockerd import DockerDaemon, started_dockerd
from tests.fixtures.registry import Registry, push_blob, push_manifest, tls_registry
from wharf.containerd.distribution.platform import host
from wharf.oci import image as oci

docker = pytest.importorskip("docker")

USER, PASSWORD = "inspector", "pa55-" + secrets.token_hex(4)
MANIFEST_ACCEPT = ", ".join([oci.MEDIA_TYPE_OCI_INDEX, oci.MEDIA_TYPE_DOCKER_MANIFEST_LIST,
                             oci.MEDIA_TYPE_OCI_MANIFEST, oci.MEDIA_TYPE_DOCKER_MANIFEST])


def _auth_header(username: str, password: str) -> dict[str, str]:
    payload = json.dumps({"username": username, "password": password}).encode()
    return {"X-Registry-Auth": base64.urlsafe_b64encode(payload).decode()}


def _inspect(daemon: WharfDaemon | DockerDaemon, ref: str, headers: dict[str, str] | None = None
             ) -> tuple[int, Any]:
    """(status, JSON body) of `GET /distribution/{ref}/json` on either engine's socket."""
    conn = UnixHTTPConnection(daemon.socket)
    try:
        conn.request("GET", f"/v1.41/distribution/{ref}/json", headers=headers or {})
        response = conn.getresponse()
        return response.status, json.loads(response.read())
    finally:
        conn.close()


def _push(daemon: WharfDaemon, source: str, target: str, headers: dict[str, str] | None = None) -> str:
    """Push `source` from wharfd as `target`; the manifest digest the push reports."""
    daemon.docker("tag", source, target, check=True)
    repository, tag = target.rsplit(":", 1)
    status, body = daemon.request("POST", f"/v1.41/images/{repository}/push?tag={tag}", headers=headers)
    assert status == 200, body
    found = re.search(rb'"Digest": ?"(sha256:[0-9a-f]{64})"', body)
    assert found, body
    return found.group(1).decode()


def _manifest(registry: Registry, repository: str, digest: str) -> dict[str, Any]:
    request = urllib.request.Request(f"{registry.url}/v2/{repository}/manifests/{digest}",
                                     headers={"Accept": MANIFEST_ACCEPT})
    with urllib.request.urlopen(request) as response:
        return json.loads(response.read())


@pytest.fixture(scope="module")
def pushed(wharf: WharfDaemon, registry: Registry) -> tuple[str, str]:
    """busybox pushed from wharfd to the registry: (reference, manifest digest)."""
    target = f"{registry.address}/inspect/busybox:{secrets.token_hex(3)}"
    return target, _push(wharf, "busybox:latest", target)


@pytest.fixture(scope="module")
def docker_manifest(registry: Registry, pushed: tuple[str, str]) -> tuple[str, str]:
    """The pushed image again, described by a Docker schema 2 manifest (what Docker pushes) under a
    tag of its own: (reference, manifest digest)."""
    reference, digest = pushed
    repository = reference.split("/", 1)[1].rsplit(":", 1)[0]
    manifest = _manifest(registry, repository, digest)
    docker_layer = {oci.MEDIA_TYPE_OCI_LAYER_GZIP: oci.MEDIA_TYPE_DOCKER_LAYER_GZIP,
                    oci.MEDIA_TYPE_OCI_LAYER: oci.MEDIA_TYPE_DOCKER_LAYER}
    converted = {
        "schemaVersion": 2,
        "mediaType": oci.MEDIA_TYPE_DOCKER_MANIFEST,
        "config": dict(manifest["config"], mediaType=oci.MEDIA_TYPE_DOCKER_CONFIG),
        "layers": [dict(layer, mediaType=docker_layer[layer["mediaType"]]) for layer in manifest["layers"]],
    }
    tag = "docker-" + secrets.token_hex(3)
    pushed_digest = push_manifest(registry, repository, tag, json.dumps(converted).encode(),
                                  oci.MEDIA_TYPE_DOCKER_MANIFEST)
    return f"{registry.address}/{repository}:{tag}", pushed_digest


@pytest.fixture(scope="module")
def multi_platform(registry: Registry, pushed: tuple[str, str]) -> tuple[str, str]:
    """An index of the pushed amd64 manifest and an arm64/v8 one (same layers, its own config),
    under a tag of its own: (reference, index digest)."""
    reference, amd64_digest = pushed
    repository = reference.split("/", 1)[1].rsplit(":", 1)[0]
    amd64 = _manifest(registry, repository, amd64_digest)
    request = urllib.request.Request(f"{registry.url}/v2/{repository}/blobs/{amd64['config']['digest']}")
    with urllib.request.urlopen(request) as response:
        config = json.loads(response.read())
    config.update(architecture="arm64", variant="v8")
    config_body = json.dumps(config).encode()
    arm64 = dict(amd64, config=dict(amd64["config"], digest=push_blob(registry, repository, config_body),
                                    size=len(config_body)))
    arm64_body = json.dumps(arm64).encode()
    arm64_digest = push_manifest(registry, repository, "sha256:" + hashlib.sha256(arm64_body).hexdigest(),
                                 arm64_body, amd64["mediaType"])
    head = urllib.request.Request(f"{registry.url}/v2/{repository}/manifests/{amd64_digest}", method="HEAD",
                                  headers={"Accept": amd64["mediaType"]})
    with urllib.request.urlopen(head) as response:
        amd64_size = int(response.headers["Content-Length"])
    index = {
        "schemaVersion": 2,
        "mediaType": oci.MEDIA_TYPE_OCI_INDEX,
        "manifests": [
            {"mediaType": amd64["mediaType"], "digest": amd64_digest, "size": amd64_size,
             "platform": {"architecture": "amd64", "os": "linux"}},
            {"mediaType": amd64["mediaType"], "digest": arm64_digest, "size": len(arm64_body),
             "platform": {"architecture": "arm64", "os": "linux", "variant": "v8"}},
        ],
    }
    tag = "multi-" + secrets.token_hex(3)
    index_digest = push_manifest(registry, repository, tag, json.dumps(index).encode(), oci.MEDIA_TYPE_OCI_INDEX)
    return f"{registry.address}/{repository}:{tag}", index_digest


@pytest.fixture(scope="module")
def dockerd() -> Iterator[DockerDaemon]:
    with started_dockerd(busybox=False) as daemon:
        yield daemon


@pytest.fixture(scope="module")
def private_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    require_binary("docker-registry")
    with tls_registry(tmp_path_factory.mktemp("inspect-private-registry"), USER, PASSWORD) as server:
        yield server


def test_an_oci_manifest_resolves_without_platforms(wharf: WharfDaemon, pushed: tuple[str, str]) -> None:
    # moby reports platforms only for Docker manifests and indexes: an OCI manifest (what Wharf
    # pushes) has none.
    reference, digest = pushed
    client = docker.DockerClient(base_url=wharf.host)
    try:
        data = client.images.get_registry_data(reference)
    finally:
        client.close()
    assert data.id == digest
    assert data.attrs["Descriptor"]["mediaType"] == oci.MEDIA_TYPE_OCI_MANIFEST
    assert data.attrs["Platforms"] is None

    status, by_tag = _inspect(wharf, reference)
    assert status == 200, by_tag
    assert by_tag["Descriptor"]["digest"] == digest and by_tag["Descriptor"]["size"] > 0
    status, by_digest = _inspect(wharf, f"{reference.rsplit(':', 1)[0]}@{digest}")
    assert status == 200, by_digest
    assert by_digest == by_tag


def test_a_docker_manifest_has_its_configs_platform(wharf: WharfDaemon, docker_manifest: tuple[str, str]) -> None:
    reference, digest = docker_manifest
    client = docker.DockerClient(base_url=wharf.host)
    try:
        data = client.images.get_registry_data(reference)
    finally:
        client.close()
    architecture = host().architecture
    assert data.id == digest
    assert data.has_platform(f"linux/{architecture}")
    assert data.attrs["Descriptor"]["mediaType"] == oci.MEDIA_TYPE_DOCKER_MANIFEST
    assert data.attrs["Platforms"] == [{"architecture": architecture, "os": "linux"}]


def test_an_index_lists_its_entries_platforms(wharf: WharfDaemon, multi_platform: tuple[str, str]) -> None:
    reference, digest = multi_platform
    status, inspected = _inspect(wharf, reference)
    assert status == 200, inspected
    assert inspected["Descriptor"]["digest"] == digest
    assert inspected["Descriptor"]["mediaType"] == oci.MEDIA_TYPE_OCI_INDEX
    assert inspected["Platforms"] == [{"architecture": "amd64", "os": "linux"},
                                      {"architecture": "arm64", "os": "linux", "variant": "v8"}]


def test_registry_errors_in_dockers_words(wharf: WharfDaemon, registry: Registry, pushed: tuple[str, str]) -> None:
    repository = pushed[0].rsplit(":", 1)[0]
    assert _inspect(wharf, f"{repository}:no-such-tag") == (404, {"message": "manifest unknown: manifest unknown"})
    assert _inspect(wharf, f"{repository}@sha256:{'b' * 64}") == (404, {"message": "manifest unknown: manifest unknown"})
    # This registry answers MANIFEST_UNKNOWN for a repository it does not have; Docker passes its words on.
    assert _inspect(wharf, f"{registry.address}/no/such-repository:1") == (
        404, {"message": "manifest unknown: manifest unknown"})


def test_malformed_references(wharf: WharfDaemon, registry: Registry) -> None:
    status, body = _inspect(wharf, f"{registry.address}/UPPER/case")
    assert status == 400 and body["message"].startswith("invalid reference format"), body
    assert _inspect(wharf, "bad::ref") == (400, {"message": "invalid reference format"})
    assert _inspect(wharf, "a" * 64) == (500, {"message": "no manifest found for full image ID"})


@pytest.fixture(scope="module")
def private_image(wharf: WharfDaemon, private_registry: Registry) -> tuple[str, str]:
    """busybox pushed with credentials to the registry that wants them: (reference, manifest digest)."""
    target = f"{private_registry.address}/team/busybox:{secrets.token_hex(3)}"
    return target, _push(wharf, "busybox:latest", target, _auth_header(USER, PASSWORD))


def test_credentials_from_x_registry_auth(wharf: WharfDaemon, private_image: tuple[str, str]) -> None:
    reference, digest = private_image
    status, inspected = _inspect(wharf, reference, _auth_header(USER, PASSWORD))
    assert status == 200, inspected
    assert inspected["Descriptor"]["digest"] == digest
    status, anonymous = _inspect(wharf, reference)
    assert (status, anonymous) == (401, {"message": "unauthorized: authentication required"})
    status, refused = _inspect(wharf, reference, _auth_header(USER, "wrong"))
    assert (status, refused) == (401, {"message": "unauthorized: authentication required"})
    # moby ignores a header it cannot decode and asks anonymously
    assert _inspect(wharf, reference, {"X-Registry-Auth": "!!not base64"}) == (status, refused)


def test_same_answers_as_docker(wharf: WharfDaemon, dockerd: DockerDaemon, registry: Registry,
                                pushed: tuple[str, str], docker_manifest: tuple[str, str],
                                multi_platform: tuple[str, str]) -> None:
    repository = pushed[0].rsplit(":", 1)[0]
    for reference in (pushed[0], f"{repository}@{pushed[1]}", docker_manifest[0], f"{repository}@{docker_manifest[1]}",
                      multi_platform[0], f"{repository}:no-such-tag",
                      f"{registry.address}/no/such-repository:1", "bad::ref", "a" * 64):
        assert _inspect(wharf, reference) == _inspect(dockerd, reference), reference


def test_same_answers_with_credentials_as_docker(wharf: WharfDaemon, dockerd: DockerDaemon,
                                                 private_image: tuple[str, str]) -> None:
    reference = private_image[0]
    # Without credentials moby answers 500 with its HTTP client's own words ("no basic auth
    # credentials"); Wharf answers the registry's 401 (test_credentials_from_x_registry_auth).
    for headers in (_auth_header(USER, PASSWORD), _auth_header(USER, "wrong")):
        assert _inspect(wharf, reference, headers) == _inspect(dockerd, reference, headers), headers
