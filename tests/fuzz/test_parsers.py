"""Parsers of untrusted text fail only with their own, clear errors, whatever they are given."""

from hypothesis import given
from hypothesis import strategies as st

from wharf.daemon.builder.dockerignore import IgnoreMatcher, read_patterns
from wharf.daemon.builder.parser import DockerfileSyntaxError, parse
from wharf.daemon.builder.shell import ShellLexer, ShellSyntaxError
from wharf.oci.reference import InvalidReference
from wharf.oci.reference import parse as parse_reference

REFERENCE_ALPHABET = st.sampled_from(list("abcXYZ019-_.:/@") + ["sha256:", "a" * 64, "localhost", ":5000"])
DOCKERFILE_PIECES = st.sampled_from(
    ["FROM a", "RUN", "CMD", "ENV", "LABEL", "COPY", "ONBUILD", "HEALTHCHECK", "ARG", "SHELL", "\\", "`", "\n",
     " ", "[", "]", '"', "'", "=", "--from=x", "<<EOF", "EOF", "#", "# escape=`", "$", "{", "}", "x", "\t", "\r"]
)


@given(st.one_of(st.text(), st.lists(REFERENCE_ALPHABET, max_size=12).map("".join)))
def test_reference_parser(text: str) -> None:
    try:
        ref = parse_reference(text)
    except InvalidReference:
        return
    # What parses, round-trips.
    assert parse_reference(str(ref)) == ref


@given(st.one_of(st.text(), st.lists(DOCKERFILE_PIECES, max_size=40).map("".join)))
def test_dockerfile_parser(text: str) -> None:
    try:
        dockerfile = parse(text)
    except DockerfileSyntaxError as err:
        assert str(err)
        return
    for node in dockerfile.nodes:
        assert node.keyword and node.start_line <= node.end_line


@given(
    st.lists(st.sampled_from(list("$:{}-+?#%/'\"\\ ab_1") + ["${", "$a", "${a:-", "${a/"]), max_size=25).map("".join),
    st.dictionaries(st.sampled_from(["a", "b", "1", "_"]), st.text(max_size=5), max_size=3),
)
def test_shell_expansion(word: str, env: dict[str, str]) -> None:
    lexer = ShellLexer()
    try:
        expanded = lexer.expand(word, env)
        words = lexer.expand_words(word, env)
    except ShellSyntaxError:
        return
    assert isinstance(expanded, str)
    assert all(isinstance(w, str) and w for w in words)


@given(st.lists(st.text(alphabet=st.sampled_from(list("*?[]!\\/.ab ")), max_size=8), max_size=5),
       st.text(alphabet=st.sampled_from(list("ab/.*")), min_size=1, max_size=10))
def test_dockerignore(patterns: list[str], path: str) -> None:
    try:
        matcher = IgnoreMatcher(read_patterns("\n".join(patterns)))
    except ValueError:
        return
    assert matcher.excluded(path) in (True, False)
