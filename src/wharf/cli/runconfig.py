"""`run`/`create` flags → the Engine API's container create body (Config + HostConfig + NetworkingConfig)."""

from __future__ import annotations

import os

from wharf import errdefs
from wharf.cli.output import parse_bytes

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from wharf.cli.flags import Args

_DURATION_UNITS = {"ns": 1, "us": 1_000, "µs": 1_000, "ms": 1_000_000, "s": 1_000_000_000,
                   "m": 60_000_000_000, "h": 3_600_000_000_000}


def parse_duration(text: str) -> int:
    """Go's time.ParseDuration ('1m30s', '500ms', '2h') → nanoseconds."""
    text = text.strip()
    if text in ("0", ""):
        return 0
    total, number, unit = 0.0, "", ""
    for char in text + "\0":
        if char.isdigit() or char == ".":
            if unit:
                total += _unit_value(number, unit, text)
                number, unit = "", ""
            number += char
        elif char == "\0":
            if not unit:
                raise errdefs.InvalidArgument(f'time: missing unit in duration "{text}"')
            total += _unit_value(number, unit, text)
        else:
            unit += char
    return int(total)


def _unit_value(number: str, unit: str, text: str) -> float:
    if unit not in _DURATION_UNITS or not number:
        raise errdefs.InvalidArgument(f'time: invalid duration "{text}"')
    return float(number) * _DURATION_UNITS[unit]


def read_env_file(path: str) -> list[str]:
    """docker's env files: KEY=VALUE lines, '#' comments; a bare KEY takes our environment's value."""
    out = []
    try:
        with open(path, encoding="utf-8") as handle:
            lines = handle.read().splitlines()
    except OSError as err:
        raise errdefs.InvalidArgument(f"open {path}: {err.strerror.lower() if err.strerror else err}") from None
    for line in lines:
        line = line.lstrip()
        if not line or line.startswith("#"):
            continue
        out.extend(env_entries([line]))
    return out


def env_entries(values: list[str]) -> list[str]:
    out = []
    for value in values:
        if "=" in value:
            out.append(value)
        elif value in os.environ:
            out.append(f"{value}={os.environ[value]}")
    return out


def parse_port_specs(specs: list[str]) -> tuple[dict[str, dict[str, Any]], dict[str, list[dict[str, str]]]]:
    """'-p [ip:][hostPort:]containerPort[/proto]' with ranges → (ExposedPorts, PortBindings)."""
    exposed: dict[str, dict[str, Any]] = {}
    bindings: dict[str, list[dict[str, str]]] = {}
    for spec in specs:
        spec, _, proto = spec.partition("/")
        proto = proto or "tcp"
        parts = spec.rsplit(":", 2) if not spec.startswith("[") else _split_ipv6(spec)
        ip, host_port, container_port = "", "", parts[-1]
        if len(parts) == 2:
            host_port = parts[0]
        elif len(parts) == 3:
            ip, host_port = parts[0].strip("[]"), parts[1]
        container_range = _port_range(container_port, spec)
        host_range = _port_range(host_port, spec) if host_port else []
        if host_range and len(host_range) != len(container_range):
            if len(host_range) > 1 and len(container_range) == 1:
                host_range = [host_port]  # a host range for one container port: the daemon picks
            else:
                raise errdefs.InvalidArgument(f"invalid ranges specified for container and host Ports: {spec}")
        for index, port in enumerate(container_range):
            key = f"{port}/{proto}"
            exposed[key] = {}
            bound = host_range[index] if host_range else ""
            bindings.setdefault(key, []).append({"HostIp": ip, "HostPort": str(bound)})
    return exposed, bindings


def _split_ipv6(spec: str) -> list[str]:
    address, _, rest = spec[1:].partition("]")
    return [address, *rest.lstrip(":").split(":")]


def _port_range(text: str, spec: str) -> list[str]:
    start, _, end = text.partition("-")
    if not start.isdigit() or end and not end.isdigit():
        raise errdefs.InvalidArgument(f"invalid port format for --publish: {spec}" if not text.isdigit()
                                      else f"invalid containerPort: {text}")
    if not end:
        return [start]
    return [str(p) for p in range(int(start), int(end) + 1)]


def parse_mount(spec: str) -> dict[str, Any]:
    """--mount 'type=bind,source=/a,target=/b,readonly' → a HostConfig.Mounts entry."""
    mount: dict[str, Any] = {"Type": "volume"}
    for field in spec.split(","):
        key, eq, value = field.partition("=")
        key = key.strip().lower()
        if key == "type":
            mount["Type"] = value
        elif key in ("source", "src"):
            mount["Source"] = value
        elif key in ("target", "destination", "dst"):
            mount["Target"] = value
        elif key in ("readonly", "ro"):
            mount["ReadOnly"] = not eq or value.lower() in ("1", "true")
        elif key == "consistency":
            mount["Consistency"] = value
        elif key == "bind-propagation":
            mount.setdefault("BindOptions", {})["Propagation"] = value
        elif key == "volume-nocopy":
            mount.setdefault("VolumeOptions", {})["NoCopy"] = not eq or value.lower() in ("1", "true")
        elif key == "volume-label":
            name, _, label = value.partition("=")
            mount.setdefault("VolumeOptions", {}).setdefault("Labels", {})[name] = label
        elif key == "volume-driver":
            mount.setdefault("VolumeOptions", {}).setdefault("DriverConfig", {})["Name"] = value
        elif key == "volume-opt":
            name, _, option = value.partition("=")
            mount.setdefault("VolumeOptions", {}).setdefault("DriverConfig", {}).setdefault("Options", {})[
                name] = option
        elif key == "tmpfs-size":
            mount.setdefault("TmpfsOptions", {})["SizeBytes"] = parse_bytes(value)
        elif key == "tmpfs-mode":
            mount.setdefault("TmpfsOptions", {})["Mode"] = int(value, 8)
        else:
            raise errdefs.InvalidArgument(f"invalid field '{key}' must be a key=value pair")
    if "Target" not in mount:
        raise errdefs.InvalidArgument("target is required")
    return mount


def parse_restart(text: str) -> dict[str, Any]:
    name, _, count = text.partition(":")
    if name not in ("no", "always", "on-failure", "unless-stopped"):
        raise errdefs.InvalidArgument(f"invalid restart policy: unknown policy '{name}'; use one of 'no', "
                                      "'always', 'on-failure', or 'unless-stopped'")
    if count and name != "on-failure":
        raise errdefs.InvalidArgument("invalid restart policy: maximum retry count can only be used with "
                                      "'on-failure'")
    return {"Name": name, "MaximumRetryCount": int(count or 0)}


def parse_ulimit(text: str) -> dict[str, Any]:
    name, _, values = text.partition("=")
    soft, _, hard = values.partition(":")
    try:
        return {"Name": name, "Soft": int(soft), "Hard": int(hard or soft)}
    except ValueError:
        raise errdefs.InvalidArgument(f"invalid ulimit argument: {text}") from None


def _labels(values: list[str], files: list[str]) -> dict[str, str]:
    labels: dict[str, str] = {}
    for path in files:
        for line in read_env_file(path):
            key, _, value = line.partition("=")
            labels[key] = value
    for value in values:
        key, _, text = value.partition("=")
        labels[key] = text
    return labels


def _cpus(text: str) -> int:
    try:
        return int(round(float(text) * 1e9))
    except ValueError:
        raise errdefs.InvalidArgument(f'invalid argument "{text}" for "--cpus" flag') from None


def _volumes(specs: list[str]) -> tuple[list[str], dict[str, dict[str, Any]]]:
    """-v: 'name:/path[:opts]' and '/host:/path' are binds, '/path' an anonymous volume."""
    binds, anonymous = [], {}
    for spec in specs:
        if ":" in spec:
            binds.append(spec)
        else:
            anonymous[spec] = {}
    return binds, anonymous


def container_body(args: Args, image: str, command: list[str]) -> dict[str, Any]:
    """The `POST /containers/create` body the docker CLI would send for these flags."""
    if args.rm and args.restart and args.restart != "no":
        raise errdefs.InvalidArgument("conflicting options: cannot specify both --restart and --rm")
    env = []
    for path in args.env_file:
        env += read_env_file(path)
    env += env_entries(args.env)
    attach = {stream.lower() for stream in args.attach}
    detached = bool(args.detach)
    config: dict[str, Any] = {
        "Hostname": args.hostname or "",
        "Domainname": args.domainname or "",
        "User": args.user or "",
        "AttachStdin": not detached and (args.interactive or "stdin" in attach),
        "AttachStdout": not detached and (not attach or "stdout" in attach),
        "AttachStderr": not detached and (not attach or "stderr" in attach),
        "Tty": bool(args.tty),
        "OpenStdin": bool(args.interactive),
        "StdinOnce": bool(args.interactive) and not detached,
        "Env": env,
        "Cmd": command or None,
        "Image": image,
        "Volumes": None,
        "WorkingDir": args.workdir or "",
        "Entrypoint": None,
        "Labels": _labels(args.label, args.label_file),
    }
    if args.entrypoint is not None:
        config["Entrypoint"] = [args.entrypoint] if args.entrypoint else [""]
    if args.stop_signal:
        config["StopSignal"] = args.stop_signal
    if args.stop_timeout is not None:
        config["StopTimeout"] = args.stop_timeout
    health = _healthcheck(args)
    if health:
        config["Healthcheck"] = health
    exposed, bindings = parse_port_specs(args.publish)
    for port in args.expose:
        number, _, proto = port.partition("/")
        for each in _port_range(number, port):
            exposed[f"{each}/{proto or 'tcp'}"] = {}
    if exposed:
        config["ExposedPorts"] = exposed
    binds, anonymous = _volumes(args.volume)
    if anonymous:
        config["Volumes"] = anonymous
    host: dict[str, Any] = {
        "Binds": binds or None,
        "NetworkMode": args.network or "default",
        "PortBindings": bindings,
        "RestartPolicy": parse_restart(args.restart or "no"),
        "AutoRemove": bool(args.rm),
        "VolumesFrom": args.volumes_from or None,
        "CapAdd": args.cap_add or None,
        "CapDrop": args.cap_drop or None,
        "Dns": args.dns,
        "DnsOptions": args.dns_option,
        "DnsSearch": args.dns_search,
        "ExtraHosts": args.add_host or None,
        "GroupAdd": args.group_add or None,
        "Privileged": bool(args.privileged),
        "PublishAllPorts": bool(args.publish_all),
        "ReadonlyRootfs": bool(args.read_only),
        "SecurityOpt": args.security_opt or None,
        "Mounts": [parse_mount(spec) for spec in args.mount] or None,
    }
    if args.log_driver or args.log_opt:
        host["LogConfig"] = {"Type": args.log_driver or "",
                             "Config": dict(opt.partition("=")[::2] for opt in args.log_opt)}
    if args.tmpfs:
        host["Tmpfs"] = {path: opts for path, _, opts in (t.partition(":") for t in args.tmpfs)}
    if args.sysctl:
        host["Sysctls"] = dict(s.partition("=")[::2] for s in args.sysctl)
    if args.ulimit:
        host["Ulimits"] = [parse_ulimit(u) for u in args.ulimit]
    if args.init:
        host["Init"] = True
    for key, value in (("IpcMode", args.ipc), ("PidMode", args.pid), ("UTSMode", args.uts),
                       ("UsernsMode", args.userns), ("CgroupParent", args.cgroup_parent),
                       ("CgroupnsMode", args.cgroupns), ("Runtime", args.runtime), ("CpusetCpus", args.cpuset_cpus)):
        if value:
            host[key] = value
    for key, value in (("Memory", args.memory), ("MemoryReservation", args.memory_reservation),
                       ("ShmSize", args.shm_size)):
        if value:
            host[key] = parse_bytes(value)
    if args.memory_swap:
        host["MemorySwap"] = -1 if args.memory_swap == "-1" else parse_bytes(args.memory_swap)
    if args.cpus:
        host["NanoCpus"] = _cpus(args.cpus)
    for key, value in (("CpuShares", args.cpu_shares), ("CpuPeriod", args.cpu_period),
                       ("CpuQuota", args.cpu_quota), ("PidsLimit", args.pids_limit)):
        if value is not None:
            host[key] = value
    if args.oom_kill_disable:
        host["OomKillDisable"] = True
    if args.device:
        host["Devices"] = [_device(d) for d in args.device]
    config["HostConfig"] = host
    networking = _networking(args)
    if networking:
        config["NetworkingConfig"] = networking
    return config


def _healthcheck(args: Args) -> dict[str, Any] | None:
    if args.no_healthcheck:
        return {"Test": ["NONE"]}
    health: dict[str, Any] = {}
    if args.health_cmd:
        health["Test"] = ["CMD-SHELL", args.health_cmd]
    for key, value in (("Interval", args.health_interval), ("Timeout", args.health_timeout),
                       ("StartPeriod", args.health_start_period), ("StartInterval", args.health_start_interval)):
        if value:
            health[key] = parse_duration(value)
    if args.health_retries is not None:
        health["Retries"] = args.health_retries
    return health or None


def _device(spec: str) -> dict[str, str]:
    parts = spec.split(":")
    host = parts[0]
    inside = parts[1] if len(parts) > 1 and parts[1].startswith("/") else host
    permissions = parts[-1] if len(parts) > 1 and not parts[-1].startswith("/") else "rwm"
    return {"PathOnHost": host, "PathInContainer": inside, "CgroupPermissions": permissions}


def _networking(args: Args) -> dict[str, Any] | None:
    network = args.network
    if not network or network in ("default", "bridge", "host", "none") or network.startswith("container:"):
        if not (args.network_alias or args.ip):
            return None
    endpoint: dict[str, Any] = {}
    if args.network_alias:
        endpoint["Aliases"] = args.network_alias
    if args.ip:
        endpoint["IPAMConfig"] = {"IPv4Address": args.ip}
    return {"EndpointsConfig": {network or "default": endpoint}}
