"""One function per CLI verb: (root, flags, positional args) -> exit code. Errors propagate to cli.main."""

from __future__ import annotations

import _signal as signal  # `signal` builds its enums at import: milliseconds on every call
import os
import sys

from wharf import errdefs
from wharf.runtime import jsonlite as json
from wharf.runtime.state import StateStore

TYPE_CHECKING = False  # importing typing costs milliseconds on every run
if TYPE_CHECKING:
    from typing import Any

    Flags = dict[str, Any]


def _one_id(positional: list[str], verb: str) -> str:
    if len(positional) != 1:
        raise errdefs.InvalidArgument(f"{verb}: expects exactly one container id, got {len(positional)}")
    return positional[0]


def _int_flag(flags: Flags, name: str) -> int:
    value = flags.get(name, 0)
    try:
        return int(value)
    except ValueError as err:
        raise errdefs.InvalidArgument(f"--{name}: not a number: {value!r}") from err


def _protect_interpreter() -> None:
    """Before entering a container: run from the read-only interpreter (see exe_guard; a statvfs when
    the launcher already did)."""
    from wharf.runtime import exe_guard

    exe_guard.ensure_protected_interpreter(sys.argv)


def create(root: str, flags: Flags, positional: list[str]) -> int:
    from wharf.runtime.create import create_container

    _protect_interpreter()

    create_container(
        StateStore(root), _one_id(positional, "create"), str(flags.get("bundle") or os.getcwd()),
        pid_file=str(flags.get("pid-file") or ""), console_socket=str(flags.get("console-socket") or ""),
        preserve_fds=_int_flag(flags, "preserve-fds"), no_pivot=bool(flags.get("no-pivot")),
        new_keyring=not flags.get("no-new-keyring"),
    )
    return 0


def start(root: str, flags: Flags, positional: list[str]) -> int:
    from wharf.runtime import operations

    operations.start(StateStore(root), _one_id(positional, "start"))
    return 0


def run(root: str, flags: Flags, positional: list[str]) -> int:
    """create + start; in the foreground, wait for the init, forward signals, delete, exit with its status."""
    from wharf.runtime import operations
    from wharf.runtime.create import create_container

    _protect_interpreter()
    store = StateStore(root)
    container_id = _one_id(positional, "run")
    detach = bool(flags.get("detach"))
    state = create_container(
        store, container_id, str(flags.get("bundle") or os.getcwd()),
        pid_file=str(flags.get("pid-file") or ""), console_socket=str(flags.get("console-socket") or ""),
        preserve_fds=_int_flag(flags, "preserve-fds"), no_pivot=bool(flags.get("no-pivot")),
        new_keyring=not flags.get("no-new-keyring"),
        subreaper=not detach,  # the init (our grandchild) is reparented to us, so we can wait for it
    )
    try:
        if not detach:
            _forward_signals(state.pid)
        operations.start(store, container_id)
    except BaseException:
        operations.destroy(store, state)
        raise
    if detach:
        return 0
    code = _wait_for(state.pid)
    if not flags.get("keep"):
        operations.destroy(store, state)
    return code


_FORWARDED = ("SIGHUP", "SIGINT", "SIGQUIT", "SIGTERM", "SIGUSR1", "SIGUSR2", "SIGWINCH", "SIGCONT")


def _forward_signals(pid: int) -> None:
    def forward(signum: int, _frame: object) -> None:
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            pass

    for name in _FORWARDED:
        signal.signal(getattr(signal, name), forward)


def _wait_for(pid: int) -> int:
    while True:
        try:
            reaped, status = os.waitpid(-1, 0)
        except ChildProcessError:
            return 255
        if reaped == pid:
            code = os.waitstatus_to_exitcode(status)
            return 128 - code if code < 0 else code


def state(root: str, flags: Flags, positional: list[str]) -> int:
    store = StateStore(root)
    container = store.load(_one_id(positional, "state"))
    print(json.dumps(container.oci_json(store.status(container)), indent=2))
    return 0


def kill(root: str, flags: Flags, positional: list[str]) -> int:
    from wharf.runtime import operations

    if not 1 <= len(positional) <= 2:
        raise errdefs.InvalidArgument("kill: usage: kill [--all] ID [SIGNAL]")
    sig = operations.parse_signal(positional[1] if len(positional) == 2 else "TERM")
    operations.kill(StateStore(root), positional[0], sig, bool(flags.get("all")))
    return 0


def delete(root: str, flags: Flags, positional: list[str]) -> int:
    from wharf.runtime import operations

    if not positional:
        raise errdefs.InvalidArgument("delete: expects at least one container id")
    store = StateStore(root)
    for container_id in positional:
        operations.delete(store, container_id, bool(flags.get("force")))
    return 0


def pause(root: str, flags: Flags, positional: list[str]) -> int:
    from wharf.runtime import operations

    operations.pause(StateStore(root), _one_id(positional, "pause"))
    return 0


def resume(root: str, flags: Flags, positional: list[str]) -> int:
    from wharf.runtime import operations

    operations.resume(StateStore(root), _one_id(positional, "resume"))
    return 0


def ps(root: str, flags: Flags, positional: list[str]) -> int:
    from wharf.runtime import operations

    pids = operations.processes(StateStore(root), _one_id(positional, "ps"))
    if flags.get("format", "table") == "json":
        print(json.dumps(pids))
        return 0
    print("PID     CMD")
    for pid in pids:
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            cmd = ""
        print(f"{pid:<7} {cmd}")
    return 0


def list_(root: str, flags: Flags, positional: list[str]) -> int:
    store = StateStore(root)
    rows = []
    for container_id in store.ids():
        try:
            container = store.load(container_id)
        except errdefs.NotFound:
            continue  # deleted meanwhile
        rows.append(container.oci_json(store.status(container)))
    if flags.get("quiet"):
        for row in rows:
            print(row["id"])
    elif flags.get("format", "table") == "json":
        print(json.dumps(rows))
    else:
        table = [["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"]]
        table += [[r["id"], str(r["pid"]), r["status"], r["bundle"], r["created"], r["owner"] or "root"]
                  for r in rows]
        widths = [max(len(row[i]) for row in table) for i in range(6)]
        for cells in table:
            sys.stdout.write("   ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip() + "\n")
    return 0


def exec_(root: str, flags: Flags, positional: list[str]) -> int:
    from wharf.runtime.execute import exec_process, process_from_cli

    if not positional:
        raise errdefs.InvalidArgument("exec: expects a container id")
    _protect_interpreter()
    store = StateStore(root)
    container_id = positional[0]
    proc = process_from_cli(store, container_id, flags, positional[1:])
    return exec_process(
        store, container_id, proc, detach=bool(flags.get("detach")), pid_file=str(flags.get("pid-file") or ""),
        console_socket=str(flags.get("console-socket") or ""), preserve_fds=_int_flag(flags, "preserve-fds"),
    )


def update(root: str, flags: Flags, positional: list[str]) -> int:
    """Change a container's cgroup limits, as `runc update`: `-r/--resources FILE|-` (the spec's
    linux.resources object; every other flag is then ignored, as runc does) or one flag per limit.
    Only what is given is written."""
    from wharf.runtime import cgroups
    from wharf.runtime.specconv import parse_resources

    store = StateStore(root)
    container = store.load(_one_id(positional, "update"))
    if store.status(container) == "stopped":
        raise errdefs.FailedPrecondition(f"container {container.id} is not running")
    if flags.get("resources"):
        path = str(flags["resources"])
        try:
            if path == "-":
                data = json.loads(sys.stdin.read())
            else:
                with open(path) as f:
                    data = json.load(f)
        except (OSError, ValueError) as err:
            raise errdefs.InvalidArgument(f"--resources {path}: {err}") from err
        if not isinstance(data, dict):
            raise errdefs.InvalidArgument(f"--resources {path}: expected a JSON object (linux.resources)")
    else:
        data = _resources_from_flags(flags)
    resources = parse_resources(data)
    try:
        cgroups.from_saved(container.cgroup_version, container.cgroup_paths).update(resources)
    except OSError as err:
        raise errdefs.System(f"updating cgroups: {err.strerror}: {err.filename}") from err
    return 0


# runc update's flags -> (linux.resources section, key, parser)
_UPDATE_FLAGS = {
    "memory": ("memory", "limit", "bytes"), "memory-swap": ("memory", "swap", "bytes"),
    "memory-reservation": ("memory", "reservation", "bytes"), "kernel-memory": ("memory", "kernel", "bytes"),
    "kernel-memory-tcp": ("memory", "kernelTCP", "bytes"), "cpu-share": ("cpu", "shares", "int"),
    "cpu-shares": ("cpu", "shares", "int"), "cpu-quota": ("cpu", "quota", "int"),
    "cpu-period": ("cpu", "period", "int"), "cpu-rt-period": ("cpu", "realtimePeriod", "int"),
    "cpu-rt-runtime": ("cpu", "realtimeRuntime", "int"), "cpuset-cpus": ("cpu", "cpus", "str"),
    "cpuset-mems": ("cpu", "mems", "str"), "pids-limit": ("pids", "limit", "int"),
    "blkio-weight": ("blockIO", "weight", "int"),
}


def _resources_from_flags(flags: Flags) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for flag, (section, key, kind) in _UPDATE_FLAGS.items():
        if flag not in flags:
            continue
        raw = str(flags[flag])
        if kind == "str":
            value: Any = raw
        elif kind == "bytes":
            value = _parse_bytes(flag, raw)
        else:
            value = _int_flag(flags, flag)
        data.setdefault(section, {})[key] = value
    return data


_BYTE_UNITS = {"": 1, "b": 1, "k": 1 << 10, "kb": 1 << 10, "m": 1 << 20, "mb": 1 << 20, "g": 1 << 30, "gb": 1 << 30,
               "t": 1 << 40, "tb": 1 << 40, "p": 1 << 50, "pb": 1 << 50}


def _parse_bytes(flag: str, raw: str) -> int:
    """runc's memory flags: a number of bytes, with an optional k/m/g/t/p unit (1024-based); -1 is unlimited."""
    text = raw.strip().lower()
    if text == "-1":
        return -1
    digits = text.rstrip("kmgtpbi")
    unit = text[len(digits):].replace("i", "")
    try:
        number = float(digits)
    except ValueError:
        number = -1.0
    if unit not in _BYTE_UNITS or number < 0:
        raise errdefs.InvalidArgument(f"invalid value for --{flag}: {raw!r}")
    return int(number * _BYTE_UNITS[unit])


def events(root: str, flags: Flags, positional: list[str]) -> int:
    """runc's `events`: --stats prints the cgroup statistics once; otherwise a stats event every --interval
    (default 5s) and an oom event on each OOM kill, until the container stops."""
    from wharf.runtime import events as container_events

    interval = container_events.parse_interval(str(flags.get("interval") or "5s"))
    container_events.events(StateStore(root), _one_id(positional, "events"), bool(flags.get("stats")), interval)
    return 0


def features(root: str, flags: Flags, positional: list[str]) -> int:
    from wharf.linux.capabilities import NAMES
    from wharf.runtime.specconv import HOOK_KINDS, MOUNT_OPTION_FLAGS, NAMESPACE_TYPES, PROPAGATION_FLAGS

    out = {
        "ociVersionMin": "1.0.0",
        "ociVersionMax": "1.1.0",
        "hooks": list(HOOK_KINDS),
        "mountOptions": sorted(list(MOUNT_OPTION_FLAGS) + list(PROPAGATION_FLAGS)),
        "linux": {
            "namespaces": sorted(NAMESPACE_TYPES - {"time"}),
            "capabilities": list(NAMES),
            "cgroup": {"v1": True, "v2": True, "systemd": False, "systemdUser": False},
            "seccomp": {"enabled": True, "actions": ["SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL",
                                                     "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD",
                                                     "SCMP_ACT_LOG", "SCMP_ACT_TRACE", "SCMP_ACT_TRAP"],
                        "operators": ["SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_LE",
                                      "SCMP_CMP_LT", "SCMP_CMP_MASKED_EQ", "SCMP_CMP_NE"]},
            "apparmor": {"enabled": False},
            "selinux": {"enabled": False},
        },
    }
    print(json.dumps(out, indent=4))
    return 0


def spec(root: str, flags: Flags, positional: list[str]) -> int:
    from wharf.runtime.default_spec import default_spec

    bundle = str(flags.get("bundle") or ".")
    path = os.path.join(bundle, "config.json")
    if os.path.exists(path):
        raise errdefs.AlreadyExists(f"File {path} exists. Remove it first or use another bundle")
    with open(path, "w") as f:
        json.dump(default_spec(bool(flags.get("rootless"))), f, indent="\t")
    return 0



