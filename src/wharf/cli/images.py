"""Image commands: images, import, rmi, tag, pull."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from wharf.cli.output import ago, human_size, print_table
from wharf.client import APIError, EngineClient
from wharf.client.engine import quote_ref


def add_commands(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("images", help="List images")
    parser.add_argument("-a", "--all", action="store_true")
    parser.add_argument("-q", "--quiet", action="store_true")
    parser.add_argument("--no-trunc", action="store_true")
    parser.set_defaults(func=images)

    parser = commands.add_parser("import", help="Import the contents from a tarball to create an image")
    parser.add_argument("-c", "--change", action="append", default=[])
    parser.add_argument("-m", "--message")
    parser.add_argument("file", help="a tar file, or - for standard input")
    parser.add_argument("reference", nargs="?")
    parser.set_defaults(func=import_image)

    parser = commands.add_parser("rmi", help="Remove one or more images")
    parser.add_argument("-f", "--force", action="store_true")
    parser.add_argument("images", nargs="+")
    parser.set_defaults(func=rmi)

    parser = commands.add_parser("tag", help="Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE")
    parser.add_argument("source")
    parser.add_argument("target")
    parser.set_defaults(func=tag)

    parser = commands.add_parser("pull", help="Download an image from a registry")
    parser.add_argument("image")
    parser.set_defaults(func=pull)


def images(client: EngineClient, args: argparse.Namespace) -> int:
    rows = []
    for image in client.call("GET", "/images/json", {"all": args.all}):
        image_id = image["Id"] if args.no_trunc else image["Id"].removeprefix("sha256:")[:12]
        for repo_tag in image.get("RepoTags") or ["<none>:<none>"]:
            repository, _, tag_name = repo_tag.rpartition(":")
            rows.append([repository, tag_name, image_id, ago(image["Created"]), human_size(image["Size"])])
    if args.quiet:
        for image_id in dict.fromkeys(row[2] for row in rows):
            print(image_id)
        return 0
    print_table(["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"], rows)
    return 0


def import_image(client: EngineClient, args: argparse.Namespace) -> int:
    params: dict[str, Any] = {"fromSrc": "-", "changes": args.change, "message": args.message}
    if args.reference:
        repo, _, tag_name = args.reference.rpartition(":") if ":" in args.reference.split("/")[-1] else (
            args.reference, "", "")
        params.update(repo=repo, tag=tag_name or None)
    source = sys.stdin.buffer if args.file == "-" else open(args.file, "rb")  # noqa: SIM115
    with source:
        headers = {"Content-Type": "application/x-tar", "Transfer-Encoding": "chunked"}
        for message in client.stream_json("POST", "/images/create", params, body=source, headers=headers):
            if "error" in message:
                print(f"Error response from daemon: {message['error']}", file=sys.stderr)
                return 1
            if "status" in message:
                print(message["status"])
    return 0


def rmi(client: EngineClient, args: argparse.Namespace) -> int:
    status = 0
    for ref in args.images:
        try:
            for item in client.call("DELETE", f"/images/{quote_ref(ref)}", {"force": args.force}) or []:
                for key, value in item.items():
                    print(f"{key}: {value}")
        except APIError as err:
            print(f"Error response from daemon: {err}", file=sys.stderr)
            status = 1
    return status


def tag(client: EngineClient, args: argparse.Namespace) -> int:
    repo, sep, tag_name = args.target.rpartition(":")
    if not sep or "/" in tag_name:
        repo, tag_name = args.target, "latest"
    client.call("POST", f"/images/{quote_ref(args.source)}/tag", {"repo": repo, "tag": tag_name})
    return 0


def pull(client: EngineClient, args: argparse.Namespace) -> int:
    name, _, tag_name = args.image.partition(":")
    for message in client.stream_json("POST", "/images/create", {"fromImage": name, "tag": tag_name or "latest"}):
        if "error" in message:
            print(f"Error response from daemon: {message['error']}", file=sys.stderr)
            return 1
        if "status" in message and "id" not in message:
            print(message["status"])
    return 0
