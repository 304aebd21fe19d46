"""The files wharfd writes for each container and binds into it: hostname, hosts, resolv.conf."""

from __future__ import annotations

import os
import re
from typing import Any

HOST_RESOLV_CONF = "/etc/resolv.conf"
FALLBACK_NAMESERVERS = ["8.8.8.8", "8.8.4.4"]
_LOOPBACK_NAMESERVER = re.compile(r"^\s*nameserver\s+(127\.\S*|::1|0\.0\.0\.0)\s*$")

_HOSTS = """127.0.0.1\tlocalhost
::1\tlocalhost ip6-localhost ip6-loopback
fe00::\tip6-localnet
ff00::\tip6-mcastprefix
ff02::1\tip6-allnodes
ff02::2\tip6-allrouters
"""


def _write(path: str, text: str) -> None:
    temporary = path + ".tmp"
    with open(temporary, "w") as out:
        out.write(text)
    os.chmod(temporary, 0o644)
    os.replace(temporary, path)


def hosts_text(host_config: dict[str, Any]) -> str:
    text = _HOSTS
    for entry in host_config.get("ExtraHosts") or []:
        # `name:ip` (ip may be IPv6 and contain colons) or `name=ip`.
        name, sep, address = entry.partition("=")
        if not sep:
            name, _, address = entry.partition(":")
        text += f"{address}\t{name}\n"
    return text


def resolv_conf_text(host_config: dict[str, Any], host_text: str) -> str:
    """The host's resolv.conf without loopback nameservers (unreachable from the container's own
    network namespace), or the container's --dns/--dns-search/--dns-option settings."""
    host_network = host_config.get("NetworkMode") == "host"
    lines = host_text.splitlines()
    if not host_network:
        lines = [line for line in lines if not _LOOPBACK_NAMESERVER.match(line)]
    dns = host_config.get("Dns") or []
    search = host_config.get("DnsSearch") or []
    options = host_config.get("DnsOptions") or []
    if dns:
        lines = [line for line in lines if not line.strip().startswith("nameserver")]
        lines += [f"nameserver {server}" for server in dns]
    if search:
        lines = [line for line in lines if not line.strip().startswith(("search", "domain"))]
        lines.append("search " + " ".join(search))
    if options:
        lines = [line for line in lines if not line.strip().startswith("options")]
        lines.append("options " + " ".join(options))
    if not any(line.strip().startswith("nameserver") for line in lines):
        lines += [f"nameserver {server}" for server in FALLBACK_NAMESERVERS]
    return "\n".join(lines) + "\n"


def write_container_files(
    hostname_path: str, hosts_path: str, resolv_conf_path: str, hostname: str, host_config: dict[str, Any]
) -> None:
    _write(hostname_path, hostname + "\n")
    _write(hosts_path, hosts_text(host_config))
    try:
        with open(HOST_RESOLV_CONF) as source:
            host_text = source.read()
    except OSError:
        host_text = ""
    _write(resolv_conf_path, resolv_conf_text(host_config, host_text))
