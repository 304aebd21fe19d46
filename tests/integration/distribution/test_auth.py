"""Basic auth over TLS with a private CA, against the real registry."""

import asyncio
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from tests.conftest import require_binary
from tests.fixtures.busybox_image import write_rootfs_tar
from tests.fixtures.oci_layout import write_layout
from tests.fixtures.registry import Registry, tls_registry
from wharf import errdefs
from wharf.containerd.distribution.auth import Credentials, parse_challenge
from wharf.containerd.distribution.platform import Platform
from wharf.containerd.distribution.pull import pull
from wharf.containerd.distribution.registry import RegistryClient, RegistryConfig
from wharf.containerd.plugins.content_local import LocalContentStore
from wharf.oci.reference import parse_normalized_tagged

USER, PASSWORD = "wharf", "s3cret-pass"


@pytest.fixture(scope="module")
def secure_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Registry, str]]:
    require_binary("docker-registry")
    require_binary("skopeo")
    work = tmp_path_factory.mktemp("tls")
    with tls_registry(work, USER, PASSWORD, "localhost") as server:
        write_rootfs_tar(work / "busybox.tar")
        write_layout(work / "layout", [(work / "busybox.tar").read_bytes()])
        import subprocess

        subprocess.run(["skopeo", "copy", f"--dest-creds={USER}:{PASSWORD}",
                        "--dest-tls-verify=false", f"oci:{work / 'layout'}:latest",
                        f"docker://{server.address}/private/busybox:latest"], check=True, capture_output=True)
        yield server, str(work / "ca.pem")


def _pull(server: Registry, ca: str, content: LocalContentStore, credentials: Credentials) -> None:
    async def run() -> None:
        async with aiohttp.ClientSession() as session:
            client = RegistryClient(session, server.address, credentials, RegistryConfig(ca_file=ca))
            await pull(parse_normalized_tagged(f"{server.address}/private/busybox:latest"), content, client,
                       Platform("linux", "amd64"))

    asyncio.run(run())


def test_basic_auth_over_tls(secure_registry: tuple[Registry, str], content: LocalContentStore) -> None:
    server, ca = secure_registry
    _pull(server, ca, content, Credentials(USER, PASSWORD))


def test_wrong_or_missing_credentials_are_unauthorized(secure_registry: tuple[Registry, str],
                                                       content: LocalContentStore, tmp_path: Path) -> None:
    server, ca = secure_registry
    with pytest.raises(errdefs.Unauthorized):
        _pull(server, ca, content, Credentials(USER, "wrong"))
    with pytest.raises(errdefs.Unauthorized):
        _pull(server, ca, content, Credentials())


def test_untrusted_certificate_is_refused(secure_registry: tuple[Registry, str], content: LocalContentStore,
                                          tmp_path: Path) -> None:
    server, _ = secure_registry
    other = pytest.importorskip("trustme").CA()
    other.cert_pem.write_to_path(str(tmp_path / "other.pem"))
    with pytest.raises(errdefs.Unavailable):
        _pull(server, str(tmp_path / "other.pem"), content, Credentials(USER, PASSWORD))


@pytest.mark.parametrize(
    ("header", "scheme", "params"),
    [
        ('Bearer realm="https://auth.example/token",service="registry",scope="repository:a/b:pull"',
         "bearer", {"realm": "https://auth.example/token", "service": "registry", "scope": "repository:a/b:pull"}),
        ('Basic realm="wharf-test"', "basic", {"realm": "wharf-test"}),
        ("Bearer realm=https://x/t,service=r", "bearer", {"realm": "https://x/t", "service": "r"}),
    ],
)
def test_challenges_are_parsed(header: str, scheme: str, params: dict[str, str]) -> None:
    challenge = parse_challenge(header)
    assert challenge.scheme == scheme
    assert challenge.params == params
