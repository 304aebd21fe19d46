"""wharfd's settings: command-line flags over `daemon.json` (same keys as the flags) over defaults."""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass, field, fields
from typing import Any

DEFAULT_CONFIG_FILE = "/etc/wharf/daemon.json"


@dataclass
class DaemonConfig:
    hosts: list[str]
    data_root: str = "/var/lib/wharf"
    exec_root: str = "/run/wharf"
    containerd: str = ""
    runtime: str = "wharf-runc"
    cgroup_parent: str = "/wharf"
    log_level: str = "info"
    insecure_registries: list[str] = field(default_factory=list)
    registry_mirrors: list[str] = field(default_factory=list)
    bridge: str = "wharf0"
    """The default bridge network's Linux bridge device (`-b`/`--bridge`, daemon.json `bridge`)."""
    default_subnet: str = ""
    group: str = "wharf"
    """Group given the unix socket (when it exists), as Docker's socket belongs to `docker`."""
    tls: bool = False
    tlsverify: bool = False
    tlscacert: str = ""
    tlscert: str = ""
    tlskey: str = ""
    allow_insecure_tcp: bool = False
    userns_remap: str = ""
    """`default` or `<user>[:<group>]`: containers' root is that user's subordinate id range."""
    """The default bridge network's subnet (`--default-subnet`; empty: from Wharf's pools)."""

    @property
    def containerd_address(self) -> str:
        return self.containerd or f"{self.exec_root}/containerd.sock"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="wharfd", description="Wharf's Docker Engine API daemon")
    parser.add_argument("-H", "--host", action="append", dest="hosts",
                        help="unix:///path or tcp://addr:port (repeatable; TCP needs --tlsverify)")
    parser.add_argument("-G", "--group", help="group of the unix socket (default wharf, when it exists)")
    parser.add_argument("--tls", action="store_true", default=None, help="serve TCP with TLS")
    parser.add_argument("--tlsverify", action="store_true", default=None,
                        help="serve TCP with TLS and require client certificates signed by --tlscacert")
    parser.add_argument("--tlscacert")
    parser.add_argument("--tlscert")
    parser.add_argument("--tlskey")
    parser.add_argument("--allow-insecure-tcp", action="store_true", default=None,
                        help="serve TCP without client verification (anyone reaching it is root here)")
    parser.add_argument("--data-root")
    parser.add_argument("--exec-root")
    parser.add_argument("--containerd", help="supervisor socket (default <exec-root>/containerd.sock)")
    parser.add_argument("--config-file", default=DEFAULT_CONFIG_FILE)
    parser.add_argument("--runtime", help="OCI runtime for new containers (default wharf-runc)")
    parser.add_argument("--cgroup-parent")
    parser.add_argument("-l", "--log-level")
    parser.add_argument("--insecure-registry", action="append", dest="insecure_registries",
                        help="registry (host:port or CIDR) that may use plain HTTP (repeatable)")
    parser.add_argument("--registry-mirror", action="append", dest="registry_mirrors",
                        help="preferred Docker Hub mirror (repeatable)")
    parser.add_argument("-b", "--bridge", help="bridge device of the default network (default wharf0)")
    parser.add_argument("--default-subnet", help="subnet of the default bridge network, e.g. 172.29.0.0/16")
    parser.add_argument("--userns-remap", help="user/group for user namespaces: default or <user>[:<group>]")
    return parser


def _read_file(path: str, explicit: bool) -> dict[str, Any]:
    try:
        with open(path) as source:
            text = source.read()
    except FileNotFoundError:
        if explicit and path != DEFAULT_CONFIG_FILE:
            raise SystemExit(f"wharfd: config file {path} not found") from None
        return {}
    if not text.strip():
        return {}
    try:
        data = json.loads(text)
    except ValueError as err:
        raise SystemExit(f"wharfd: invalid config file {path}: {err}") from None
    if not isinstance(data, dict):
        raise SystemExit(f"wharfd: config file {path} must hold a JSON object")
    return {key.replace("-", "_"): value for key, value in data.items()}


def load_config(argv: list[str] | None = None) -> DaemonConfig:
    args = _parser().parse_args(argv)
    from_file = _read_file(args.config_file, explicit=True)
    known = {f.name for f in fields(DaemonConfig)}
    values: dict[str, Any] = {k: v for k, v in from_file.items() if k in known}
    if "hosts" in from_file and isinstance(from_file["hosts"], str):
        values["hosts"] = [from_file["hosts"]]
    for name in known:
        flag = getattr(args, name, None)
        if flag:
            values[name] = flag
    values.setdefault("hosts", [])
    config = DaemonConfig(**values)
    if not config.hosts:
        config.hosts = [f"unix://{config.exec_root}/wharf.sock"]
    return config
