"""Shell-like word processing of Dockerfile arguments, as Docker's builder does it.

Quotes and escapes are resolved and variables expanded (`$v`, `${v}`, `${v:-word}`,
`${v-word}`, `${v:+word}`, `${v+word}`, `${v:?msg}`, `${v?msg}`, `${v#pat}`, `${v##pat}`,
`${v%pat}`, `${v%%pat}`, `${v/pat/rep}`, `${v//pat/rep}`); nothing is executed. `expand`
gives one string (ENV values, WORKDIR…), `expand_words` splits the result on unquoted
whitespace (EXPOSE, the sources of COPY…). Whitespace that a variable brings in splits words;
whitespace inside quotes or after an escape does not.
"""

from __future__ import annotations

from collections.abc import Mapping
from fnmatch import fnmatchcase

SPECIAL_PARAMETERS = frozenset("@*#?-$!0")


class ShellSyntaxError(ValueError):
    pass


class _Words:
    """Collects characters into words; `split` says whether whitespace in `text` ends a word."""

    def __init__(self) -> None:
        self.words: list[str] = []
        self._current: list[str] = []

    def add(self, text: str, split: bool) -> None:
        for ch in text:
            if split and ch.isspace():
                if self._current:
                    self.words.append("".join(self._current))
                    self._current = []
            else:
                self._current.append(ch)

    def finish(self) -> list[str]:
        if self._current:
            self.words.append("".join(self._current))
            self._current = []
        return self.words


class ShellLexer:
    def __init__(self, escape: str = "\\") -> None:
        self.escape = escape

    def expand(self, word: str, env: Mapping[str, str]) -> str:
        return _Expansion(word, env, self.escape).run()[0]

    def expand_words(self, word: str, env: Mapping[str, str]) -> list[str]:
        return _Expansion(word, env, self.escape).run()[1]


class _Expansion:
    def __init__(self, text: str, env: Mapping[str, str], escape: str) -> None:
        self.text = text
        self.env = env
        self.escape = escape
        self.pos = 0

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def next(self) -> str:
        ch = self.peek()
        self.pos += 1 if ch else 0
        return ch

    def run(self) -> tuple[str, list[str]]:
        try:
            return self._until("", keep_escapes=False)
        except ShellSyntaxError as err:
            raise ShellSyntaxError(f"failed to process {self.text!r}: {err}") from None

    def _until(self, stop: str, keep_escapes: bool) -> tuple[str, list[str]]:
        """Process up to `stop` (consumed) or the end when `stop` is empty."""
        result: list[str] = []
        words = _Words()
        while self.peek():
            ch = self.peek()
            if stop and ch == stop:
                self.next()
                return "".join(result), words.finish()
            if ch == "$":
                value = self._dollar()
                result.append(value)
                words.add(value, split=True)
            elif ch == "'":
                value = self._single_quoted()
                result.append(value)
                words.add(value, split=False)
            elif ch == '"':
                value = self._double_quoted()
                result.append(value)
                words.add(value, split=False)
            else:
                self.next()
                if ch == self.escape:
                    if keep_escapes:
                        result.append(ch)
                        words.add(ch, split=False)
                    ch = self.next()
                    if not ch:
                        break
                    words.add(ch, split=False)
                else:
                    words.add(ch, split=True)
                result.append(ch)
        if stop:
            raise ShellSyntaxError(f"unexpected end of statement while looking for matching {stop}")
        return "".join(result), words.finish()

    def _single_quoted(self) -> str:
        self.next()
        start = self.pos
        end = self.text.find("'", start)
        if end < 0:
            raise ShellSyntaxError("unexpected end of statement while looking for matching single-quote")
        self.pos = end + 1
        return self.text[start:end]

    def _double_quoted(self) -> str:
        self.next()
        out: list[str] = []
        while True:
            ch = self.peek()
            if not ch:
                raise ShellSyntaxError("unexpected end of statement while looking for matching double-quote")
            if ch == '"':
                self.next()
                return "".join(out)
            if ch == "$":
                out.append(self._dollar())
                continue
            self.next()
            if ch == self.escape:
                following = self.peek()
                if not following:
                    continue
                if following in ('"', "$", self.escape):
                    ch = self.next()
            out.append(ch)

    def _name(self) -> str:
        ch = self.peek()
        if ch.isdigit():
            start = self.pos
            while self.peek().isdigit():
                self.next()
            return self.text[start:self.pos]
        if ch and ch in SPECIAL_PARAMETERS:
            return self.next()
        start = self.pos
        while (ch := self.peek()) and (ch.isalnum() or ch == "_"):
            self.next()
        return self.text[start:self.pos]

    def _lookup(self, name: str) -> str | None:
        return self.env.get(name)

    def _dollar(self) -> str:
        self.next()
        if self.peek() != "{":
            name = self._name()
            if not name:
                return "$"
            return self._lookup(name) or ""
        self.next()
        ch = self.peek()
        if not ch:
            raise ShellSyntaxError("syntax error: missing '}'")
        if ch in "{}:":
            raise ShellSyntaxError("syntax error: bad substitution")
        name = self._name()
        operator = self.next()
        if not operator:
            raise ShellSyntaxError("syntax error: missing '}'")
        if operator == "}":
            return self._lookup(name) or ""
        null_is_unset = operator == ":"
        if null_is_unset:
            operator = self.next()
        if operator in ("+", "-", "?", "#", "%"):
            if null_is_unset and operator in "#%":
                raise ShellSyntaxError(f"unsupported modifier (:{operator}) in substitution")
            word = self._modifier_word("}", keep_escapes=operator in "#%")
            return self._apply(name, operator, null_is_unset, word)
        if operator == "/" and not null_is_unset:
            replace_all = self.peek() == "/"
            if replace_all:
                self.next()
            pattern = self._modifier_word("/", keep_escapes=True, missing="syntax error: missing '/' in ${}")
            replacement = self._modifier_word("}", keep_escapes=True)
            return _replace(self._lookup(name) or "", pattern, replacement, replace_all)
        shown = (":" if null_is_unset else "") + operator
        raise ShellSyntaxError(f"unsupported modifier ({shown}) in substitution")

    def _modifier_word(self, stop: str, keep_escapes: bool, missing: str = "syntax error: missing '}'") -> str:
        try:
            return self._until(stop, keep_escapes)[0]
        except ShellSyntaxError:
            if not self.peek():
                raise ShellSyntaxError(missing) from None
            raise

    def _apply(self, name: str, operator: str, null_is_unset: bool, word: str) -> str:
        value = self._lookup(name)
        unset = value is None or (null_is_unset and value == "")
        if operator == "-":
            return word if unset else str(value)
        if operator == "+":
            return "" if unset else word
        if operator == "?":
            if value is None:
                raise ShellSyntaxError(f"{name}: {word or 'is not allowed to be unset'}")
            if null_is_unset and value == "":
                raise ShellSyntaxError(f"{name}: {word or 'is not allowed to be empty'}")
            return value
        greedy = word.startswith(operator)
        pattern = _unescape_pattern(word[1:] if greedy else word)
        value = value or ""
        if operator == "#":
            return _trim_prefix(value, pattern, greedy)
        return _trim_suffix(value, pattern, greedy)


def _unescape_pattern(pattern: str) -> str:
    """Escaped `}` and `/` lose their backslash; other escapes stay for fnmatch-style quoting."""
    return pattern.replace("\\}", "}").replace("\\/", "/")


def _matches(text: str, pattern: str) -> bool:
    # fnmatch has no backslash quoting: turn \* \? \\ into one-character classes.
    quoted = []
    index = 0
    while index < len(pattern):
        ch = pattern[index]
        if ch == "\\" and index + 1 < len(pattern):
            quoted.append(f"[{pattern[index + 1]}]")
            index += 2
            continue
        quoted.append("[[]" if ch == "[" else ch)
        index += 1
    return fnmatchcase(text, "".join(quoted))


def _trim_prefix(value: str, pattern: str, greedy: bool) -> str:
    ends = range(len(value), -1, -1) if greedy else range(len(value) + 1)
    for end in ends:
        if _matches(value[:end], pattern):
            return value[end:]
    return value


def _trim_suffix(value: str, pattern: str, greedy: bool) -> str:
    starts = range(len(value) + 1) if greedy else range(len(value), -1, -1)
    for start in starts:
        if _matches(value[start:], pattern):
            return value[:start]
    return value


def _replace(value: str, pattern: str, replacement: str, replace_all: bool) -> str:
    pattern = _unescape_pattern(pattern)
    out: list[str] = []
    start = 0
    while start <= len(value):
        match_end = next((end for end in range(len(value), start, -1) if _matches(value[start:end], pattern)), None)
        if match_end is None:
            if start < len(value):
                out.append(value[start])
            start += 1
            continue
        out.append(replacement)
        start = match_end
        if not replace_all:
            out.append(value[start:])
            return "".join(out)
    return "".join(out)
