"""Image commands: images, pull, push, tag, rmi, history, save, load, import, commit, image prune."""

from __future__ import annotations

import sys

from wharf import errdefs
from wharf.cli.containers import confirm, each, filters_param, write_stream
from wharf.client.engine import quote_ref

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from wharf.cli.flags import Args
    from wharf.client import EngineClient

IMAGES_TABLE = "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
IMAGES_TABLE_DIGESTS = "table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"


def images(client: EngineClient, args: Args) -> int:
    from wharf.cli.formatters import ImageContext, image_rows, write_list

    filters = list(args.filter)
    if args.args:
        filters.append(f"reference={args.args[0]}")
    listed = client.call("GET", "/images/json", {"all": args.all, "filters": filters_param(filters),
                                                 "digests": args.digests or None}) or []
    rows = image_rows(listed, trunc=not args.no_trunc, digests=args.digests)
    default = IMAGES_TABLE_DIGESTS if args.digests else IMAGES_TABLE
    write_list(rows, args.format, default, "ID" if args.quiet else None, headers=ImageContext.headers)
    return 0


def pull(client: EngineClient, args: Args) -> int:
    from wharf.cli.run import pull_image, split_tag

    image = args.args[0]
    name, tag = split_tag(image)
    if args.all_tags:
        tag = ""
    elif "@" not in image and ":" not in image.rpartition("/")[2] and not args.quiet:
        print("Using default tag: latest")
    pull_image(client, f"{name}:{tag}" if tag else name, args.platform, args.quiet, out=sys.stdout)
    print(_canonical(f"{name}:{tag}" if tag else name))
    return 0


def _canonical(image: str) -> str:
    from wharf.oci.reference import InvalidReference, parse

    try:
        return str(parse(image))
    except InvalidReference:
        return image


def push(client: EngineClient, args: Args) -> int:
    from wharf.cli import auth, progress
    from wharf.cli.run import split_tag

    image = args.args[0]
    name, tag = split_tag(image)
    if args.all_tags:
        tag = ""
    elif ":" not in image.rpartition("/")[2] and not args.quiet:
        print("Using default tag: latest")
    stream = client.stream_json("POST", f"/images/{quote_ref(name)}/push", {"tag": tag or None,
                                                                              "platform": args.platform or None},
                                headers=auth.auth_headers(image) or {"X-Registry-Auth": "e30="})
    progress.show(stream, quiet=args.quiet)
    if args.quiet:
        print(_canonical(image))
    return 0


def tag(client: EngineClient, args: Args) -> int:
    from wharf.cli.run import split_tag

    source, target = args.args
    repo, tag_name = split_tag(target)
    client.call("POST", f"/images/{quote_ref(source)}/tag", {"repo": repo, "tag": tag_name})
    return 0


def rmi(client: EngineClient, args: Args) -> int:
    def one(ref: str) -> None:
        for item in client.call("DELETE", f"/images/{quote_ref(ref)}",
                                {"force": args.force, "noprune": args.no_prune}) or []:
            for key, value in item.items():
                print(f"{key}: {value}")

    return each(args.args, one, echo=False)


class HistoryContext:
    headers = {"ID": "IMAGE", "CreatedSince": "CREATED", "CreatedAt": "CREATED AT", "CreatedBy": "CREATED BY",
               "Size": "SIZE", "Comment": "COMMENT"}
    fields = ("Comment", "CreatedAt", "CreatedBy", "CreatedSince", "ID", "Size")

    def __init__(self, entry: dict[str, Any], trunc: bool, human: bool) -> None:
        self.e, self.trunc, self.human = entry, trunc, human

    def to_json(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.fields}

    @property
    def ID(self) -> str:  # noqa: N802
        image_id = self.e.get("Id") or "<missing>"
        if image_id.startswith("sha256:") and self.trunc:
            return image_id[7:19]
        return image_id

    @property
    def CreatedSince(self) -> str:  # noqa: N802
        from wharf.cli.output import ago, go_time

        created = self.e.get("Created", 0)
        return ago(created) if self.human else go_time(created)

    @property
    def CreatedAt(self) -> str:  # noqa: N802
        from wharf.cli.output import go_time

        return go_time(self.e.get("Created", 0))

    @property
    def CreatedBy(self) -> str:  # noqa: N802
        from wharf.cli.output import ellipsis

        text = (self.e.get("CreatedBy") or "").replace("\t", " ")
        return ellipsis(text, 45) if self.trunc else text

    @property
    def Size(self) -> str:  # noqa: N802
        from wharf.cli.output import human_size

        size = self.e.get("Size", 0)
        return human_size(size, 3) if self.human else str(size)

    @property
    def Comment(self) -> str:  # noqa: N802
        return str(self.e.get("Comment") or "")


def history(client: EngineClient, args: Args) -> int:
    from wharf.cli.formatters import write_list

    entries = client.call("GET", f"/images/{quote_ref(args.args[0])}/history") or []
    rows = [HistoryContext(entry, not args.no_trunc, args.human) for entry in entries]
    default = "table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}"
    write_list(rows, args.format, default, "ID" if args.quiet else None,  # type: ignore[arg-type]
               headers=HistoryContext.headers)
    return 0


def save(client: EngineClient, args: Args) -> int:
    if not args.output and sys.stdout.isatty():
        raise errdefs.InvalidArgument("cowardly refusing to save to a terminal. Use the -o flag or redirect")
    params: dict[str, Any] = {"names": list(args.args)}
    if args.platform:
        params["platform"] = args.platform
    write_stream(client.open("GET", "/images/get", params), args.output)
    return 0


def load(client: EngineClient, args: Args) -> int:
    from wharf.cli import progress

    if not args.input and sys.stdin.isatty():
        raise errdefs.InvalidArgument("requested load from stdin, but stdin is empty")
    source = open(args.input, "rb") if args.input else sys.stdin.buffer  # noqa: SIM115 - closed below
    try:
        stream = client.stream_json("POST", "/images/load", {"quiet": args.quiet or None}, body=source,
                                    headers={"Content-Type": "application/x-tar"})
        progress.show(stream, quiet=False)
    finally:
        if args.input:
            source.close()
    return 0


def import_image(client: EngineClient, args: Args) -> int:
    from wharf.cli import progress
    from wharf.cli.run import split_tag

    source_name = args.args[0]
    params: dict[str, Any] = {"fromSrc": "-", "changes": args.change or None, "message": args.message or None,
                              "platform": args.platform or None}
    if len(args.args) > 1:
        repo, tag_name = split_tag(args.args[1])
        params.update(repo=repo, tag=tag_name)
    if source_name.startswith(("http://", "https://")):
        params["fromSrc"] = source_name
        progress.show(client.stream_json("POST", "/images/create", params))
        return 0
    source = sys.stdin.buffer if source_name == "-" else open(source_name, "rb")  # noqa: SIM115
    try:
        stream = client.stream_json("POST", "/images/create", params, body=source,
                                    headers={"Content-Type": "application/x-tar"})
        progress.show(stream)
    finally:
        if source_name != "-":
            source.close()
    return 0


def commit(client: EngineClient, args: Args) -> int:
    from wharf.cli.run import split_tag

    params: dict[str, Any] = {"container": args.args[0], "comment": args.message or None,
                              "author": args.author or None, "changes": args.change or None,
                              "pause": args.pause}
    if len(args.args) > 1:
        repo, tag_name = split_tag(args.args[1])
        params.update(repo=repo, tag=tag_name)
    answer = client.call("POST", "/commit", params, body={}) or {}
    print(answer.get("Id", ""))
    return 0


def prune(client: EngineClient, args: Args) -> int:
    from wharf.cli.output import human_size

    warning = ("This will remove all images without at least one container associated to them." if args.all
               else "This will remove all dangling images.")
    if not confirm(warning, args.force):
        return 0
    filters = list(args.filter)
    if args.all:
        filters.append("dangling=false")
    answer = client.call("POST", "/images/prune", {"filters": filters_param(filters)}) or {}
    deleted = answer.get("ImagesDeleted") or []
    if deleted:
        print("Deleted Images:")
        for item in deleted:
            for key, value in item.items():
                print(f"{key.lower()}: {value}")
        print()
    print(f"Total reclaimed space: {human_size(answer.get('SpaceReclaimed') or 0)}")
    return 0
