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


def hosts_text(host_config: dict[str, Any], own_addresses: list[tuple[str, str]] | None = None) -> str:
    """Docker's /etc/hosts: localhost lines, `--add-host` entries, then the container's own
    `address<TAB>names` lines (one per network it is on)."""
    text = _HOSTS
    for entry in host_config.get("ExtraHosts") or []:
        # `name:ip` (ip may be IPv6 and contain colons) or `name=ip`.
        name, sep, address = entry.partition("=")
        if not sep:
            name, _, address = entry.partition(":")
        text += f"{address}\t{name}\n"
    for address, names in own_addresses or []:
        text += f"{address}\t{names}\n"
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


EMBEDDED_DNS = "127.0.0.11"


def resolv_conf_for_embedded_dns(host_config: dict[str, Any], host_text: str) -> str:
    """A user network's resolv.conf, as Docker writes it: the embedded DNS server as the only
    nameserver (it forwards to the host's, or to `--dns` servers), the host's or the container's
    search domains and options, and `ndots:0`."""
    search = host_config.get("DnsSearch") or []
    options = list(host_config.get("DnsOptions") or [])
    if not search:
        for line in host_text.splitlines():
            words = line.split()
            if words and words[0] in ("search", "domain"):
                search = words[1:]
    if not host_config.get("DnsOptions"):
        for line in host_text.splitlines():
            words = line.split()
            if words and words[0] == "options":
                options += words[1:]
    if not any(o.startswith("ndots:") for o in options):
        options.append("ndots:0")
    lines = [f"nameserver {EMBEDDED_DNS}"]
    if search:
        lines.append("search " + " ".join(search))
    lines.append("options " + " ".join(options))
    return "\n".join(lines) + "\n"


def read_host_resolv_conf() -> str:
    try:
        with open(HOST_RESOLV_CONF) as source:
            return source.read()
    except OSError:
        return ""


def write_network_files(hosts_path: str, resolv_conf_path: str, host_config: dict[str, Any],
                        own_addresses: list[tuple[str, str]], embedded_dns: bool) -> None:
    """Rewrite hosts and resolv.conf once the container's addresses are known (before its task
    is made, so the new files are the ones bound into it)."""
    host_text = read_host_resolv_conf()
    text = resolv_conf_for_embedded_dns(host_config, host_text) if embedded_dns \
        else resolv_conf_text(host_config, host_text)
    # In place (same inode): a running container has these files bound in, and a live
    # connect must change what it sees.
    for path, content in ((hosts_path, hosts_text(host_config, own_addresses)), (resolv_conf_path, text)):
        with open(path, "w") as out:
            out.write(content)


def write_host_network_hosts(hosts_path: str, host_config: dict[str, Any]) -> None:
    """On the host's network, the host's /etc/hosts (and `--add-host` entries), as Docker does."""
    try:
        with open("/etc/hosts") as source:
            text = source.read()
    except OSError:
        text = _HOSTS
    if text and not text.endswith("\n"):
        text += "\n"
    text += hosts_text(host_config)[len(_HOSTS):]
    with open(hosts_path, "w") as out:
        out.write(text)


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
