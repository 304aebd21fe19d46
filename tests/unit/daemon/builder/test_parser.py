import pytest

from wharf.daemon.builder.parser import DockerfileSyntaxError, parse


def test_instructions_flags_and_forms() -> None:
    dockerfile = parse(
        "ARG BASE=busybox\n"
        "FROM ${BASE} AS build\n"
        "run echo a \\\n"
        "  # a comment inside a continuation\n"
        "\n"
        "  && echo b\n"
        'CMD ["sh", "-c", "echo hi"]\n'
        "COPY --chown=1:1 --from=build a b /dst/\n"
        'COPY ["with space", "/dst/"]\n'
        "HEALTHCHECK --interval=5s CMD [\"true\"]\n"
        "EXPOSE 80/tcp 443\n"
    )
    kinds = [(n.keyword, n.args, n.json) for n in dockerfile.nodes]
    assert kinds == [
        ("arg", ["BASE=busybox"], False),
        ("from", ["${BASE}", "AS", "build"], False),
        ("run", ["echo a   && echo b"], False),
        ("cmd", ["sh", "-c", "echo hi"], True),
        ("copy", ["a", "b", "/dst/"], False),
        ("copy", ["with space", "/dst/"], True),
        ("healthcheck", ["CMD", "true"], True),
        ("expose", ["80/tcp", "443"], False),
    ]
    run = dockerfile.nodes[2]
    assert (run.start_line, run.end_line) == (3, 6)
    assert dockerfile.warnings  # the empty continuation line
    copy = dockerfile.nodes[4]
    assert copy.flag("chown") == "1:1" and copy.flag("from") == "build" and copy.flag("chmod") is None


def test_invalid_json_falls_back_to_shell_form_like_docker() -> None:
    node = parse('FROM a\nCMD ["sh"\n').nodes[1]
    assert (node.args, node.json) == (['["sh"'], False)


def test_env_and_label_forms() -> None:
    nodes = parse('FROM a\nENV A=1 B="two words" C=x\\ y\nENV OLD value with spaces\nLABEL "a b"=c\n').nodes
    assert nodes[1].args == ["A", "1", "B", '"two words"', "C", "x\\ y"]
    assert (nodes[2].args, nodes[2].legacy_key_value) == (["OLD", "value with spaces"], True)
    assert nodes[3].args == ['"a b"', "c"]


def test_directives_and_escape() -> None:
    dockerfile = parse("# syntax=docker/dockerfile:1\n# escape=`\nFROM a\nRUN echo one `\n  two\n")
    assert dockerfile.directives == {"syntax": "docker/dockerfile:1", "escape": "`"}
    assert dockerfile.nodes[1].args == ["echo one   two"]


def test_directive_after_an_instruction_is_a_comment() -> None:
    dockerfile = parse("FROM a\n# escape=`\nRUN echo \\\n  x\n")
    assert dockerfile.escape == "\\"
    assert dockerfile.nodes[1].args == ["echo   x"]


def test_heredocs() -> None:
    dockerfile = parse("FROM a\nRUN <<EOF\necho $HOME\nEOF\nCOPY <<-'END' /x\n\tliteral $HOME\n\tEND\nCMD x\n")
    run, copy, cmd = dockerfile.nodes[1:]
    assert run.heredocs[0].content == "echo $HOME\n" and run.heredocs[0].expand
    assert copy.heredocs[0].content == "literal $HOME\n" and not copy.heredocs[0].expand
    assert cmd.start_line == 8


def test_onbuild_trigger() -> None:
    node = parse("FROM a\nONBUILD RUN echo later\n").nodes[1]
    assert node.trigger is not None and node.trigger.keyword == "run"


def test_crlf_and_bom() -> None:
    dockerfile = parse("\ufeffFROM a\r\nRUN x\r\n")
    assert [n.args for n in dockerfile.nodes] == [["a"], ["x"]]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("FROM a\nFOO bar\n", "line 2: unknown instruction: FOO"),
        ("FROM a\nENV\n", "line 2: ENV requires at least one argument"),
        ("FROM a\nENV onlykey\n", "line 2: ENV must have two arguments"),
        ("FROM a\nLABEL a=b c\n", "can't find = in \"c\""),
        ("FROM a\nSHELL sh -c\n", "SHELL requires the arguments to be in JSON form"),
        ("FROM a\nCMD [1, 2]\n", "arrays must be comprised of strings only"),
        ("FROM a\nRUN <<EOF\necho\n", "line 2: unterminated heredoc"),
        ("# escape=x\nFROM a\n", "invalid escape token"),
        ("# escape=`\n# escape=\\\nFROM a\n", "only one escape parser directive"),
        ("FROM a\nONBUILD FROM b\n", "isn't allowed as an ONBUILD trigger"),
        (b"FROM a\nRUN \xff\n", "not valid UTF-8"),
    ],
)
def test_errors_name_the_line(text: str, message: str) -> None:
    with pytest.raises(DockerfileSyntaxError) as caught:
        parse(text)
    assert message in str(caught.value)
