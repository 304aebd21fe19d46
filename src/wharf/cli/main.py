"""`wharf`: docker-compatible commands over the Engine API of wharfd."""

from __future__ import annotations

import argparse
import sys

from wharf import errdefs
from wharf.cli import containers, images, system
from wharf.client import APIError, EngineClient


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="wharf", description="A self-sufficient runtime for containers")
    parser.add_argument("-H", "--host", help="daemon socket to connect to (unix:///run/wharf/wharf.sock)")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for group in (containers, images, system):
        group.add_commands(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    client = EngineClient(args.host)
    try:
        return int(args.func(client, args) or 0)
    except APIError as err:
        print(f"Error response from daemon: {err}", file=sys.stderr)
        return 125 if args.command in ("run", "create") else 1
    except errdefs.WharfError as err:
        print(f"wharf: {err}", file=sys.stderr)
        return 125 if args.command in ("run", "create") else 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
