"""Command-line parsing with docker's (pflag's) rules, without argparse's start-up cost.

`-it`, `-p80:80`, `-p 80:80`, `--name=x`, `--name x`, `--rm=false`; flags may follow positionals
unless the command stops at its first positional (run, create, exec: the rest is the container's
command line). A mistake raises UsageError, which main turns into docker's message and exit code.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs start-up time; annotations are strings
    from typing import Any

BOOL, STR, LIST, INT = "bool", "string", "list", "int"


class UsageError(Exception):
    """A wrong flag (exit 125) or a wrong number of arguments (exit 1), as the docker CLI does."""

    def __init__(self, message: str, command: Command | None, status: int = 125) -> None:
        super().__init__(message)
        self.command = command
        self.status = status


class Flag:
    """One flag: `names` is "-d --detach" or "--rm"; kind BOOL, STR, LIST or INT."""

    __slots__ = ("names", "kind", "help", "default")

    def __init__(self, names: str, kind: str = BOOL, help: str = "", default: Any = None) -> None:
        self.names, self.kind, self.help, self.default = names, kind, help, default

    @property
    def long(self) -> str:
        return next(n for n in self.names.split() if n.startswith("--"))

    @property
    def short(self) -> str | None:
        return next((n for n in self.names.split() if not n.startswith("--")), None)

    @property
    def dest(self) -> str:
        return self.long[2:].replace("-", "_")


class Command:
    """A command: `path` "ps" or "volume ls"; `handler` "module:function" under wharf.cli, imported
    only when the command runs; max_args None means any number."""

    def __init__(self, path: str, handler: str, summary: str, usage: str = "[OPTIONS]",
                 flags: list[Flag] | None = None, min_args: int = 0, max_args: int | None = 0,
                 interspersed: bool = True, examples: str = "", aliases: tuple[str, ...] = ()) -> None:
        self.path, self.handler, self.summary, self.usage = path, handler, summary, usage
        self.flags = flags or []
        self.min_args, self.max_args, self.interspersed = min_args, max_args, interspersed
        self.examples, self.aliases = examples, aliases

    def flag(self, name: str) -> Flag | None:
        for flag in self.flags:
            if name in flag.names.split():
                return flag
        return None


class Args:
    """Parsed flags as attributes (dest names), positionals in `args`."""

    def __init__(self, command: Command) -> None:
        self.command = command
        self.args: list[str] = []
        self.explicit: set[str] = set()
        for flag in command.flags:
            value = flag.default
            if value is None:
                value = {BOOL: False, LIST: []}.get(flag.kind)
            setattr(self, flag.dest, list(value) if isinstance(value, list) else value)

    def __getattr__(self, name: str) -> Any:  # flags another command variant lacks
        return None


def _bool(text: str, flag: Flag, command: Command) -> bool:
    lowered = text.lower()
    if lowered in ("1", "t", "true"):
        return True
    if lowered in ("0", "f", "false"):
        return False
    raise UsageError(f'invalid argument "{text}" for "{flag.names.replace(" ", ", ")}" flag: '
                     f'strconv.ParseBool: parsing "{text}": invalid syntax', command)


def _store(result: Args, flag: Flag, value: str, command: Command) -> None:
    result.explicit.add(flag.dest)
    if flag.kind == LIST:
        getattr(result, flag.dest).append(value)
    elif flag.kind == INT:
        try:
            setattr(result, flag.dest, int(value))
        except ValueError:
            raise UsageError(f'invalid argument "{value}" for "{flag.names.replace(" ", ", ")}" flag: '
                             f'strconv.ParseInt: parsing "{value}": invalid syntax', command) from None
    elif flag.kind == BOOL:
        setattr(result, flag.dest, _bool(value, flag, command))
    else:
        setattr(result, flag.dest, value)


def parse(command: Command, argv: list[str]) -> Args:
    result = Args(command)
    index = 0
    while index < len(argv):
        token = argv[index]
        index += 1
        if token == "--":
            result.args.extend(argv[index:])
            break
        if token.startswith("--") and len(token) > 2:
            name, eq, value = token.partition("=")
            if name == "--help":
                raise HelpRequested(command)
            flag = command.flag(name)
            if flag is None:
                raise UsageError(f"unknown flag: {name}", command)
            if flag.kind == BOOL:
                _store(result, flag, value if eq else "true", command)
                continue
            if not eq:
                if index >= len(argv):
                    raise UsageError(f"flag needs an argument: {name}", command)
                value = argv[index]
                index += 1
            _store(result, flag, value, command)
            continue
        if token.startswith("-") and len(token) > 1:
            letters = token[1:]
            while letters:
                letter, letters = letters[0], letters[1:]
                if letter == "h" and command.flag("-h") is None:
                    raise HelpRequested(command)
                flag = command.flag("-" + letter)
                if flag is None:
                    raise UsageError(f"unknown shorthand flag: '{letter}' in {token}", command)
                if flag.kind == BOOL:
                    if letters.startswith("="):
                        _store(result, flag, letters[1:], command)
                        letters = ""
                    else:
                        _store(result, flag, "true", command)
                    continue
                value = letters.removeprefix("=")
                if not letters:
                    if index >= len(argv):
                        raise UsageError(f"flag needs an argument: '{letter}' in -{letter}", command)
                    value = argv[index]
                    index += 1
                _store(result, flag, value, command)
                letters = ""
            continue
        result.args.append(token)
        if not command.interspersed:
            result.args.extend(argv[index:])
            break
    _check_count(command, result.args)
    return result


def _check_count(command: Command, args: list[str]) -> None:
    count = len(args)
    name = f"wharf {command.path}"
    if count < command.min_args:
        if command.min_args == 1 and command.max_args is None or command.min_args == 1 and command.max_args != 1:
            message = f"'{name}' requires at least 1 argument"
        elif command.min_args == command.max_args:
            message = f"'{name}' requires {_count_words(command.min_args)}"
        else:
            message = f"'{name}' requires at least {_count_words(command.min_args)}"
        raise UsageError(message, command, status=1)
    if command.max_args is not None and count > command.max_args:
        if command.max_args == 0:
            message = f"'{name}' accepts no arguments"
        elif command.min_args == command.max_args:
            message = f"'{name}' requires {_count_words(command.max_args)}"
        else:
            message = f"'{name}' requires at most {_count_words(command.max_args)}"
        raise UsageError(message, command, status=1)


def _count_words(count: int) -> str:
    return "1 argument" if count == 1 else f"{count} arguments"


class ExitStatus(Exception):
    """Ends a command with this status after printing the message (docker's StatusError)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class HelpRequested(Exception):
    def __init__(self, command: Command | None) -> None:
        super().__init__("help")
        self.command = command
