"""docker pull / push / run-that-pulls against wharfd and the real registry on 127.0.0.1."""

import json
import secrets
import subprocess

from tests.fixtures.daemon import WharfDaemon
from tests.fixtures.registry import Registry, free_port


def test_pull_then_run(wharf: WharfDaemon, registry: Registry) -> None:
    image = f"{registry.address}/library/busybox:latest"
    pulled = wharf.docker("pull", image)
    assert pulled.returncode == 0, pulled.stderr
    assert "Digest: sha256:" in pulled.stdout
    assert f"Status: Downloaded newer image for {image}" in pulled.stdout or "Image is up to date" in pulled.stdout
    again = wharf.docker("pull", image, check=True)
    assert f"Status: Image is up to date for {image}" in again.stdout

    inspect = json.loads(wharf.docker("image", "inspect", image, check=True).stdout)[0]
    manifest_digest = json.loads(subprocess.run(
        ["skopeo", "inspect", "--tls-verify=false", f"docker://{image}"], capture_output=True, text=True,
        check=True).stdout)["Digest"]
    assert inspect["RepoDigests"] == [f"{registry.address}/library/busybox@{manifest_digest}"]

    ran = wharf.docker("run", "--rm", image, "echo", "from the registry")
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout == "from the registry\n"


def test_run_pulls_a_missing_image(wharf: WharfDaemon, registry: Registry) -> None:
    image = f"{registry.address}/library/busybox:latest"
    wharf.docker("rmi", "-f", image)
    ran = wharf.docker("run", "--rm", image, "echo", "pulled first")
    assert ran.returncode == 0, ran.stderr
    assert f"Unable to find image '{image}' locally" in ran.stderr
    assert ran.stdout == "pulled first\n"


def test_push_then_pull_back(wharf: WharfDaemon, registry: Registry) -> None:
    target = f"{registry.address}/pushed/busybox:{secrets.token_hex(3)}"
    wharf.docker("tag", "busybox:latest", target, check=True)
    pushed = wharf.docker("push", target)
    assert pushed.returncode == 0, pushed.stderr
    assert f"The push refers to repository [{target.rsplit(':', 1)[0]}]" in pushed.stdout
    assert "digest: sha256:" in pushed.stdout
    seen = subprocess.run(["skopeo", "inspect", "--tls-verify=false", f"docker://{target}"],
                          capture_output=True, text=True)
    assert seen.returncode == 0, seen.stderr
    wharf.docker("rmi", target, check=True)
    assert wharf.docker("pull", target).returncode == 0


def test_pull_errors(wharf: WharfDaemon, registry: Registry) -> None:
    missing = wharf.docker("pull", f"{registry.address}/library/busybox:no-such-tag")
    assert missing.returncode != 0
    assert "not found" in missing.stderr
    nowhere = wharf.docker("pull", f"127.0.0.1:{free_port()}/some/image:1")
    assert nowhere.returncode != 0
    assert "Error response from daemon" in nowhere.stderr
    bad = wharf.docker("pull", f"{registry.address}/UPPER/case")
    assert bad.returncode != 0 and "invalid reference format" in bad.stderr
    assert wharf.ping()
