"""Dockerfile text → a list of instruction nodes. Parsing only: nothing is evaluated here.

Follows Docker's parser: parser directives (`# syntax=`, `# escape=`, `# check=`) before anything
else; comments; line continuations with the escape character (comment lines and empty lines
inside a continuation are skipped); instruction keywords in any case; `--flag=value` prefixes;
JSON (exec) form where an instruction allows it; heredocs for RUN, COPY and ADD.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

JSON_OR_SHELL = frozenset({"run", "cmd", "entrypoint", "shell"})
JSON_OR_WORDS = frozenset({"copy", "add", "volume"})
KEY_VALUE = frozenset({"env", "label"})
SINGLE_STRING = frozenset({"user", "workdir", "stopsignal", "maintainer"})
WORDS = frozenset({"from", "expose"})
HEREDOC_ALLOWED = frozenset({"run", "copy", "add"})
INSTRUCTIONS = (
    JSON_OR_SHELL | JSON_OR_WORDS | KEY_VALUE | SINGLE_STRING | WORDS | {"arg", "onbuild", "healthcheck"}
)
KNOWN_DIRECTIVES = frozenset({"syntax", "escape", "check"})

_DIRECTIVE = re.compile(r"^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$")
_WHITESPACE = re.compile(r"[\t\v\f\r ]+")
_HEREDOC = re.compile(r"^(\d*)<<(-?)\s*([^<]*)$")


class DockerfileSyntaxError(ValueError):
    """A parse error; the message names the line, as Docker's does."""

    def __init__(self, message: str, line: int | None = None) -> None:
        self.line = line
        super().__init__(f"dockerfile parse error on line {line}: {message}" if line else message)


@dataclass
class Heredoc:
    name: str
    content: str
    expand: bool
    """False when the delimiter was quoted: no variable expansion in the content."""
    chomp: bool
    """`<<-`: leading tabs are removed from the content lines."""
    file_descriptor: int | None = None


@dataclass
class Node:
    keyword: str
    """The instruction, lower-case (`run`)."""
    args: list[str]
    """JSON form: the array. Shell form: one string. Word forms: the words. ENV/LABEL: k, v, k, v…"""
    original: str
    start_line: int
    end_line: int
    json: bool = False
    flags: list[str] = field(default_factory=list)
    """Raw `--name=value` words before the arguments."""
    heredocs: list[Heredoc] = field(default_factory=list)
    legacy_key_value: bool = False
    """ENV/LABEL written as `ENV key value` rather than `key=value`."""
    trigger: Node | None = None
    """ONBUILD's instruction."""

    def flag(self, name: str) -> str | None:
        """The value of `--name=value` (the last one wins), or None."""
        found = None
        for raw in self.flags:
            key, sep, value = raw[2:].partition("=")
            if key == name:
                found = value if sep else "true"
        return found


@dataclass
class Dockerfile:
    nodes: list[Node]
    escape: str = "\\"
    directives: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def parse(text: str | bytes) -> Dockerfile:
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as err:
            raise DockerfileSyntaxError(f"the Dockerfile is not valid UTF-8: {err}") from err
    return _Parser(text.removeprefix("\ufeff")).run()


class _Parser:
    def __init__(self, text: str) -> None:
        self.lines = text.split("\n")
        self.index = 0
        self.escape = "\\"
        self.directives: dict[str, str] = {}
        self.directives_done = False
        self.warnings: list[str] = []
        self._continuation = self._continuation_regex()

    def _continuation_regex(self) -> re.Pattern[str]:
        e = re.escape(self.escape)
        return re.compile(rf"([^{e}]){e}[ \t]*$|^{e}[ \t]*$")

    def _next_line(self) -> str | None:
        if self.index >= len(self.lines):
            return None
        line = self.lines[self.index].removesuffix("\r")
        self.index += 1
        return line

    def _directive(self, line: str) -> None:
        if self.directives_done:
            return
        match = _DIRECTIVE.match(line)
        if not match or match.group(1).lower() not in KNOWN_DIRECTIVES:
            self.directives_done = True
            return
        name, value = match.group(1).lower(), match.group(2)
        if name in self.directives:
            raise DockerfileSyntaxError(f"only one {name} parser directive can be used", self.index)
        self.directives[name] = value
        if name == "escape":
            if value not in ("\\", "`"):
                raise DockerfileSyntaxError(f"invalid escape token '{value}' does not match ` or \\", self.index)
            self.escape = value
            self._continuation = self._continuation_regex()

    def _trim_continuation(self, line: str) -> tuple[str, bool]:
        """(line without a trailing escape, whether the logical line ends here)."""
        if self._continuation.search(line):
            return self._continuation.sub(r"\1", line), False
        return line, True

    def run(self) -> Dockerfile:
        nodes = []
        while (raw := self._next_line()) is not None:
            line = raw.lstrip()
            self._directive(line)
            if line.startswith("#"):
                continue
            start = self.index
            line, ended = self._trim_continuation(line)
            if ended and not line.strip():
                continue
            parts = [line]
            empty_continuation = False
            while not ended and (raw := self._next_line()) is not None:
                if raw.lstrip().startswith("#"):
                    continue
                if not raw.strip():
                    empty_continuation = True
                    continue
                piece, ended = self._trim_continuation(raw)
                parts.append(piece)
            logical = "".join(parts)
            if not logical.strip():
                continue
            if empty_continuation:
                self.warnings.append(f"Empty continuation line found in: {logical}")
            node = self._node(logical, start, self.index)
            if node.keyword in HEREDOC_ALLOWED and "<<" in logical:
                node.heredocs = self._heredocs(logical, start)
                node.end_line = self.index
            nodes.append(node)
        return Dockerfile(nodes, self.escape, self.directives, self.warnings)

    def _node(self, line: str, start: int, end: int) -> Node:
        parts = line.strip().split(None, 1)
        word = parts[0] if parts else ""
        rest = parts[1] if len(parts) > 1 else ""
        keyword = word.lower()
        if keyword not in INSTRUCTIONS:
            raise DockerfileSyntaxError(f"unknown instruction: {word.upper()}", start)
        flags, rest = _split_flags(rest.strip(), self.escape)
        node = Node(keyword, [], line, start, end, flags=flags)
        try:
            self._arguments(node, rest)
        except DockerfileSyntaxError as err:
            raise DockerfileSyntaxError(str(err), start) from None
        return node

    def _arguments(self, node: Node, rest: str) -> None:
        keyword = node.keyword
        if keyword in JSON_OR_SHELL:
            array = _json_array(rest)
            if array is not None:
                node.args, node.json = array, True
            elif keyword == "shell":
                raise DockerfileSyntaxError("SHELL requires the arguments to be in JSON form")
            else:
                node.args = [rest] if rest else []
        elif keyword in JSON_OR_WORDS:
            array = _json_array(rest)
            if array is not None:
                node.args, node.json = array, True
            else:
                node.args = _WHITESPACE.split(rest) if rest else []
        elif keyword in KEY_VALUE:
            node.args, node.legacy_key_value = _key_values(rest, keyword.upper(), self.escape)
        elif keyword == "arg":
            node.args = _words(rest, self.escape)
        elif keyword in WORDS:
            node.args = _WHITESPACE.split(rest) if rest else []
        elif keyword in SINGLE_STRING:
            node.args = [rest] if rest else []
        elif keyword == "healthcheck":
            kind, _, command = rest.partition(" ")
            if not kind:
                return
            node.args = [kind.strip()]
            array = _json_array(command.strip())
            if array is not None:
                node.args += array
                node.json = True
            elif command.strip():
                node.args.append(command.strip())
        elif keyword == "onbuild":
            if not rest:
                raise DockerfileSyntaxError("ONBUILD requires at least one argument")
            trigger = self._node(rest, node.start_line, node.end_line)
            if trigger.keyword in ("onbuild", "from", "maintainer"):
                raise DockerfileSyntaxError(f"{trigger.keyword.upper()} isn't allowed as an ONBUILD trigger")
            node.trigger = trigger
            node.args = [rest]

    def _heredocs(self, line: str, start: int) -> list[Heredoc]:
        heredocs = []
        for word in _raw_words(line):
            match = _HEREDOC.match(word)
            if not match:
                continue
            fd, chomp, name = match.groups()
            if not name:
                continue
            expand = True
            if len(name) >= 2 and name[0] == name[-1] and name[0] in "'\"":
                name, expand = name[1:-1], False
            lines = []
            while True:
                raw = self._next_line()
                if raw is None:
                    raise DockerfileSyntaxError("unterminated heredoc", start)
                candidate = raw.lstrip("\t") if chomp else raw
                if candidate == name:
                    break
                lines.append(raw + "\n")
            content = "".join(lines)
            if chomp:
                content = re.sub(r"(?m)^\t+", "", content)
            heredocs.append(Heredoc(name, content, expand, bool(chomp), int(fd) if fd else None))
        return heredocs


def _json_array(rest: str) -> list[str] | None:
    """The JSON array of strings, or None when `rest` is not a JSON array (then it is shell form)."""
    stripped = rest.lstrip()
    if not stripped.startswith("["):
        return None
    try:
        value = json.loads(stripped)
    except ValueError:
        return None
    if not isinstance(value, list):
        return None
    if not all(isinstance(item, str) for item in value):
        raise DockerfileSyntaxError("when using JSON array syntax, arrays must be comprised of strings only")
    return value


def _split_flags(rest: str, escape: str) -> tuple[list[str], str]:
    flags = []
    while rest.startswith("--"):
        words = _words(rest, escape, limit=1)
        if not words:
            break
        word = words[0]
        if word == "--":
            rest = rest[2:].lstrip()
            break
        flags.append(_unquote_flag(word))
        rest = rest[_raw_length(rest, escape):].lstrip()
    return flags, rest


def _unquote_flag(word: str) -> str:
    name, sep, value = word.partition("=")
    if sep and len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        value = value[1:-1]
    return f"{name}{sep}{value}"


def _raw_length(text: str, escape: str) -> int:
    """Length of the first word of `text`, quotes and escapes included."""
    quote = ""
    index = 0
    while index < len(text):
        ch = text[index]
        if quote:
            if ch == escape and quote != "'" and index + 1 < len(text):
                index += 2
                continue
            if ch == quote:
                quote = ""
        elif ch.isspace():
            return index
        elif ch in "'\"":
            quote = ch
        elif ch == escape and index + 1 < len(text):
            index += 2
            continue
        index += 1
    return index


def _words(text: str, escape: str, limit: int | None = None) -> list[str]:
    """Split on whitespace outside quotes, keeping quotes and escapes in the words (they are
    resolved later, when the words are expanded)."""
    words = []
    rest = text.lstrip()
    while rest and (limit is None or len(words) < limit):
        length = _raw_length(rest, escape)
        word = rest[:length]
        if word.endswith(escape) and not word.endswith(escape * 2):
            word = word[:-1]
        words.append(word)
        rest = rest[length:].lstrip()
    return words


def _raw_words(line: str) -> list[str]:
    return _words(line, "\\")


def _key_values(rest: str, keyword: str, escape: str) -> tuple[list[str], bool]:
    words = _words(rest, escape)
    if not words:
        raise DockerfileSyntaxError(f"{keyword} requires at least one argument")
    if "=" not in words[0]:
        parts = _WHITESPACE.split(rest, maxsplit=1)
        if len(parts) < 2 or not parts[1]:
            raise DockerfileSyntaxError(f"{keyword} must have two arguments")
        return [parts[0], parts[1]], True
    pairs: list[str] = []
    for word in words:
        if "=" not in word:
            raise DockerfileSyntaxError(
                f'Syntax error - can\'t find = in "{word}". Must be of the form: name=value'
            )
        key, _, value = word.partition("=")
        pairs += [key, value]
    return pairs, False
