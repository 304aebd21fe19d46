"""One function per CLI verb: (root, flags, positional args) -> exit code. Errors propagate to cli.main."""

from __future__ import annotations

import json
import os
import signal
import sys

from wharf import errdefs
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


def create(root: str, flags: Flags, positional: list[str]) -> int:
    from wharf.runtime.create import create_container

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
    from wharf.linux.process import set_child_subreaper
    from wharf.runtime import operations
    from wharf.runtime.create import create_container

    store = StateStore(root)
    container_id = _one_id(positional, "run")
    detach = bool(flags.get("detach"))
    if not detach:
        set_child_subreaper()  # the init (our grandchild) is reparented to us, so we can wait for it
    state = create_container(
        store, container_id, str(flags.get("bundle") or os.getcwd()),
        pid_file=str(flags.get("pid-file") or ""), console_socket=str(flags.get("console-socket") or ""),
        preserve_fds=_int_flag(flags, "preserve-fds"), no_pivot=bool(flags.get("no-pivot")),
        new_keyring=not flags.get("no-new-keyring"),
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
    store = StateStore(root)
    container_id = positional[0]
    proc = process_from_cli(store, container_id, flags, positional[1:])
    return exec_process(
        store, container_id, proc, detach=bool(flags.get("detach")), pid_file=str(flags.get("pid-file") or ""),
        console_socket=str(flags.get("console-socket") or ""), preserve_fds=_int_flag(flags, "preserve-fds"),
    )


def update(root: str, flags: Flags, positional: list[str]) -> int:
    """Change a running container's cgroup limits (--resources FILE in the spec's linux.resources form,
    or one flag per limit)."""
    from wharf.runtime import cgroups
    from wharf.runtime.specconv import parse_resources

    store = StateStore(root)
    container = store.load(_one_id(positional, "update"))
    data: dict[str, Any] = {}
    if flags.get("resources"):
        path = str(flags["resources"])
        try:
            with (sys.stdin if path == "-" else open(path)) as f:
                data = json.load(f)
        except (OSError, ValueError) as err:
            raise errdefs.InvalidArgument(f"--resources {path}: {err}") from err
    for flag, (section, key) in {
        "memory": ("memory", "limit"), "memory-swap": ("memory", "swap"),
        "memory-reservation": ("memory", "reservation"), "cpu-shares": ("cpu", "shares"),
        "cpu-quota": ("cpu", "quota"), "cpu-period": ("cpu", "period"), "pids-limit": ("pids", "limit"),
    }.items():
        if flag in flags:
            data.setdefault(section, {})[key] = _int_flag(flags, flag)
    for flag, key in (("cpuset-cpus", "cpus"), ("cpuset-mems", "mems")):
        if flag in flags:
            data.setdefault("cpu", {})[key] = str(flags[flag])
    resources = parse_resources(data)
    try:
        cgroups.from_saved(container.cgroup_version, container.cgroup_paths).update(resources)
    except OSError as err:
        raise errdefs.System(f"updating cgroups: {err.strerror}: {err.filename}") from err
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



