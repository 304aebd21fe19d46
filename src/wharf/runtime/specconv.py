"""OCI runtime spec (config.json) -> the runtime's validated internal config.

Nothing acts on raw JSON: `load_bundle` reads and validates a bundle once, and every later step
works on these data classes. Pure: no side effect but reading config.json.
"""

from __future__ import annotations

import os

from wharf import errdefs
from wharf.runtime import jsonlite as json

TYPE_CHECKING = False  # importing typing costs milliseconds on every run
if TYPE_CHECKING:
    from typing import Any

NAMESPACE_TYPES = frozenset({"pid", "network", "mount", "ipc", "uts", "user", "cgroup", "time"})

# mount(8) option -> (flags it sets, flags it clears); the MS_* values of wharf.linux.mount.
_MS_RDONLY, _MS_NOSUID, _MS_NODEV, _MS_NOEXEC, _MS_SYNC, _MS_REMOUNT, _MS_MANDLOCK, _MS_DIRSYNC = (
    1, 2, 4, 8, 16, 32, 64, 128,
)
_MS_NOSYMFOLLOW, _MS_NOATIME, _MS_NODIRATIME, _MS_BIND, _MS_REC = 256, 1024, 2048, 4096, 16384
_MS_UNBINDABLE, _MS_PRIVATE, _MS_SLAVE, _MS_SHARED = 1 << 17, 1 << 18, 1 << 19, 1 << 20
_MS_RELATIME, _MS_STRICTATIME = 1 << 21, 1 << 24

MOUNT_OPTION_FLAGS: dict[str, tuple[int, int]] = {
    "async": (0, _MS_SYNC),
    "atime": (0, _MS_NOATIME),
    "bind": (_MS_BIND, 0),
    "defaults": (0, 0),
    "dev": (0, _MS_NODEV),
    "diratime": (0, _MS_NODIRATIME),
    "dirsync": (_MS_DIRSYNC, 0),
    "exec": (0, _MS_NOEXEC),
    "mand": (_MS_MANDLOCK, 0),
    "noatime": (_MS_NOATIME, 0),
    "nodev": (_MS_NODEV, 0),
    "nodiratime": (_MS_NODIRATIME, 0),
    "noexec": (_MS_NOEXEC, 0),
    "nomand": (0, _MS_MANDLOCK),
    "norelatime": (0, _MS_RELATIME),
    "nostrictatime": (0, _MS_STRICTATIME),
    "nosuid": (_MS_NOSUID, 0),
    "nosymfollow": (_MS_NOSYMFOLLOW, 0),
    "rbind": (_MS_BIND | _MS_REC, 0),
    "relatime": (_MS_RELATIME, 0),
    "remount": (_MS_REMOUNT, 0),
    "ro": (_MS_RDONLY, 0),
    "rw": (0, _MS_RDONLY),
    "strictatime": (_MS_STRICTATIME, 0),
    "suid": (0, _MS_NOSUID),
    "sync": (_MS_SYNC, 0),
}
PROPAGATION_FLAGS: dict[str, int] = {
    "private": _MS_PRIVATE,
    "rprivate": _MS_PRIVATE | _MS_REC,
    "shared": _MS_SHARED,
    "rshared": _MS_SHARED | _MS_REC,
    "slave": _MS_SLAVE,
    "rslave": _MS_SLAVE | _MS_REC,
    "unbindable": _MS_UNBINDABLE,
    "runbindable": _MS_UNBINDABLE | _MS_REC,
}


# Options of runtimes' own that are not for the kernel: tmpcopyup (copy the image's files into a tmpfs)
# is not implemented; dropping it leaves the tmpfs empty, which is what runc does without it too.
_IGNORED_OPTIONS = frozenset({"tmpcopyup", "notmpcopyup"})


class _Record:
    """A plain data holder. Not a dataclass: importing dataclasses (and inspect) and building the classes
    would cost ~15 ms on every `create`."""

    __slots__: tuple[str, ...] = ()

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__)
        return f"{type(self).__name__}({fields})"

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and all(getattr(self, n) == getattr(other, n) for n in self.__slots__)

    __hash__ = None  # type: ignore[assignment]


class MountOptions(_Record):
    __slots__ = ("flags", "propagation", "data")

    def __init__(self, flags: int = 0, propagation: tuple[int, ...] = (), data: str = "") -> None:
        self.flags = flags
        self.propagation = propagation
        self.data = data

    @property
    def is_bind(self) -> bool:
        return bool(self.flags & _MS_BIND)


def parse_mount_options(options: list[str]) -> MountOptions:
    """Split mount(8)-style options into MS_* flags, propagation changes and the fs data string."""
    flags = 0
    propagation: list[int] = []
    data: list[str] = []
    for option in options:
        if option in MOUNT_OPTION_FLAGS:
            set_flags, clear_flags = MOUNT_OPTION_FLAGS[option]
            flags = (flags | set_flags) & ~clear_flags
        elif option in PROPAGATION_FLAGS:
            propagation.append(PROPAGATION_FLAGS[option])
        elif option in _IGNORED_OPTIONS:
            continue
        else:
            data.append(option)
    return MountOptions(flags, tuple(propagation), ",".join(data))


class Mount(_Record):
    __slots__ = ("destination", "type", "source", "options")

    def __init__(self, destination: str, type: str, source: str, options: MountOptions) -> None:
        self.destination = destination
        self.type = type
        self.source = source
        self.options = options


class Namespace(_Record):
    __slots__ = ("type", "path")

    def __init__(self, type: str, path: str = "") -> None:
        self.type = type
        self.path = path


class Device(_Record):
    __slots__ = ("path", "type", "major", "minor", "file_mode", "uid", "gid")

    def __init__(
        self,
        path: str,
        type: str,
        major: int,
        minor: int,
        file_mode: int = 0o666,
        uid: int = 0,
        gid: int = 0,
    ) -> None:
        self.path = path
        self.type = type  # c, b, u or p
        self.major = major
        self.minor = minor
        self.file_mode = file_mode
        self.uid = uid
        self.gid = gid


class SeccompArg(_Record):
    __slots__ = ("index", "value", "value_two", "op")

    def __init__(self, index: int, value: int, value_two: int, op: str) -> None:
        self.index = index
        self.value = value
        self.value_two = value_two
        self.op = op


class SeccompRule(_Record):
    __slots__ = ("names", "action", "errno_ret", "args")

    def __init__(
        self,
        names: list[str],
        action: str,
        errno_ret: int | None = None,
        args: list[SeccompArg] | None = None,
    ) -> None:
        self.names = names
        self.action = action
        self.errno_ret = errno_ret
        self.args = [] if args is None else args


class Seccomp(_Record):
    __slots__ = ("default_action", "default_errno", "architectures", "syscalls")

    def __init__(
        self,
        default_action: str,
        default_errno: int | None = None,
        architectures: list[str] | None = None,
        syscalls: list[SeccompRule] | None = None,
    ) -> None:
        self.default_action = default_action
        self.default_errno = default_errno
        self.architectures = [] if architectures is None else architectures
        self.syscalls = [] if syscalls is None else syscalls


class IdMapping(_Record):
    __slots__ = ("container_id", "host_id", "size")

    def __init__(self, container_id: int, host_id: int, size: int) -> None:
        self.container_id = container_id
        self.host_id = host_id
        self.size = size


class Hook(_Record):
    __slots__ = ("path", "args", "env", "timeout")

    def __init__(self, path: str, args: list[str], env: list[str], timeout: int = 0) -> None:
        self.path = path
        self.args = args
        self.env = env
        self.timeout = timeout


class Rlimit(_Record):
    __slots__ = ("type", "soft", "hard")

    def __init__(self, type: str, soft: int, hard: int) -> None:
        self.type = type
        self.soft = soft
        self.hard = hard


class Capabilities(_Record):
    __slots__ = ("bounding", "effective", "permitted", "inheritable", "ambient")

    def __init__(
        self,
        bounding: list[str] | None = None,
        effective: list[str] | None = None,
        permitted: list[str] | None = None,
        inheritable: list[str] | None = None,
        ambient: list[str] | None = None,
    ) -> None:
        self.bounding = [] if bounding is None else bounding
        self.effective = [] if effective is None else effective
        self.permitted = [] if permitted is None else permitted
        self.inheritable = [] if inheritable is None else inheritable
        self.ambient = [] if ambient is None else ambient


class Process(_Record):
    __slots__ = ("args", "env", "cwd", "terminal", "uid", "gid", "additional_gids", "umask", "capabilities", "rlimits", "no_new_privileges", "oom_score_adj", "console_size")

    def __init__(
        self,
        args: list[str],
        env: list[str] | None = None,
        cwd: str = "/",
        terminal: bool = False,
        uid: int = 0,
        gid: int = 0,
        additional_gids: list[int] | None = None,
        umask: int | None = None,
        capabilities: Capabilities | None = None,
        rlimits: list[Rlimit] | None = None,
        no_new_privileges: bool = False,
        oom_score_adj: int | None = None,
        console_size: tuple[int, int] | None = None,
    ) -> None:
        self.args = args
        self.env = [] if env is None else env
        self.cwd = cwd
        self.terminal = terminal
        self.uid = uid
        self.gid = gid
        self.additional_gids = [] if additional_gids is None else additional_gids
        self.umask = umask
        self.capabilities = capabilities
        self.rlimits = [] if rlimits is None else rlimits
        self.no_new_privileges = no_new_privileges
        self.oom_score_adj = oom_score_adj
        self.console_size = console_size  # (height, width)


class DeviceRate(_Record):
    """One block device's entry of linux.resources.blockIO: a weight (weightDevice) or a rate (throttle*)."""

    __slots__ = ("major", "minor", "weight", "leaf_weight", "rate")

    def __init__(self, major: int, minor: int, weight: int | None = None, leaf_weight: int | None = None,
                 rate: int | None = None) -> None:
        self.major = major
        self.minor = minor
        self.weight = weight
        self.leaf_weight = leaf_weight
        self.rate = rate


class BlockIO(_Record):
    """linux.resources.blockIO."""

    __slots__ = ("weight", "leaf_weight", "weight_devices", "throttle_read_bps", "throttle_write_bps",
                 "throttle_read_iops", "throttle_write_iops")

    def __init__(self, weight: int | None = None, leaf_weight: int | None = None,
                 weight_devices: list[DeviceRate] | None = None, throttle_read_bps: list[DeviceRate] | None = None,
                 throttle_write_bps: list[DeviceRate] | None = None,
                 throttle_read_iops: list[DeviceRate] | None = None,
                 throttle_write_iops: list[DeviceRate] | None = None) -> None:
        self.weight = weight
        self.leaf_weight = leaf_weight
        self.weight_devices = weight_devices or []
        self.throttle_read_bps = throttle_read_bps or []
        self.throttle_write_bps = throttle_write_bps or []
        self.throttle_read_iops = throttle_read_iops or []
        self.throttle_write_iops = throttle_write_iops or []

    def is_set(self) -> bool:
        return bool(self.weight or self.leaf_weight or self.weight_devices or self.throttle_read_bps
                    or self.throttle_write_bps or self.throttle_read_iops or self.throttle_write_iops)


class Resources(_Record):
    __slots__ = ("memory_limit", "memory_reservation", "memory_swap", "memory_swappiness", "disable_oom_killer", "cpu_shares", "cpu_quota", "cpu_period", "cpuset_cpus", "cpuset_mems", "pids_limit", "devices", "blkio")

    def __init__(
        self,
        memory_limit: int | None = None,
        memory_reservation: int | None = None,
        memory_swap: int | None = None,
        memory_swappiness: int | None = None,
        disable_oom_killer: bool = False,
        cpu_shares: int | None = None,
        cpu_quota: int | None = None,
        cpu_period: int | None = None,
        cpuset_cpus: str = "",
        cpuset_mems: str = "",
        pids_limit: int | None = None,
        devices: list[dict[str, Any]] | None = None,
        blkio: BlockIO | None = None,
    ) -> None:
        self.memory_limit = memory_limit
        self.memory_reservation = memory_reservation
        self.memory_swap = memory_swap
        self.memory_swappiness = memory_swappiness
        self.disable_oom_killer = disable_oom_killer
        self.cpu_shares = cpu_shares
        self.cpu_quota = cpu_quota
        self.cpu_period = cpu_period
        self.cpuset_cpus = cpuset_cpus
        self.cpuset_mems = cpuset_mems
        self.pids_limit = pids_limit
        self.devices = [] if devices is None else devices
        self.blkio = BlockIO() if blkio is None else blkio


class Config(_Record):
    __slots__ = ("oci_version", "bundle", "rootfs", "root_readonly", "process", "hostname", "domainname", "mounts", "namespaces", "cgroups_path", "resources", "devices", "sysctl", "masked_paths", "readonly_paths", "rootfs_propagation", "annotations", "hooks", "uid_mappings", "gid_mappings", "seccomp")

    def __init__(
        self,
        oci_version: str,
        bundle: str,
        rootfs: str,
        root_readonly: bool,
        process: Process,
        hostname: str = "",
        domainname: str = "",
        mounts: list[Mount] | None = None,
        namespaces: list[Namespace] | None = None,
        cgroups_path: str = "",
        resources: Resources | None = None,
        devices: list[Device] | None = None,
        sysctl: dict[str, str] | None = None,
        masked_paths: list[str] | None = None,
        readonly_paths: list[str] | None = None,
        rootfs_propagation: str = "",
        annotations: dict[str, str] | None = None,
        hooks: dict[str, list[Hook]] | None = None,
        uid_mappings: list[IdMapping] | None = None,
        gid_mappings: list[IdMapping] | None = None,
        seccomp: Seccomp | None = None,
    ) -> None:
        self.oci_version = oci_version
        self.bundle = bundle
        self.rootfs = rootfs
        self.root_readonly = root_readonly
        self.process = process
        self.hostname = hostname
        self.domainname = domainname
        self.mounts = [] if mounts is None else mounts
        self.namespaces = [] if namespaces is None else namespaces
        self.cgroups_path = cgroups_path
        self.resources = Resources() if resources is None else resources
        self.devices = [] if devices is None else devices
        self.sysctl = {} if sysctl is None else sysctl
        self.masked_paths = [] if masked_paths is None else masked_paths
        self.readonly_paths = [] if readonly_paths is None else readonly_paths
        self.rootfs_propagation = rootfs_propagation
        self.annotations = {} if annotations is None else annotations
        self.hooks = {} if hooks is None else hooks
        self.uid_mappings = [] if uid_mappings is None else uid_mappings
        self.gid_mappings = [] if gid_mappings is None else gid_mappings
        self.seccomp = seccomp

    def namespace(self, ns_type: str) -> Namespace | None:
        return next((ns for ns in self.namespaces if ns.type == ns_type), None)


def load_bundle(bundle: str) -> Config:
    """Read BUNDLE/config.json and return it validated; InvalidArgument/NotFound say what is wrong."""
    bundle = os.path.abspath(bundle)
    path = os.path.join(bundle, "config.json")
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError as err:
        raise errdefs.NotFound(f"bundle {bundle}: no config.json") from err
    except OSError as err:
        raise errdefs.InvalidArgument(f"bundle {bundle}: cannot read config.json: {err.strerror}") from err
    try:
        spec = json.loads(raw)
    except ValueError as err:
        raise errdefs.InvalidArgument(f"bundle {bundle}: config.json is not valid JSON: {err}") from err
    return parse_spec(spec, bundle)


def _field(obj: Any, name: str, kind: type | tuple[type, ...], where: str, default: Any = None) -> Any:
    value = obj.get(name, default) if isinstance(obj, dict) else default
    if value is None:
        return default
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise errdefs.InvalidArgument(f"config.json: {where}{name} has the wrong type")
    return value


def parse_spec(spec: Any, bundle: str) -> Config:
    if not isinstance(spec, dict):
        raise errdefs.InvalidArgument("config.json: the top level must be an object")
    oci_version = _field(spec, "ociVersion", str, "", "")
    if not oci_version:
        raise errdefs.InvalidArgument("config.json: ociVersion is required")
    root = _field(spec, "root", dict, "", {})
    root_path = _field(root, "path", str, "root.", "")
    if not root_path:
        raise errdefs.InvalidArgument("config.json: root.path is required")
    rootfs = os.path.normpath(os.path.join(bundle, root_path))
    if not os.path.isdir(rootfs):
        raise errdefs.InvalidArgument(f"config.json: root.path {rootfs} is not a directory")
    process_json = _field(spec, "process", dict, "", None)
    if process_json is None:
        raise errdefs.InvalidArgument("config.json: process is required")
    linux = _field(spec, "linux", dict, "", {})
    config = Config(
        oci_version=oci_version,
        bundle=bundle,
        rootfs=rootfs,
        root_readonly=bool(_field(root, "readonly", bool, "root.", False)),
        process=parse_process(process_json),
        hostname=_field(spec, "hostname", str, "", ""),
        domainname=_field(spec, "domainname", str, "", ""),
        mounts=[_parse_mount(m, i) for i, m in enumerate(_field(spec, "mounts", list, "", []))],
        namespaces=_parse_namespaces(_field(linux, "namespaces", list, "linux.", [])),
        cgroups_path=_field(linux, "cgroupsPath", str, "linux.", ""),
        resources=parse_resources(_field(linux, "resources", dict, "linux.", {})),
        devices=[_parse_device(d) for d in _field(linux, "devices", list, "linux.", [])],
        sysctl={str(k): str(v) for k, v in _field(linux, "sysctl", dict, "linux.", {}).items()},
        masked_paths=[str(p) for p in _field(linux, "maskedPaths", list, "linux.", [])],
        readonly_paths=[str(p) for p in _field(linux, "readonlyPaths", list, "linux.", [])],
        rootfs_propagation=_field(linux, "rootfsPropagation", str, "linux.", ""),
        annotations={str(k): str(v) for k, v in _field(spec, "annotations", dict, "", {}).items()},
        hooks=_parse_hooks(_field(spec, "hooks", dict, "", {})),
        uid_mappings=_parse_mappings(_field(linux, "uidMappings", list, "linux.", [])),
        gid_mappings=_parse_mappings(_field(linux, "gidMappings", list, "linux.", [])),
        seccomp=_parse_seccomp(_field(linux, "seccomp", dict, "linux.", None)),
    )
    _validate(config)
    return config


def parse_process(data: dict[str, Any]) -> Process:
    args = _field(data, "args", list, "process.", [])
    if not args or not all(isinstance(a, str) for a in args):
        raise errdefs.InvalidArgument("config.json: process.args must be a non-empty list of strings")
    user = _field(data, "user", dict, "process.", {})
    caps_json = _field(data, "capabilities", dict, "process.", None)
    capabilities = None
    if caps_json is not None:
        capabilities = Capabilities(
            **{name: list(_field(caps_json, name, list, "process.capabilities.", [])) for name in
               ("bounding", "effective", "permitted", "inheritable", "ambient")}
        )
    rlimits = []
    for item in _field(data, "rlimits", list, "process.", []):
        rtype = _field(item, "type", str, "process.rlimits[].", "")
        if not rtype.startswith("RLIMIT_"):
            raise errdefs.InvalidArgument(f"config.json: unknown rlimit type {rtype!r}")
        rlimits.append(Rlimit(rtype, int(item.get("soft", 0)), int(item.get("hard", 0))))
    console = _field(data, "consoleSize", dict, "process.", None)
    cwd = _field(data, "cwd", str, "process.", "/")
    if not cwd.startswith("/"):
        raise errdefs.InvalidArgument(f"config.json: process.cwd {cwd!r} must be an absolute path")
    umask = _field(user, "umask", int, "process.user.", None)
    return Process(
        args=list(args),
        env=[str(e) for e in _field(data, "env", list, "process.", [])],
        cwd=cwd,
        terminal=bool(_field(data, "terminal", bool, "process.", False)),
        uid=_field(user, "uid", int, "process.user.", 0),
        gid=_field(user, "gid", int, "process.user.", 0),
        additional_gids=[int(g) for g in _field(user, "additionalGids", list, "process.user.", [])],
        umask=umask,
        capabilities=capabilities,
        rlimits=rlimits,
        no_new_privileges=bool(_field(data, "noNewPrivileges", bool, "process.", False)),
        oom_score_adj=_field(data, "oomScoreAdj", int, "process.", None),
        console_size=(int(console.get("height", 0)), int(console.get("width", 0))) if console else None,
    )


def _parse_mount(data: Any, index: int) -> Mount:
    where = f"mounts[{index}]."
    destination = _field(data, "destination", str, where, "")
    if not destination.startswith("/"):
        raise errdefs.InvalidArgument(f"config.json: {where}destination {destination!r} must be absolute")
    options = parse_mount_options([str(o) for o in _field(data, "options", list, where, [])])
    mtype = _field(data, "type", str, where, "")
    if mtype == "bind" and not options.is_bind:
        options = MountOptions(options.flags | _MS_BIND | _MS_REC, options.propagation, options.data)
    return Mount(destination, mtype or ("bind" if options.is_bind else "none"),
                 _field(data, "source", str, where, ""), options)


HOOK_KINDS = ("prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop")


def _parse_hooks(data: dict[str, Any]) -> dict[str, list[Hook]]:
    out: dict[str, list[Hook]] = {}
    for kind, items in data.items():
        if kind not in HOOK_KINDS:
            raise errdefs.InvalidArgument(f"config.json: unknown hook kind {kind!r}")
        hooks = []
        for item in items or []:
            path = _field(item, "path", str, f"hooks.{kind}[].", "")
            if not path.startswith("/"):
                raise errdefs.InvalidArgument(f"config.json: hooks.{kind}: path {path!r} must be absolute")
            hooks.append(Hook(path, [str(a) for a in _field(item, "args", list, "hook.", [])],
                              [str(e) for e in _field(item, "env", list, "hook.", [])],
                              _field(item, "timeout", int, "hook.", 0)))
        if hooks:
            out[kind] = hooks
    return out


def _parse_seccomp(data: dict[str, Any] | None) -> Seccomp | None:
    if data is None:
        return None
    where = "linux.seccomp."
    default_action = _field(data, "defaultAction", str, where, "")
    if not default_action.startswith("SCMP_ACT_"):
        raise errdefs.InvalidArgument("config.json: linux.seccomp.defaultAction is required")
    rules = []
    for item in _field(data, "syscalls", list, where, []):
        names = _field(item, "names", list, where + "syscalls[].", [])
        action = _field(item, "action", str, where + "syscalls[].", "")
        if not names or not action.startswith("SCMP_ACT_"):
            raise errdefs.InvalidArgument(f"config.json: bad seccomp rule {item!r}")
        args = [SeccompArg(int(a.get("index", 0)), int(a.get("value", 0)), int(a.get("valueTwo", 0)),
                           str(a.get("op", ""))) for a in _field(item, "args", list, where + "syscalls[].", [])]
        rules.append(SeccompRule([str(n) for n in names], action,
                                 _field(item, "errnoRet", int, where + "syscalls[].", None), args))
    return Seccomp(default_action, _field(data, "defaultErrnoRet", int, where, None),
                   [str(a) for a in _field(data, "architectures", list, where, [])], rules)


def _parse_mappings(items: list[Any]) -> list[IdMapping]:
    out = []
    for item in items:
        try:
            out.append(IdMapping(int(item["containerID"]), int(item["hostID"]), int(item["size"])))
        except (KeyError, TypeError, ValueError) as err:
            raise errdefs.InvalidArgument(f"config.json: bad id mapping {item!r}") from err
    return out


def _parse_namespaces(items: list[Any]) -> list[Namespace]:
    seen: set[str] = set()
    out = []
    for item in items:
        ns_type = _field(item, "type", str, "linux.namespaces[].", "")
        if ns_type not in NAMESPACE_TYPES:
            raise errdefs.InvalidArgument(f"config.json: unknown namespace type {ns_type!r}")
        if ns_type in seen:
            raise errdefs.InvalidArgument(f"config.json: namespace {ns_type!r} is listed twice")
        seen.add(ns_type)
        out.append(Namespace(ns_type, _field(item, "path", str, "linux.namespaces[].", "")))
    return out


def _parse_device(data: Any) -> Device:
    path = _field(data, "path", str, "linux.devices[].", "")
    dtype = _field(data, "type", str, "linux.devices[].", "")
    if not path.startswith("/dev/") or dtype not in ("c", "b", "u", "p"):
        raise errdefs.InvalidArgument(f"config.json: bad device {data!r}")
    return Device(path, dtype, int(data.get("major", 0)), int(data.get("minor", 0)),
                  int(data.get("fileMode", 0o666)), int(data.get("uid", 0)), int(data.get("gid", 0)))


def parse_resources(data: dict[str, Any]) -> Resources:
    memory = _field(data, "memory", dict, "linux.resources.", {})
    cpu = _field(data, "cpu", dict, "linux.resources.", {})
    pids = _field(data, "pids", dict, "linux.resources.", {})
    return Resources(
        memory_limit=_field(memory, "limit", int, "linux.resources.memory.", None),
        memory_reservation=_field(memory, "reservation", int, "linux.resources.memory.", None),
        memory_swap=_field(memory, "swap", int, "linux.resources.memory.", None),
        memory_swappiness=_field(memory, "swappiness", int, "linux.resources.memory.", None),
        disable_oom_killer=bool(_field(memory, "disableOOMKiller", bool, "linux.resources.memory.", False)),
        cpu_shares=_field(cpu, "shares", int, "linux.resources.cpu.", None),
        cpu_quota=_field(cpu, "quota", int, "linux.resources.cpu.", None),
        cpu_period=_field(cpu, "period", int, "linux.resources.cpu.", None),
        cpuset_cpus=_field(cpu, "cpus", str, "linux.resources.cpu.", ""),
        cpuset_mems=_field(cpu, "mems", str, "linux.resources.cpu.", ""),
        pids_limit=_field(pids, "limit", int, "linux.resources.pids.", None),
        devices=list(_field(data, "devices", list, "linux.resources.", [])),
        blkio=parse_block_io(_field(data, "blockIO", dict, "linux.resources.", {})),
    )


def parse_block_io(data: dict[str, Any]) -> BlockIO:
    where = "linux.resources.blockIO."

    def devices(name: str, with_rate: bool) -> list[DeviceRate]:
        out = []
        for entry in _field(data, name, list, where, []):
            if not isinstance(entry, dict):
                raise errdefs.InvalidArgument(f"config.json: {where}{name} entries must be objects")
            major = _field(entry, "major", int, f"{where}{name}[].", None)
            minor = _field(entry, "minor", int, f"{where}{name}[].", None)
            if major is None or minor is None:
                raise errdefs.InvalidArgument(f"config.json: {where}{name}[] needs major and minor")
            if with_rate:
                rate = _field(entry, "rate", int, f"{where}{name}[].", None)
                if rate is None:
                    raise errdefs.InvalidArgument(f"config.json: {where}{name}[] needs rate")
                out.append(DeviceRate(major, minor, rate=rate))
            else:
                out.append(DeviceRate(major, minor, weight=_field(entry, "weight", int, f"{where}{name}[].", None),
                                      leaf_weight=_field(entry, "leafWeight", int, f"{where}{name}[].", None)))
        return out

    return BlockIO(
        weight=_field(data, "weight", int, where, None),
        leaf_weight=_field(data, "leafWeight", int, where, None),
        weight_devices=devices("weightDevice", False),
        throttle_read_bps=devices("throttleReadBpsDevice", True),
        throttle_write_bps=devices("throttleWriteBpsDevice", True),
        throttle_read_iops=devices("throttleReadIOPSDevice", True),
        throttle_write_iops=devices("throttleWriteIOPSDevice", True),
    )


def _validate(config: Config) -> None:
    if config.namespace("mount") is None:
        raise errdefs.InvalidArgument("config.json: a mount namespace is required")
    uts = config.namespace("uts")
    if (config.hostname or config.domainname) and (uts is None or uts.path):
        raise errdefs.InvalidArgument("config.json: setting the hostname needs a new uts namespace")
    if config.sysctl and config.namespace("network") is None and any(
        k.startswith("net.") for k in config.sysctl
    ):
        raise errdefs.InvalidArgument("config.json: net.* sysctls need a network namespace")
    user = config.namespace("user")
    if user is not None and not user.path and not (config.uid_mappings and config.gid_mappings):
        raise errdefs.InvalidArgument("config.json: a new user namespace needs uidMappings and gidMappings")
    if (config.uid_mappings or config.gid_mappings) and user is None:
        raise errdefs.InvalidArgument("config.json: uidMappings/gidMappings need a user namespace")
    if config.rootfs_propagation and config.rootfs_propagation not in PROPAGATION_FLAGS:
        raise errdefs.InvalidArgument(f"config.json: bad rootfsPropagation {config.rootfs_propagation!r}")
