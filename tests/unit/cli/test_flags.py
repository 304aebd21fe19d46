import pytest

from wharf.cli import commands
from wharf.cli.flags import HelpRequested, UsageError, parse


def run_args(*argv: str):  # noqa: ANN201
    return parse(commands.TOP_LEVEL["run"], list(argv))


def test_combined_short_flags_and_attached_values() -> None:
    args = run_args("-dit", "-p8080:80", "-p", "443:443", "--name=web", "-eA=1", "busybox", "sh", "-c", "x")
    assert (args.detach, args.interactive, args.tty) == (True, True, True)
    assert args.publish == ["8080:80", "443:443"]
    assert args.name == "web"
    assert args.env == ["A=1"]
    assert args.args == ["busybox", "sh", "-c", "x"]


def test_run_stops_at_the_image_so_the_command_keeps_its_flags() -> None:
    args = run_args("--rm", "busybox", "ls", "-la", "--name", "x")
    assert args.rm is True and args.name is None
    assert args.args == ["busybox", "ls", "-la", "--name", "x"]


def test_interspersed_flags_for_other_commands() -> None:
    args = parse(commands.TOP_LEVEL["rm"], ["a", "-f", "b"])
    assert args.force is True and args.args == ["a", "b"]


def test_bool_values_defaults_and_ints() -> None:
    args = run_args("--sig-proxy=false", "--rm=true", "--pids-limit", "10", "busybox")
    assert (args.sig_proxy, args.rm, args.pids_limit, args.restart, args.pull) == (False, True, 10, "no", "missing")
    assert parse(commands.TOP_LEVEL["ps"], []).last == -1


def test_aliases_of_long_flags() -> None:
    args = run_args("--net", "host", "--net-alias", "db", "busybox")
    assert args.network == "host" and args.network_alias == ["db"]


@pytest.mark.parametrize(("argv", "message", "status"), [
    (["--nope"], "unknown flag: --nope", 125),
    (["-Z"], "unknown shorthand flag: 'Z' in -Z", 125),
    (["-n"], "flag needs an argument: 'n' in -n", 125),
    (["-n", "x"], 'invalid argument "x" for "-n, --last" flag: strconv.ParseInt: parsing "x": invalid syntax', 125),
    (["extra"], "'wharf ps' accepts no arguments", 1),
])
def test_usage_errors(argv: list[str], message: str, status: int) -> None:
    with pytest.raises(UsageError) as caught:
        parse(commands.TOP_LEVEL["ps"], argv)
    assert (str(caught.value), caught.value.status) == (message, status)


def test_argument_counts() -> None:
    with pytest.raises(UsageError, match="'wharf rm' requires at least 1 argument"):
        parse(commands.TOP_LEVEL["rm"], [])
    with pytest.raises(UsageError, match="'wharf rename' requires 2 arguments"):
        parse(commands.TOP_LEVEL["rename"], ["a"])


def test_help_flags() -> None:
    with pytest.raises(HelpRequested):
        parse(commands.TOP_LEVEL["ps"], ["--help"])
    with pytest.raises(HelpRequested):
        parse(commands.TOP_LEVEL["ps"], ["-h"])
    # run's -h is --hostname
    assert run_args("-h", "box", "busybox").hostname == "box"


def test_group_commands_and_aliases() -> None:
    assert commands.find(["container", "ls"])[0] is commands.TOP_LEVEL["ps"]
    assert commands.find(["image", "rm"])[0] is commands.TOP_LEVEL["rmi"]
    assert commands.find(["volume", "list"])[0] is commands.find(["volume", "ls"])[0]
    assert commands.find(["nosuch"]) == (None, 1)
    assert commands.find(["volume", "nosuch"]) == (None, 1)


def test_every_handler_exists() -> None:
    from importlib import import_module

    for command in {**commands.TOP_LEVEL, **commands.GROUPED}.values():
        module, _, function = command.handler.partition(":")
        assert callable(getattr(import_module(f"wharf.cli.{module}"), function)), command.handler


def test_no_command_has_a_flag_twice() -> None:
    for command in {**commands.TOP_LEVEL, **commands.GROUPED}.values():
        names = [name for flag in command.flags for name in flag.names.split()]
        assert len(names) == len(set(names)), (command.path, names)
