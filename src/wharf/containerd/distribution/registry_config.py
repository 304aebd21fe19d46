"""How registries are reached: insecure hosts, Docker Hub mirrors, TLS trust (Docker's daemon options).

Apart from the registry client so that the supervisor can hold its configuration without importing
the HTTP client (aiohttp), which is loaded on the first pull, push or login.
"""

from __future__ import annotations

import ipaddress
import os
import ssl
from dataclasses import dataclass, field

from wharf import errdefs


@dataclass
class RegistryConfig:
    insecure_registries: list[str] = field(default_factory=list)
    """Hosts (`host:port`) or CIDRs that may be reached over plain HTTP or unverified TLS."""
    mirrors: list[str] = field(default_factory=list)
    """URLs of Docker Hub mirrors, tried before Docker Hub."""
    ca_file: str | None = None
    """A CA bundle trusted for every registry (tests); per-registry trust comes from `certs_dir`."""
    certs_dir: str = "/etc/wharf/certs.d"
    """As Docker's /etc/docker/certs.d: `<host:port>/*.crt` are CAs trusted for that registry, and a
    `*.cert` with its `*.key` is the client certificate it is offered."""

    def tls_context(self, host: str) -> ssl.SSLContext | None:
        """The TLS settings for `host` from `ca_file` and `certs_dir`, or None for the system's."""
        directory = os.path.join(self.certs_dir, host) if self.certs_dir else ""
        entries = sorted(os.listdir(directory)) if directory and os.path.isdir(directory) else []
        cas = [os.path.join(directory, name) for name in entries if name.endswith(".crt")]
        certs = [name for name in entries if name.endswith(".cert")]
        if not (self.ca_file or cas or certs):
            return None
        context = ssl.create_default_context(cafile=self.ca_file) if self.ca_file else ssl.create_default_context()
        for ca in cas:
            context.load_verify_locations(cafile=ca)
        for cert in certs:
            key = os.path.join(directory, cert[: -len(".cert")] + ".key")
            if not os.path.exists(key):
                raise errdefs.InvalidArgument(f"missing key {key} for client certificate {cert}")
            context.load_cert_chain(os.path.join(directory, cert), key)
        return context

    def is_insecure(self, host: str) -> bool:
        name = host.rsplit(":", 1)[0].strip("[]") if not host.startswith("[") or "]:" in host else host.strip("[]")
        if name == "localhost" or host in self.insecure_registries:
            return True
        try:
            address = ipaddress.ip_address(name)
        except ValueError:
            return False
        if address.is_loopback:
            return True
        return any(address in ipaddress.ip_network(cidr, strict=False)
                   for cidr in self.insecure_registries if "/" in cidr)
