"""`--help` texts and usage errors, laid out as the docker CLI's."""

from __future__ import annotations

import sys

from wharf.cli import commands
from wharf.cli.flags import BOOL, INT, Command, Flag, UsageError


def _flag_lines(flags: list[Flag]) -> list[str]:
    rows = []
    for flag in sorted(flags, key=lambda f: f.long):
        short = f"-{flag.short[1:]}, " if flag.short else "    "
        kind = "" if flag.kind == BOOL else (" int" if flag.kind == INT else
                                             " list" if flag.kind == "list" else " string")
        text = flag.help
        if flag.default not in (None, False, [], "") and flag.kind != BOOL:
            text += f' (default "{flag.default}")' if isinstance(flag.default, str) else f" (default {flag.default})"
        rows.append((f"  {short}{flag.long}{kind}", text))
    width = max((len(left) for left, _ in rows), default=0) + 3
    return [left.ljust(width) + text for left, text in rows]


def print_command(command: Command, invoked: str) -> None:
    out = [f"Usage:  wharf {invoked or command.path} {command.usage}\n", command.summary + "\n"]
    if command.flags:
        out.append("Options:")
        out.extend(_flag_lines(command.flags))
        out.append("")
    if command.examples:
        out.append("Examples:")
        out.append(command.examples)
        out.append("")
    sys.stdout.write("\n".join(out) + "\n")


def print_group(group: str) -> None:
    aliases = {alias for command in commands.GROUPED.values() for alias in command.aliases}
    members = {name: command for name, command in commands.group_members(group).items() if name not in aliases}
    width = max(11, *(len(name) for name in members)) + 1  # cobra's name padding
    lines = [f"Usage:  wharf {group} COMMAND\n", commands.GROUPS[group] + "\n", "Commands:"]
    for name in sorted(members):
        lines.append(f"  {name.ljust(width)}{members[name].summary}")
    lines.append(f"\nRun 'wharf {group} COMMAND --help' for more information on a command.\n")
    sys.stdout.write("\n".join(lines))


def print_main() -> None:
    everything = commands.TOP_LEVEL
    width = 12
    lines = ["", "Usage:  wharf [OPTIONS] COMMAND", "", "A self-sufficient runtime for containers", "",
             "Common Commands:"]
    lines += [f"  {name.ljust(width)}{everything[name].summary}" for name in commands.COMMON]
    lines += ["", "Management Commands:"]
    lines += [f"  {name.ljust(width)}{summary}" for name, summary in sorted(commands.GROUPS.items())]
    lines += ["", "Commands:"]
    lines += [f"  {name.ljust(width)}{everything[name].summary}" for name in sorted(everything)
              if name not in commands.COMMON]
    lines += ["", "Global Options:"] + _flag_lines(commands.GLOBAL_FLAGS)
    lines += ["", "Run 'wharf COMMAND --help' for more information on a command.", "",
              "Examples:", "  wharf system bootstrap          # a local busybox image, no registry needed",
              "  wharf run --rm -it busybox sh", "  wharf ps --format 'table {{.Names}}\\t{{.Status}}'", ""]
    sys.stdout.write("\n".join(lines) + "\n")


def usage_error(err: UsageError, invoked: str) -> int:
    command = err.command
    name = invoked or (command.path if command else "")
    usage = f"\nUsage:  wharf {name} {command.usage}\n\n" if command else "\n"
    if err.status == 125:
        sys.stderr.write(f"{err}\n{usage}Run 'wharf {name} --help' for more information\n")
    else:
        sys.stderr.write(f"wharf: {err}\n{usage}See 'wharf {name} --help' for more information\n")
    return err.status
