"""`wharf`: docker-compatible commands over the Engine API of wharfd.

Exit codes as the docker CLI's: 125 for a wrong flag or a daemon error in run/create, 1 for other
failures and wrong argument counts, 126/127 when the container command cannot be invoked or is not
found, otherwise the container's own exit code.
"""

from __future__ import annotations

import os
import sys

from wharf.cli import commands
from wharf.cli.flags import Args, Command, ExitStatus, HelpRequested, UsageError, parse


class GlobalOptions:
    def __init__(self) -> None:
        self.hosts: list[str] = []
        self.config: str | None = None
        self.debug = False


def _parse_globals(argv: list[str]) -> tuple[GlobalOptions, list[str]]:
    options = GlobalOptions()
    index = 0
    while index < len(argv) and argv[index].startswith("-") and argv[index] != "-":
        token = argv[index]
        index += 1
        name, eq, value = token.partition("=")
        if name in ("-H", "--host", "--config", "-c", "--context", "-l", "--log-level"):
            if not eq:
                if index >= len(argv):
                    raise UsageError(f"flag needs an argument: {name}", None)
                value = argv[index]
                index += 1
            if name in ("-H", "--host"):
                options.hosts.append(value)
            elif name == "--config":
                options.config = value
        elif name in ("-D", "--debug"):
            options.debug = True
        elif name in ("-v", "--version"):
            return options, ["--version"]
        elif name in ("-h", "--help"):
            return options, ["--help"]
        elif name.startswith("-H") and len(name) > 2:
            options.hosts.append(name[2:])
        else:
            raise UsageError(f"unknown flag: {name}" if name.startswith("--") else
                             f"unknown shorthand flag: '{name[1:2]}' in {name}", None)
    return options, argv[index:]


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        return _main(argv)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `wharf ps | head`: the reader went away; say nothing, as docker does
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def _main(argv: list[str]) -> int:
    from wharf.cli import help as help_text

    try:
        options, rest = _parse_globals(argv)
    except UsageError as err:
        sys.stderr.write(f"{err}\nSee 'wharf --help'.\n")
        return 125
    if options.config:
        os.environ["DOCKER_CONFIG"] = options.config
    if not rest or rest[0] in ("--help", "help") and len(rest) == 1:
        help_text.print_main()
        return 0
    if rest[0] == "--version":
        from wharf.cli.system import CLIENT_VERSION

        print(f"Wharf version {CLIENT_VERSION}")
        return 0
    if rest[0] == "help":
        rest = [*rest[1:], "--help"]
    command, used = commands.find(rest)
    if command is None:
        return _unknown_command(rest, used)
    try:
        args = parse(command, rest[used:])
    except HelpRequested:
        help_text.print_command(command, " ".join(rest[:used]))
        return 0
    except UsageError as err:
        return help_text.usage_error(err, " ".join(rest[:used]))
    args.hosts = options.hosts  # type: ignore[attr-defined]
    args.debug = options.debug  # type: ignore[attr-defined]
    return run_command(command, args, options)


def _unknown_command(rest: list[str], used: int) -> int:
    from wharf.cli import help as help_text

    if used == 1 and rest[0] in commands.GROUPS:
        group = rest[0]
        if len(rest) == 1 or rest[1] in ("--help", "-h", "help"):
            help_text.print_group(group)
            return 0
        sys.stderr.write(f"wharf: unknown command: wharf {group} {rest[1]}\n\n")
        sys.stderr.write(f"Usage:  wharf {group} COMMAND\n\nRun 'wharf {group} --help' for more information\n")
        return 1
    if rest[0].startswith("-"):
        sys.stderr.write(f"unknown flag: {rest[0]}\nSee 'wharf --help'.\n")
        return 125
    sys.stderr.write(f"wharf: unknown command: wharf {rest[0]}\n\nRun 'wharf --help' for more information\n")
    return 1


def run_command(command: Command, args: Args, options: GlobalOptions) -> int:
    from importlib import import_module

    from wharf import errdefs
    from wharf.client import APIError, EngineClient
    from wharf.client.engine import DaemonUnreachable

    module_name, _, function_name = command.handler.partition(":")
    handler = getattr(import_module(f"wharf.cli.{module_name}"), function_name)
    failure = 125 if command.path in ("run", "create") else 1
    try:
        client = EngineClient(options.hosts[0] if options.hosts else None)
        return int(handler(client, args) or 0)
    except ExitStatus as err:
        if command.path in ("run", "create"):
            sys.stderr.write(f"wharf: {err}\n\nRun 'wharf {command.path} --help' for more information\n")
        elif str(err):
            sys.stderr.write(f"{err}\n")
        return err.status
    except DaemonUnreachable as err:
        sys.stderr.write(f"{err}\n")
        return failure
    except APIError as err:
        if command.path in ("run", "create"):
            sys.stderr.write(f"wharf: Error response from daemon: {err}\n\n"
                             f"Run 'wharf {command.path} --help' for more information\n")
        else:
            sys.stderr.write(f"Error response from daemon: {err}\n")
        return failure
    except errdefs.WharfError as err:
        sys.stderr.write(f"wharf: {err}\n" if command.path in ("run", "create") else f"{err}\n")
        return failure
    except UsageError as err:
        from wharf.cli import help as help_text

        return help_text.usage_error(err, command.path)
    except BrokenPipeError:
        raise
    except OSError as err:  # the daemon went away mid-stream, a file could not be read, …
        sys.stderr.write(f"wharf: {err}\n")
        return failure


if __name__ == "__main__":
    sys.exit(main())
