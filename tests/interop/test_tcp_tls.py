"""TCP carries root's power: wharfd serves it only with mutual TLS, and the docker CLI uses it so."""

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import require_binary
from tests.fixtures.daemon import WharfDaemon
from tests.fixtures.registry import free_port


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Path:
    trustme = pytest.importorskip("trustme")
    directory = tmp_path_factory.mktemp("tls")
    ca = trustme.CA()
    server = ca.issue_cert("127.0.0.1", "localhost")
    client = ca.issue_cert("wharf-client")
    ca.cert_pem.write_to_path(str(directory / "ca.pem"))
    server.cert_chain_pems[0].write_to_path(str(directory / "server-cert.pem"))
    server.private_key_pem.write_to_path(str(directory / "server-key.pem"))
    client.cert_chain_pems[0].write_to_path(str(directory / "cert.pem"))
    client.private_key_pem.write_to_path(str(directory / "key.pem"))
    return directory


@pytest.fixture
def tls_daemon(certificates: Path) -> Iterator[tuple[WharfDaemon, str]]:
    require_binary("docker")
    address = f"tcp://127.0.0.1:{free_port()}"
    daemon = WharfDaemon(extra_args=(
        "-H", address, "--tlsverify", "--tlscacert", str(certificates / "ca.pem"),
        "--tlscert", str(certificates / "server-cert.pem"), "--tlskey", str(certificates / "server-key.pem"),
    ))
    try:
        daemon.start()
        yield daemon, address
    finally:
        daemon.stop()


def _docker(address: str, cert_path: Path | None, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, DOCKER_HOST=address)
    env.pop("DOCKER_CONTEXT", None)
    if cert_path is not None:
        env.update(DOCKER_TLS_VERIFY="1", DOCKER_CERT_PATH=str(cert_path))
    return subprocess.run(["docker", *args], capture_output=True, text=True, env=env, timeout=60)


def test_mutual_tls_lets_a_client_with_a_certificate_in(tls_daemon: tuple[WharfDaemon, str],
                                                        certificates: Path, tmp_path: Path) -> None:
    _, address = tls_daemon
    ok = _docker(address, certificates, "version", "--format", "{{.Server.APIVersion}}")
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.strip() == "1.51"

    # A client without a certificate is refused during the TLS handshake.
    import ssl
    import urllib.request

    context = ssl.create_default_context(cafile=str(certificates / "ca.pem"))
    with pytest.raises((ssl.SSLError, ConnectionError, OSError)):
        urllib.request.urlopen(f"https://{address[6:]}/_ping", context=context, timeout=10).read()
    # Plain HTTP on the TLS port gets nothing useful either.
    plain = _docker(address, None, "version")
    assert plain.returncode != 0


def test_plain_tcp_is_refused(tmp_path: Path) -> None:
    daemon = WharfDaemon(extra_args=("-H", f"tcp://127.0.0.1:{free_port()}"))
    try:
        with pytest.raises(RuntimeError, match="refusing to listen on tcp://127.0.0.1 without --tlsverify"):
            daemon.start(timeout=20)
    finally:
        daemon.stop()


def test_unix_socket_is_0660(tls_daemon: tuple[WharfDaemon, str]) -> None:
    daemon, _ = tls_daemon
    assert os.stat(daemon.socket).st_mode & 0o777 == 0o660
