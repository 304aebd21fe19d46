import pytest

from wharf.cli import commands
from wharf.cli.main import main

EVERY_COMMAND = sorted({*commands.TOP_LEVEL, *commands.GROUPED})


@pytest.mark.parametrize("path", EVERY_COMMAND)
def test_help_on_every_command_has_usage_and_examples(path: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*path.split(), "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"Usage:  wharf {path} ")
    assert "\nExamples:\n  " in out and "wharf" in out.partition("Examples:")[2]


@pytest.mark.parametrize("group", sorted(commands.GROUPS))
def test_group_help_lists_its_commands(group: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([group]) == 0
    assert "Commands:\n" in capsys.readouterr().out


def test_main_help_and_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    assert "Management Commands:" in capsys.readouterr().out
    assert main(["-v"]) == 0
    assert capsys.readouterr().out.startswith("Wharf version ")


def test_usage_errors_exit_like_docker(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ps", "--nope"]) == 125
    assert capsys.readouterr().err == "unknown flag: --nope\n\nUsage:  wharf ps [OPTIONS]\n\n" \
                                      "Run 'wharf ps --help' for more information\n"
    assert main(["nosuch"]) == 1
    assert capsys.readouterr().err.startswith("wharf: unknown command: wharf nosuch\n")
    assert main(["--bogus-global"]) == 125


@pytest.mark.parametrize("shell", ["bash", "zsh"])
def test_completion_scripts(shell: str, capsys: pytest.CaptureFixture[str]) -> None:
    import subprocess

    assert main(["completion", shell]) == 0
    script = capsys.readouterr().out
    assert "complete -F _wharf wharf" in script
    assert "--publish" in script and '"volume ls")' in script
    if shell == "bash":
        checked = subprocess.run(["bash", "-n"], input=script, capture_output=True, text=True)
        assert checked.returncode == 0, checked.stderr
