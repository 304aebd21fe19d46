"""Image inspect and image list answer with the fields each Engine API version has in moby, checked on
the raw API at several versions and, for 1.41, side by side with the real Docker engine (20.10)."""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import require_binary
from tests.fixtures.busybox_image import write_rootfs_tar
from tests.fixtures.daemon import UnixHTTPConnection, WharfDaemon, started_with_busybox
from tests.fixtures.dockerd import DockerDaemon

VERSIONS = ("1.41", "1.42", "1.43", "1.44", "1.45", "1.47", "1.48", "1.49", "1.50", "1.51")
BUSYBOX_CONFIG_1_50 = {"User": "", "Env": None, "Entrypoint": None, "Cmd": ["sh"], "Volumes": None,
                       "WorkingDir": "", "Labels": None, "OnBuild": None}
BUSYBOX_CONFIG_1_49 = {"Hostname": "", "Domainname": "", "User": "", "AttachStdin": False, "AttachStdout": False,
                       "AttachStderr": False, "Tty": False, "OpenStdin": False, "StdinOnce": False, "Env": None,
                       "Cmd": ["sh"], "Image": "", "Volumes": None, "WorkingDir": "", "Entrypoint": None,
                       "OnBuild": None, "Labels": None}


def _older(version: str, than: str) -> bool:
    return tuple(map(int, version.split("."))) < tuple(map(int, than.split(".")))


@pytest.fixture(scope="module")
def wharf() -> Iterator[WharfDaemon]:
    require_binary("docker")
    daemon = WharfDaemon()
    with started_with_busybox(daemon):
        yield daemon


def _get(socket: str, path: str) -> Any:
    connection = UnixHTTPConnection(socket)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        body = response.read()
    finally:
        connection.close()
    assert response.status == 200, body
    return json.loads(body)


def _import(daemon: WharfDaemon, tmp_path: Path, name: str, *changes: str) -> str:
    tar = tmp_path / f"{secrets.token_hex(3)}.tar"
    write_rootfs_tar(tar)
    args = ["import"]
    for change in changes:
        args += ["--change", change]
    imported = daemon.docker(*args, str(tar), *([name] if name else []))
    assert imported.returncode == 0, imported.stderr
    return imported.stdout.strip()


def _listed(daemon: WharfDaemon, version: str, image_id: str) -> dict[str, Any]:
    return next(image for image in _get(daemon.socket, f"/v{version}/images/json") if image["Id"] == image_id)


def test_inspect_fields_follow_the_api_version(wharf: WharfDaemon) -> None:
    for version in VERSIONS:
        inspect = _get(wharf.socket, f"/v{version}/images/busybox/json")
        assert inspect["RepoTags"] == ["busybox:latest"] and inspect["RepoDigests"] == [], version
        assert ("VirtualSize" in inspect) == _older(version, "1.44"), version
        if "VirtualSize" in inspect:
            assert inspect["VirtualSize"] == inspect["Size"] > 1_000_000
        assert ("Container" in inspect) == ("ContainerConfig" in inspect) == _older(version, "1.45"), version
        assert ("Descriptor" in inspect) == (not _older(version, "1.48")), version
        assert inspect["Config"] == (BUSYBOX_CONFIG_1_49 if _older(version, "1.50") else BUSYBOX_CONFIG_1_50), version
        assert "Variant" not in inspect and "OsVersion" not in inspect  # empty: omitted, as moby
        assert {"Parent", "Comment", "DockerVersion", "Author", "Created"} <= set(inspect), version
    # Without a version in the path: the newest (1.51).
    assert _get(wharf.socket, "/images/busybox/json") == _get(wharf.socket, "/v1.51/images/busybox/json")


def test_inspect_legacy_container_fields(wharf: WharfDaemon) -> None:
    inspect = _get(wharf.socket, "/v1.44/images/busybox/json")
    assert inspect["Container"] == ""
    # No container_config in an imported image: moby's empty container config.
    assert inspect["ContainerConfig"] == {
        "Hostname": "", "Domainname": "", "User": "", "AttachStdin": False, "AttachStdout": False,
        "AttachStderr": False, "Tty": False, "OpenStdin": False, "StdinOnce": False, "Env": None, "Cmd": None,
        "Image": "", "Volumes": None, "WorkingDir": "", "Entrypoint": None, "OnBuild": None, "Labels": None,
    }  # fmt: skip


def test_descriptor_is_the_target_the_name_points_at(wharf: WharfDaemon) -> None:
    inspect = _get(wharf.socket, "/v1.48/images/busybox/json")
    descriptor = inspect["Descriptor"]
    assert descriptor["mediaType"] == "application/vnd.oci.image.manifest.v1+json"
    blob = (Path(wharf.data_root) / "containerd" / "content" / "blobs" / "sha256"
            / descriptor["digest"].removeprefix("sha256:")).read_bytes()
    assert descriptor["digest"] == "sha256:" + hashlib.sha256(blob).hexdigest()
    assert descriptor["size"] == len(blob)
    assert json.loads(blob)["config"]["digest"] == inspect["Id"]
    assert _listed(wharf, "1.48", inspect["Id"])["Descriptor"] == descriptor
    assert "Descriptor" not in _listed(wharf, "1.47", inspect["Id"])


def test_inspect_config_omits_what_is_empty_from_1_50(wharf: WharfDaemon, tmp_path: Path) -> None:
    name = f"versions/config:{secrets.token_hex(3)}"
    _import(wharf, tmp_path, name, 'CMD ["sh"]', "ENV A=1", "EXPOSE 80", "STOPSIGNAL SIGQUIT")
    try:
        newest = _get(wharf.socket, f"/v1.51/images/{name}/json")["Config"]
        assert newest == {"User": "", "Env": ["A=1"], "Entrypoint": None, "Cmd": ["sh"], "Volumes": None,
                          "WorkingDir": "", "Labels": None, "OnBuild": None, "ExposedPorts": {"80/tcp": {}},
                          "StopSignal": "SIGQUIT"}
        older = _get(wharf.socket, f"/v1.49/images/{name}/json")["Config"]
        assert older == {**BUSYBOX_CONFIG_1_49, "Env": ["A=1"], "ExposedPorts": {"80/tcp": {}},
                         "StopSignal": "SIGQUIT"}
    finally:
        wharf.docker("rmi", name, check=True)


def test_list_fields_follow_the_api_version(wharf: WharfDaemon, tmp_path: Path) -> None:
    untagged = _import(wharf, tmp_path, "", 'CMD ["sh"]', f"LABEL untagged={secrets.token_hex(3)}")
    busybox_id = _get(wharf.socket, "/images/busybox/json")["Id"]
    try:
        for version in VERSIONS:
            listed = _listed(wharf, version, untagged)
            busybox = _listed(wharf, version, busybox_id)
            if _older(version, "1.43"):
                assert listed["RepoTags"] == ["<none>:<none>"] and listed["RepoDigests"] == ["<none>@<none>"]
                assert busybox["RepoTags"] == ["busybox:latest"] and busybox["RepoDigests"] is None  # as Docker
            else:
                assert listed["RepoTags"] == [] and listed["RepoDigests"] == [], version
                assert busybox["RepoDigests"] == [], version
            assert ("VirtualSize" in listed) == _older(version, "1.44"), version
            assert ("Descriptor" in listed) == (not _older(version, "1.48")), version
            assert listed["SharedSize"] == -1
            if _older(version, "1.51"):
                assert listed["Containers"] == -1, version
    finally:
        wharf.docker("rmi", untagged, check=True)


def test_list_counts_containers_from_1_51(wharf: WharfDaemon, tmp_path: Path) -> None:
    name = f"versions/used:{secrets.token_hex(3)}"
    image_id = _import(wharf, tmp_path, name, 'CMD ["sh"]')
    containers = [f"user-{secrets.token_hex(3)}" for _ in range(2)]
    try:
        assert _listed(wharf, "1.51", image_id)["Containers"] == 0
        for container in containers:
            wharf.docker("create", "--name", container, name, "true", check=True)
        assert _listed(wharf, "1.51", image_id)["Containers"] == 2
        assert _listed(wharf, "1.50", image_id)["Containers"] == -1
    finally:
        for container in containers:
            wharf.docker("rm", "-f", container)
        wharf.docker("rmi", name, check=True)


def test_filter_parameter_names_a_reference_on_1_24_only(wharf: WharfDaemon, tmp_path: Path) -> None:
    name = f"versions/filtered:{secrets.token_hex(3)}"
    image_id = _import(wharf, tmp_path, name, 'CMD ["sh"]', f"LABEL unique={secrets.token_hex(3)}")
    try:
        old = _get(wharf.socket, "/v1.24/images/json?filter=busybox")
        assert [image["RepoTags"] for image in old] == [["busybox:latest"]]
        assert image_id in {image["Id"] for image in _get(wharf.socket, "/v1.25/images/json?filter=busybox")}
    finally:
        wharf.docker("rmi", name, check=True)


def test_1_41_answers_have_dockers_keys(wharf: WharfDaemon, dockerd: DockerDaemon) -> None:
    wharf_inspect = _get(wharf.socket, "/v1.41/images/busybox/json")
    docker_inspect = _get(dockerd.socket, "/v1.41/images/busybox/json")
    assert set(wharf_inspect) == set(docker_inspect)
    assert wharf_inspect["Config"] == docker_inspect["Config"]  # the same import, the same changes
    # A container config: OnBuild has no omitempty in moby's type, so it shows as null.
    assert wharf_inspect["ContainerConfig"] == docker_inspect["ContainerConfig"]
    wharf_listed = next(i for i in _get(wharf.socket, "/v1.41/images/json") if i["Id"] == wharf_inspect["Id"])
    docker_listed = next(i for i in _get(dockerd.socket, "/v1.41/images/json") if i["Id"] == docker_inspect["Id"])
    assert set(wharf_listed) == set(docker_listed)
    for key in ("RepoTags", "RepoDigests", "SharedSize", "Containers"):
        assert wharf_listed[key] == docker_listed[key], key
