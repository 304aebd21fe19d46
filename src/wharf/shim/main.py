"""`wharf-shim start ...`: validate, fork the shim daemon, report the control socket or the error.

    wharf-shim start --id ID --bundle DIR --state-dir DIR --runtime BIN [--runtime-root DIR]
                     [--stdin] [--terminal] [--log-path FILE] [--log-max-size BYTES] [--log-max-files N]

Exit status: 0 with the control socket's path on stdout; 1 when the runtime (or the host) failed,
2 for bad arguments, 3 when a live shim already holds the state dir; the message is on stderr.
The command line is parsed by hand: argparse would cost the shim's start-up more than the rest.
"""

from __future__ import annotations

import os
import sys

from wharf.shim.options import ShimOptions

USAGE = ("usage: wharf-shim start --id ID --bundle DIR --state-dir DIR --runtime BIN [--runtime-root DIR]\n"
         "         [--stdin] [--terminal] [--log-path FILE] [--log-max-size BYTES] [--log-max-files N]")

_FLAGS = {"--id": "id", "--bundle": "bundle", "--state-dir": "state_dir", "--runtime": "runtime",
          "--runtime-root": "runtime_root", "--log-path": "log_path", "--log-max-size": "log_max_size",
          "--log-max-files": "log_max_files"}
_SWITCHES = {"--stdin": "stdin", "--terminal": "terminal"}
_INTEGERS = ("log_max_size", "log_max_files")
MAX_SOCKET_PATH = 107


class UsageError(Exception):
    pass


class AlreadyRunning(Exception):
    pass


def parse_start(args: list[str]) -> ShimOptions:
    values: dict[str, object] = {}
    position = 0
    while position < len(args):
        arg = args[position]
        name, equals, inline = arg.partition("=")
        if arg in _SWITCHES:
            values[_SWITCHES[arg]] = True
        elif name in _FLAGS:
            if equals:
                value = inline
            else:
                position += 1
                if position == len(args):
                    raise UsageError(f"{name} needs a value")
                value = args[position]
            values[_FLAGS[name]] = value
        else:
            raise UsageError(f"unknown argument {arg!r}")
        position += 1
    for required in ("id", "bundle", "state_dir", "runtime"):
        if not values.get(required):
            raise UsageError(f"--{required.replace('_', '-')} is required")
    for key in _INTEGERS:
        if key in values:
            try:
                values[key] = int(str(values[key]))
            except ValueError:
                raise UsageError(f"--{key.replace('_', '-')} takes a number, not {values[key]!r}") from None
            if values[key] < (1 if key == "log_max_files" else 0):  # type: ignore[operator]
                raise UsageError(f"--{key.replace('_', '-')} is out of range")
    for key in ("bundle", "state_dir", "runtime_root", "log_path"):
        if values.get(key):
            values[key] = os.path.abspath(str(values[key]))
    return ShimOptions(**values)  # type: ignore[arg-type]


def _resolve_binary(name: str) -> str:
    if "/" in name:
        candidates = [os.path.abspath(name)]
    else:
        candidates = [os.path.join(d, name) for d in os.environ.get("PATH", os.defpath).split(os.pathsep) if d]
    for candidate in candidates:
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    raise UsageError(f"runtime {name!r} not found")


def check(options: ShimOptions) -> None:
    from wharf.shim.protocol import (
        ATTACH_SOCKET,
        CONSOLE_SOCKET,
        CONTROL_SOCKET,
        EXIT_FILE,
        PID_FILE,
        SHIM_PID_FILE,
    )

    if "/" in options.id or options.id in (".", "..") or not options.id.isprintable():
        raise UsageError(f"invalid container id {options.id!r}")
    if not os.path.isfile(os.path.join(options.bundle, "config.json")):
        raise UsageError(f"bundle {options.bundle}: no config.json")
    options.runtime = _resolve_binary(options.runtime)
    for name in (CONTROL_SOCKET, ATTACH_SOCKET, CONSOLE_SOCKET):
        if len(os.path.join(options.state_dir, name).encode()) > MAX_SOCKET_PATH:
            raise UsageError(f"state dir {options.state_dir} is too long for a unix socket path")
    os.makedirs(options.state_dir, mode=0o711, exist_ok=True)
    control = os.path.join(options.state_dir, CONTROL_SOCKET)
    if os.path.exists(control):
        import socket

        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            probe.connect(control)
        except OSError:
            pass  # left by a dead shim
        else:
            raise AlreadyRunning(f"a shim is already running in {options.state_dir}")
        finally:
            probe.close()
    # What a dead shim left would be taken for this one's (a stale socket would also fail bind).
    for name in (CONTROL_SOCKET, ATTACH_SOCKET, CONSOLE_SOCKET, EXIT_FILE, PID_FILE, SHIM_PID_FILE):
        try:
            os.unlink(os.path.join(options.state_dir, name))
        except FileNotFoundError:
            pass


def start(args: list[str]) -> int:
    try:
        options = parse_start(args)
        check(options)
    except UsageError as err:
        print(f"wharf-shim start: {err}\n{USAGE}", file=sys.stderr)
        return 2
    except AlreadyRunning as err:
        print(f"wharf-shim start: {err}", file=sys.stderr)
        return 3
    except OSError as err:
        print(f"wharf-shim start: {err}", file=sys.stderr)
        return 1
    ready_r, ready_w = os.pipe()
    child = os.fork()
    if child == 0:
        os.close(ready_r)
        from wharf.shim.daemon import run_detached

        run_detached(options, ready_w)  # never returns
    os.close(ready_w)
    os.waitpid(child, 0)  # the first child exits as soon as the daemon is forked
    with os.fdopen(ready_r, "rb") as ready:
        answer = ready.read().decode(errors="replace")
    if answer.startswith("ok"):
        print(os.path.join(options.state_dir, "shim.sock"), flush=True)
        return 0
    print(answer.removeprefix("error:") or "wharf-shim: the shim died while creating the container",
          file=sys.stderr)
    return 1


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] == "start":
        return start(args[1:])
    print(USAGE, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
