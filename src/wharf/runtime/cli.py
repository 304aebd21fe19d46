"""wharf-runc's command line: runc's global flags and verbs. Parsing only; the verbs act elsewhere.

Start-up time matters (one process per container operation), so the parser is a few lines instead of
argparse and every verb imports only what it uses.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # importing typing costs milliseconds on every run
if TYPE_CHECKING:
    from typing import Any

VERSION = "0.1.0"
SPEC_VERSION = "1.0.2-dev"

# flag name -> takes a value?  Short aliases map to long names.
_GLOBAL_FLAGS = {"root": True, "log": True, "log-format": True, "debug": False, "systemd-cgroup": False,
                 "criu": True, "rootless": True, "help": False, "version": False}
_VERB_FLAGS: dict[str, dict[str, bool]] = {
    "create": {"bundle": True, "pid-file": True, "console-socket": True, "no-pivot": False,
               "no-new-keyring": False, "preserve-fds": True, "pidfd-socket": True},
    "run": {"bundle": True, "pid-file": True, "console-socket": True, "no-pivot": False,
            "no-new-keyring": False, "preserve-fds": True, "detach": False, "keep": False,
            "no-subreaper": False},
    "start": {}, "state": {}, "pause": {}, "resume": {},
    "kill": {"all": False},
    "delete": {"force": False},
    "spec": {"bundle": True, "rootless": False},
    "list": {"format": True, "quiet": False},
    "ps": {"format": True},
    "update": {"resources": True, "memory": True, "memory-swap": True, "memory-reservation": True,
               "kernel-memory": True, "kernel-memory-tcp": True, "cpu-share": True, "cpu-shares": True,
               "cpu-quota": True, "cpu-period": True, "cpu-rt-period": True, "cpu-rt-runtime": True,
               "cpuset-cpus": True, "cpuset-mems": True, "pids-limit": True, "blkio-weight": True,
               "l3-cache-schema": True, "mem-bw-schema": True},
    "features": {},
    "events": {"stats": False, "interval": True},
    "exec": {"process": True, "console-socket": True, "cwd": True, "env": True, "tty": False, "user": True,
             "additional-gids": True, "cap": True, "no-new-privs": False, "detach": False, "pid-file": True,
             "preserve-fds": True, "ignore-paused": False, "process-label": True, "apparmor": True},
}
# Flags that may be repeated; their values are collected in a list.
_REPEATED = frozenset({"env", "cap", "additional-gids"})
# Verbs whose flags end at the first positional argument (the command after the id is the container's).
_STOP_AT_POSITIONAL = frozenset({"exec"})
_SHORT = {"b": "bundle", "d": "detach", "a": "all", "f": "force", "q": "quiet", "h": "help", "v": "version"}
_SHORT_BY_VERB = {"list": {"f": "format"}, "ps": {"f": "format"}, "update": {"r": "resources"},
                  "exec": {"p": "process", "e": "env", "t": "tty", "u": "user", "g": "additional-gids"}}


class UsageError(Exception):
    pass


def parse_flags(args: list[str], known: dict[str, bool], short: dict[str, str],
                stop_at_positional: bool) -> tuple[dict[str, Any], list[str]]:
    """Go-style flags: -x, --x, --x=v, --x v; a bare '--' ends them."""
    flags: dict[str, Any] = {}
    rest: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        i += 1
        if arg == "--":
            rest.extend(args[i:])
            break
        if not arg.startswith("-") or arg == "-":
            rest.append(arg)
            if stop_at_positional:
                rest.extend(args[i:])
                break
            continue
        name, eq, value = arg.lstrip("-").partition("=")
        name = short.get(name, name)
        if name not in known:
            raise UsageError(f"flag provided but not defined: -{name}")
        if known[name]:
            if not eq:
                if i >= len(args):
                    raise UsageError(f"flag needs an argument: -{name}")
                value = args[i]
                i += 1
            if name in _REPEATED:
                flags.setdefault(name, [])
                flags[name].append(value)
            else:
                flags[name] = value
        else:
            flags[name] = value.lower() not in ("false", "0") if eq else True
    return flags, rest


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    log_file, log_format = "", "text"
    try:
        global_flags, rest = parse_flags(args, _GLOBAL_FLAGS, _SHORT, stop_at_positional=True)
        log_file = str(global_flags.get("log", ""))
        log_format = str(global_flags.get("log-format", "text"))
        if global_flags.get("version"):
            print(f"wharf-runc version {VERSION}\nspec: {SPEC_VERSION}")
            return 0
        if global_flags.get("help") or not rest:
            print(_USAGE)
            return 0 if global_flags.get("help") else 1
        if log_format not in ("text", "json"):
            raise UsageError(f"unknown --log-format {log_format!r}: use text or json")
        verb, verb_args = rest[0], rest[1:]
        if verb not in _VERB_FLAGS:
            raise UsageError(f"unknown command {verb!r}")
        short = dict(_SHORT, **_SHORT_BY_VERB.get(verb, {}))
        flags, positional = parse_flags(verb_args, _VERB_FLAGS[verb], short, verb in _STOP_AT_POSITIONAL)
        if flags.get("help"):
            print(_USAGE)
            return 0
        root = str(global_flags.get("root") or "/run/wharf-runc")
        if global_flags.get("systemd-cgroup") and verb in ("create", "run"):
            # Accepted everywhere (containerd passes it to every verb); only creating needs the driver.
            _refuse_systemd_cgroup()
        from wharf.runtime import verbs

        # exec and list are Python builtins: their functions carry a trailing underscore
        return int(getattr(verbs, verb + "_" if verb in ("exec", "list") else verb)(root, flags, positional))
    except UsageError as err:
        _report(str(err), log_file, log_format)
        return 2 if "not defined" in str(err) or "needs an argument" in str(err) else 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # our reader went away (`wharf-runc list | head`)
        return 1
    except Exception as err:  # every failure becomes one clear line and a non-zero exit
        _report(_message(err), log_file, log_format)
        return 1


def _refuse_systemd_cgroup() -> None:
    if not os.path.isdir("/run/systemd/system"):
        raise UsageError("--systemd-cgroup: systemd is not running on this host (no /run/systemd/system): "
                         "run without --systemd-cgroup (the cgroupfs driver)")
    raise UsageError("--systemd-cgroup: the systemd cgroup driver is not supported by wharf-runc: "
                     "run without --systemd-cgroup (the cgroupfs driver)")


def _message(err: BaseException) -> str:
    if isinstance(err, OSError) and err.strerror:
        return f"{err.strerror}: {err.filename}" if err.filename else err.strerror
    return str(err) or type(err).__name__


def _report(message: str, log_file: str, log_format: str) -> None:
    sys.stderr.write(f"wharf-runc: {message}\n")
    if not log_file:
        return
    import time

    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    if log_format == "json":
        from wharf.runtime import jsonlite as json

        line = json.dumps({"level": "error", "msg": message, "time": now})
    else:
        line = f'time="{now}" level=error msg="{message}"'
    try:
        fd = os.open(log_file, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
        with os.fdopen(fd, "a") as f:
            f.write(line + "\n")
    except OSError:
        pass


_USAGE = """usage: wharf-runc [global options] command [command options] [arguments...]

An OCI runtime with runc's command line.

global options: --root DIR (default /run/wharf-runc)  --log FILE  --log-format text|json  --debug
                --systemd-cgroup (accepted; creating a container with it fails: no systemd driver)

commands:
  create [--bundle DIR] [--pid-file F] [--console-socket S] [--no-pivot] [--preserve-fds N] ID
  start ID            release a created container
  run [--bundle DIR] [--pid-file F] [--detach] [--console-socket S] ID
  state ID            print the container's state as JSON
  kill [--all] ID [SIGNAL]
  delete [--force] ID
  list [--format table|json] [-q]
  pause ID / resume ID
  ps [--format table|json] ID
  exec [--process F | --env E --cwd D --user U --tty] [--detach] [--pid-file F] [--console-socket S] ID [CMD...]
  update [-r FILE|- | --memory N --memory-swap N --memory-reservation N --cpu-share N --cpu-quota N
          --cpu-period N --cpuset-cpus L --cpuset-mems L --pids-limit N --blkio-weight N] ID
  events [--stats] [--interval 5s] ID
  features            print what this runtime supports (JSON)
  spec [--bundle DIR] [--rootless]"""


if __name__ == "__main__":
    sys.exit(main())
