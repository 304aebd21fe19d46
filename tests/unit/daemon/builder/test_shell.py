import pytest

from wharf.daemon.builder.shell import ShellLexer, ShellSyntaxError

ENV = {"A": "a b", "EMPTY": "", "PATHS": "/usr/local/bin:/usr/bin", "FILE": "file.tar.gz", "X": "x"}


@pytest.mark.parametrize(
    ("word", "expanded", "words"),
    [
        ("plain", "plain", ["plain"]),
        ("$A", "a b", ["a", "b"]),
        ('"$A"', "a b", ["a b"]),
        ("'$A'", "$A", ["$A"]),
        ("x${A}y", "xa by", ["xa", "by"]),
        ("${MISSING}", "", []),
        ("${MISSING:-default}", "default", ["default"]),
        ("${EMPTY:-default}", "default", ["default"]),
        ("${EMPTY-default}", "", []),
        ("${MISSING-default}", "default", ["default"]),
        ("${X:+alt}", "alt", ["alt"]),
        ("${EMPTY:+alt}", "", []),
        ("${EMPTY+alt}", "alt", ["alt"]),
        ("${FILE%.*}", "file.tar", ["file.tar"]),
        ("${FILE%%.*}", "file", ["file"]),
        ("${FILE#*.}", "tar.gz", ["tar.gz"]),
        ("${FILE##*.}", "gz", ["gz"]),
        ("${PATHS/usr/opt}", "/opt/local/bin:/usr/bin", ["/opt/local/bin:/usr/bin"]),
        ("${PATHS//usr/opt}", "/opt/local/bin:/opt/bin", ["/opt/local/bin:/opt/bin"]),
        ("a\\ b", "a b", ["a b"]),
        ("\\$A", "$A", ["$A"]),
        ('"a\\$A"', "a$A", ["a$A"]),
        ('"a\\b"', "a\\b", ["a\\b"]),
        ('"say \\"hi\\""', 'say "hi"', ['say "hi"']),
        ("$", "$", ["$"]),
        ("cost: $5", "cost: ", ["cost:"]),
        ("${MISSING:-$X$X}", "xx", ["xx"]),
        ("${MISSING:-'q q'}", "q q", ["q", "q"]),  # Docker splits what $ brings in
        ("one   two", "one   two", ["one", "two"]),
        ("end\\", "end", ["end"]),
    ],
)
def test_expansion_matches_dockers(word: str, expanded: str, words: list[str]) -> None:
    lexer = ShellLexer()
    assert lexer.expand(word, ENV) == expanded
    assert lexer.expand_words(word, ENV) == words


def test_backtick_escape() -> None:
    lexer = ShellLexer("`")
    assert lexer.expand("a`$X", ENV) == "a$X"
    assert lexer.expand("C:\\path\\$X", ENV) == "C:\\path\\x"


@pytest.mark.parametrize(
    ("word", "message"),
    [
        ("${", "missing '}'"),
        ("${}", "bad substitution"),
        ("${:x}", "bad substitution"),
        ("${A", "missing '}'"),
        ("${A:-x", "missing '}'"),
        ('"open', "matching double-quote"),
        ("'open", "matching single-quote"),
        ("${EMPTY:?}", "EMPTY: is not allowed to be empty"),
        ("${MISSING?must be set}", "MISSING: must be set"),
        ("${A!x}", "unsupported modifier (!)"),
        ("${A:#x}", "unsupported modifier (:#)"),
    ],
)
def test_syntax_errors(word: str, message: str) -> None:
    with pytest.raises(ShellSyntaxError, match=message.replace("(", r"\(").replace(")", r"\)").replace("?", r"\?")):
        ShellLexer().expand(word, ENV)
