"""Per-registry trust from certs.d, as Docker's /etc/docker/certs.d."""

from pathlib import Path

import pytest

from wharf import errdefs
from wharf.containerd.distribution.registry import RegistryConfig


def test_certs_dir_cas_and_client_certificate(tmp_path: Path) -> None:
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    client = ca.issue_cert("wharf-client")
    host_dir = tmp_path / "registry.example:5000"
    host_dir.mkdir()
    ca.cert_pem.write_to_path(str(host_dir / "ca.crt"))
    client.cert_chain_pems[0].write_to_path(str(host_dir / "client.cert"))
    client.private_key_pem.write_to_path(str(host_dir / "client.key"))
    config = RegistryConfig(certs_dir=str(tmp_path))

    context = config.tls_context("registry.example:5000")
    assert context is not None
    subjects = [dict(x[0] for x in cert["subject"]) for cert in context.get_ca_certs()]
    assert any("trustme" in str(subject).lower() for subject in subjects)
    assert config.tls_context("other.example") is None


def test_client_certificate_without_key_is_refused(tmp_path: Path) -> None:
    trustme = pytest.importorskip("trustme")
    host_dir = tmp_path / "registry.example"
    host_dir.mkdir()
    trustme.CA().issue_cert("x").cert_chain_pems[0].write_to_path(str(host_dir / "client.cert"))
    with pytest.raises(errdefs.InvalidArgument, match="missing key"):
        RegistryConfig(certs_dir=str(tmp_path)).tls_context("registry.example")
