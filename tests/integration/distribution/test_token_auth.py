"""The bearer token flow: the real registry sends us to a token server, we come back with a token."""

import asyncio
import subprocess
from collections.abc import Iterator

import aiohttp
import pytest

from tests.conftest import require_binary
from tests.fixtures.busybox_image import write_rootfs_tar
from tests.fixtures.oci_layout import write_layout
from tests.fixtures.registry import Registry
from tests.fixtures.token_server import TokenServer
from wharf import errdefs
from wharf.containerd.distribution.auth import Credentials
from wharf.containerd.distribution.platform import Platform
from wharf.containerd.distribution.pull import pull
from wharf.containerd.distribution.push import push
from wharf.containerd.distribution.registry import RegistryClient
from wharf.containerd.plugins.content_local import LocalContentStore
from wharf.oci.reference import parse_normalized_tagged

USER, PASSWORD = "tokenuser", "tokenpass"


@pytest.fixture(scope="module")
def token_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Registry, TokenServer]]:
    require_binary("docker-registry")
    require_binary("skopeo")
    work = tmp_path_factory.mktemp("token")
    tokens = TokenServer(work, USER, PASSWORD, anonymous_pull=True)
    tokens.start()
    server = Registry(auth_config=tokens.registry_auth_config())
    server.start()
    write_rootfs_tar(work / "busybox.tar")
    write_layout(work / "layout", [(work / "busybox.tar").read_bytes()])
    subprocess.run(["skopeo", "copy", f"--dest-creds={USER}:{PASSWORD}", "--dest-tls-verify=false",
                    f"oci:{work / 'layout'}:latest", f"docker://{server.address}/team/busybox:latest"],
                   check=True, capture_output=True)
    yield server, tokens
    server.stop()
    tokens.stop()


def _run(coroutine_factory):
    async def run():
        async with aiohttp.ClientSession() as session:
            return await coroutine_factory(session)

    return asyncio.run(run())


def test_anonymous_pull_gets_a_pull_token(token_registry: tuple[Registry, TokenServer],
                                          content: LocalContentStore) -> None:
    server, tokens = token_registry
    tokens.requests.clear()
    ref = parse_normalized_tagged(f"{server.address}/team/busybox:latest")
    result = _run(lambda session: pull(ref, content, RegistryClient(session, server.address, Credentials()),
                                       Platform("linux", "amd64")))
    assert result.layers
    assert tokens.requests
    assert tokens.requests[0]["scope"] == ["repository:team/busybox:pull"]
    assert tokens.requests[0]["service"] == ["wharf-test-registry"]


def test_push_needs_credentials(token_registry: tuple[Registry, TokenServer], content: LocalContentStore) -> None:
    server, _ = token_registry
    source = parse_normalized_tagged(f"{server.address}/team/busybox:latest")
    target = parse_normalized_tagged(f"{server.address}/team/copy:latest")

    async def pull_then_push(session: aiohttp.ClientSession, credentials: Credentials):
        pulled = await pull(source, content, RegistryClient(session, server.address, Credentials()),
                            Platform("linux", "amd64"))
        return await push(target, pulled.manifest, content, RegistryClient(session, server.address, credentials))

    with pytest.raises(errdefs.Unauthorized):
        _run(lambda session: pull_then_push(session, Credentials()))
    result = _run(lambda session: pull_then_push(session, Credentials(USER, PASSWORD)))
    assert result.tag == "latest"
    with pytest.raises(errdefs.Unauthorized):
        _run(lambda session: pull_then_push(session, Credentials(USER, "bad")))
