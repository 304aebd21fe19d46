"""`.dockerignore`: which paths of a build context are left out.

Patterns are Docker's: Go-style globs on slash-separated paths relative to the context root,
`**` for any number of directories, `!` to re-include, the last matching pattern wins, and a
pattern that matches a directory excludes everything below it, except what an exception pattern
re-includes: a walk goes into an excluded directory when an exception could match below it
(`reaches_below`, moby's rule), without taking the directory itself.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Pattern:
    text: str
    exclusion: bool
    regex: re.Pattern[str]


def read_patterns(text: str) -> list[str]:
    """The cleaned patterns of a .dockerignore file, `!` kept in front of exceptions."""
    patterns = []
    for number, line in enumerate(text.splitlines()):
        if number == 0:
            line = line.removeprefix("\ufeff")
        if line.startswith("#"):
            continue
        line = line.strip()
        if not line:
            continue
        invert = line.startswith("!")
        if invert:
            line = line[1:].strip()
        if line:
            line = posixpath.normpath(line)
            if len(line) > 1 and line.startswith("/"):
                line = line.lstrip("/") or "/"
        patterns.append("!" + line if invert else line)
    return patterns


def _compile(pattern: str) -> re.Pattern[str]:
    out = ["^"]
    index = 0
    while index < len(pattern):
        ch = pattern[index]
        if ch == "*":
            if pattern[index + 1:index + 2] == "*":
                index += 2
                if pattern[index:index + 1] == "/":
                    index += 1
                out.append(".*" if index >= len(pattern) else "(.*/)?")
                continue
            out.append("[^/]*")
        elif ch == "?":
            out.append("[^/]")
        elif ch == "\\" and index + 1 < len(pattern):
            index += 1
            out.append(re.escape(pattern[index]))
        elif ch == "[":
            end = pattern.find("]", index + 1)
            if end <= index + 1:
                raise ValueError(f"syntax error in pattern {pattern!r}")
            body = pattern[index + 1:end]
            negate = body[:1] in ("^", "!")
            out.append("[" + ("^" if negate else "") + _class_body(body[1:] if negate else body) + "]")
            index = end
        else:
            out.append(re.escape(ch))
        index += 1
    out.append("$")
    try:
        return re.compile("".join(out), re.DOTALL)
    except re.error as err:
        raise ValueError(f"syntax error in pattern {pattern!r}: {err}") from None


def _class_body(body: str) -> str:
    """A glob character class's members for a regex class: ranges (`a-z`) kept, the rest literal."""
    out = []
    index = 0
    while index < len(body):
        ch = body[index]
        if ch == "\\" and index + 1 < len(body):
            index += 1
            out.append(re.escape(body[index]))
        else:
            out.append("-" if ch == "-" else re.escape(ch))
        index += 1
    return "".join(out)


class IgnoreMatcher:
    def __init__(self, patterns: list[str]) -> None:
        self.patterns = []
        for text in patterns:
            exclusion = text.startswith("!")
            body = text[1:] if exclusion else text
            if not body:
                raise ValueError('illegal exclusion pattern: "!"')
            self.patterns.append(Pattern(body, exclusion, _compile(body)))

    @classmethod
    def from_file_text(cls, text: str) -> IgnoreMatcher:
        return cls(read_patterns(text))

    def excluded(self, path: str) -> bool:
        """Whether `path` (relative, slash-separated) is left out of the context."""
        path = posixpath.normpath(path).lstrip("/")
        parents = path.split("/")[:-1]
        prefixes = ["/".join(parents[: i + 1]) for i in range(len(parents))]
        matched = False
        for pattern in self.patterns:
            # Only a pattern that could change the verdict needs checking.
            if pattern.exclusion != matched:
                continue
            hit = bool(pattern.regex.match(path)) or any(pattern.regex.match(p) for p in prefixes)
            if hit:
                matched = not pattern.exclusion
        return matched

    def reaches_below(self, directory: str) -> bool:
        """Whether an exception pattern may re-include something inside the excluded `directory`
        (moby walks into it then, as its archive code does: the exception's text starts with the
        directory's path)."""
        prefix = posixpath.normpath(directory).lstrip("/") + "/"
        return any(p.exclusion and (p.text + "/").startswith(prefix) for p in self.patterns)
