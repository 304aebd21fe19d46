"""The docker CLI's list formatters: the fields `--format` templates see, and the default tables.

Each context wraps one API object and exposes docker's field names (ID, Image, Command, RunningFor,
…) as properties; `write_list` renders `table …`, `json`, a plain template or the default table.
"""

from __future__ import annotations

import sys

from wharf.cli import output
from wharf.cli.gotemplate import Template, TemplateError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any


class Context:
    """Base of the contexts: `headers` names each field's column; `to_json` is `{{json .}}`."""

    headers: dict[str, str] = {}
    fields: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in sorted(self.fields)}


def _labels_text(labels: dict[str, str] | None) -> str:
    return ",".join(f"{k}={v}" for k, v in (labels or {}).items())


class ContainerContext(Context):
    headers = {"ID": "CONTAINER ID", "Image": "IMAGE", "Command": "COMMAND", "CreatedAt": "CREATED AT",
               "RunningFor": "CREATED", "Ports": "PORTS", "State": "STATE", "Status": "STATUS", "Size": "SIZE",
               "Names": "NAMES", "Labels": "LABELS", "Mounts": "MOUNTS", "Networks": "NETWORKS",
               "LocalVolumes": "LOCAL VOLUMES", "Platform": "PLATFORM"}
    fields = ("Command", "CreatedAt", "ID", "Image", "Labels", "LocalVolumes", "Mounts", "Names", "Networks",
              "Platform", "Ports", "RunningFor", "Size", "State", "Status")

    def __init__(self, container: dict[str, Any], trunc: bool = True) -> None:
        self.c, self.trunc = container, trunc

    @property
    def ID(self) -> str:  # noqa: N802 - docker's template field names
        return self.c["Id"][:12] if self.trunc else self.c["Id"]

    @property
    def Names(self) -> str:  # noqa: N802
        names = [name[1:] if name.startswith("/") else name for name in self.c.get("Names") or []]
        if self.trunc:  # links (/other/alias) only with --no-trunc
            names = [name for name in names if "/" not in name]
        return ",".join(names)

    @property
    def Image(self) -> str:  # noqa: N802
        image = self.c.get("Image") or "<no image>"
        if self.trunc and image.startswith("sha256:"):
            return image[7:19]
        if self.trunc and "@sha256:" in image:
            return image.split("@")[0]
        return image

    @property
    def Command(self) -> str:  # noqa: N802
        command = self.c.get("Command") or ""
        return output.go_quote(output.ellipsis(command, 20) if self.trunc else command)

    @property
    def CreatedAt(self) -> str:  # noqa: N802
        return output.go_time(self.c.get("Created", 0))

    @property
    def RunningFor(self) -> str:  # noqa: N802
        return output.ago(self.c.get("Created", 0))

    @property
    def Ports(self) -> str:  # noqa: N802
        return display_ports(self.c.get("Ports") or [])

    @property
    def State(self) -> str:  # noqa: N802
        return str(self.c.get("State") or "")

    @property
    def Status(self) -> str:  # noqa: N802
        return str(self.c.get("Status") or "")

    @property
    def Size(self) -> str:  # noqa: N802
        rw, rootfs = self.c.get("SizeRw") or 0, self.c.get("SizeRootFs") or 0
        text = output.human_size(rw, 3)
        return f"{text} (virtual {output.human_size(rootfs, 3)})" if rootfs else text

    @property
    def Labels(self) -> str:  # noqa: N802
        return _labels_text(self.c.get("Labels"))

    def Label(self, name: str) -> str:  # noqa: N802
        return str((self.c.get("Labels") or {}).get(name, ""))

    @property
    def Mounts(self) -> str:  # noqa: N802
        names = []
        for mount in self.c.get("Mounts") or []:
            name = mount.get("Name") or mount.get("Source") or ""
            names.append(output.ellipsis(name, 15) if self.trunc else name)
        return ",".join(names)

    @property
    def LocalVolumes(self) -> str:  # noqa: N802
        return str(sum(1 for m in self.c.get("Mounts") or [] if m.get("Driver") == "local"))

    @property
    def Networks(self) -> str:  # noqa: N802
        return ",".join(sorted(((self.c.get("NetworkSettings") or {}).get("Networks") or {}).keys()))

    @property
    def Platform(self) -> None:  # noqa: N802 - docker's is a nil pointer without containerd's image store
        return None


def display_ports(ports: list[dict[str, Any]]) -> str:
    """docker's DisplayablePorts: '0.0.0.0:8080->80/tcp, 443/tcp', consecutive ports as ranges."""
    rendered = []
    for port in sorted(ports, key=lambda p: (p.get("Type", ""), p.get("PrivatePort", 0), p.get("IP", ""))):
        private, kind = port.get("PrivatePort"), port.get("Type", "tcp")
        if port.get("PublicPort"):
            ip = port.get("IP") or "0.0.0.0"
            host = f"[{ip}]" if ":" in ip else ip
            rendered.append(f"{host}:{port['PublicPort']}->{private}/{kind}")
        else:
            rendered.append(f"{private}/{kind}")
    return ", ".join(dict.fromkeys(rendered))


class ImageContext(Context):
    headers = {"ID": "IMAGE ID", "Repository": "REPOSITORY", "Tag": "TAG", "Digest": "DIGEST",
               "CreatedSince": "CREATED", "CreatedAt": "CREATED AT", "Size": "SIZE", "Containers": "CONTAINERS",
               "SharedSize": "SHARED SIZE", "UniqueSize": "UNIQUE SIZE", "VirtualSize": "VIRTUAL SIZE"}
    fields = ("Containers", "CreatedAt", "CreatedSince", "Digest", "ID", "Repository", "SharedSize", "Size",
              "Tag", "UniqueSize", "VirtualSize")

    def __init__(self, image: dict[str, Any], repository: str, tag: str, digest: str, trunc: bool = True) -> None:
        self.i, self.Repository, self.Tag, self.Digest, self.trunc = image, repository, tag, digest, trunc

    @property
    def ID(self) -> str:  # noqa: N802
        image_id = self.i.get("Id", "")
        return image_id.removeprefix("sha256:")[:12] if self.trunc else image_id

    @property
    def CreatedSince(self) -> str:  # noqa: N802
        created = self.i.get("Created", 0)
        return output.ago(created) if created > 0 else "N/A"

    @property
    def CreatedAt(self) -> str:  # noqa: N802
        return output.go_time(self.i.get("Created", 0))

    @property
    def Size(self) -> str:  # noqa: N802
        return output.human_size(self.i.get("Size", 0), 3)

    VirtualSize = Size

    @property
    def Containers(self) -> str:  # noqa: N802
        count = self.i.get("Containers", -1)
        return "N/A" if count is None or count < 0 else str(count)

    @property
    def SharedSize(self) -> str:  # noqa: N802
        size = self.i.get("SharedSize", -1)
        return "N/A" if size is None or size < 0 else output.human_size(size, 3)

    @property
    def UniqueSize(self) -> str:  # noqa: N802
        shared = self.i.get("SharedSize", -1)
        return "N/A" if shared is None or shared < 0 else output.human_size(self.i.get("Size", 0) - shared, 3)


def _familiar(name: str) -> str:
    for prefix in ("docker.io/library/", "docker.io/"):
        if name.startswith(prefix) and (prefix == "docker.io/library/" or "/" in name[len(prefix):]):
            return name[len(prefix):]
    return name


def image_rows(images: list[dict[str, Any]], trunc: bool, digests: bool) -> list[ImageContext]:
    """docker's rows: one per repository:tag (× digest with --digests), then one per digest-only
    repository; an image with neither is one <none> row."""
    rows = []
    for image in images:
        tags = [t for t in image.get("RepoTags") or [] if t != "<none>:<none>"]
        digest_refs = [d for d in image.get("RepoDigests") or [] if d != "<none>@<none>"]
        if not tags and not digest_refs:
            rows.append(ImageContext(image, "<none>", "<none>", "<none>", trunc))
            continue
        tags_by_repo: dict[str, list[str]] = {}
        for reference in tags:
            repository, sep, tag = reference.rpartition(":")
            if not sep or "/" in tag:
                continue
            tags_by_repo.setdefault(_familiar(repository), []).append(tag)
        digests_by_repo: dict[str, list[str]] = {}
        for reference in digest_refs:
            repository, _, digest = reference.partition("@")
            digests_by_repo.setdefault(_familiar(repository), []).append(digest)
        for repository, repo_tags in tags_by_repo.items():
            repo_digests = digests_by_repo.pop(repository, [])
            for tag in repo_tags:
                for digest in (repo_digests if digests and repo_digests else ["<none>"]):
                    rows.append(ImageContext(image, repository, tag, digest, trunc))
        for repository, repo_digests in digests_by_repo.items():
            for digest in repo_digests:
                rows.append(ImageContext(image, repository, "<none>", digest, trunc))
    return rows


class VolumeContext(Context):
    headers = {"Name": "VOLUME NAME", "Driver": "DRIVER", "Scope": "SCOPE", "Mountpoint": "MOUNTPOINT",
               "Labels": "LABELS", "Links": "LINKS", "Size": "SIZE", "Availability": "AVAILABILITY",
               "Group": "GROUP", "Status": "STATUS"}
    fields = ("Availability", "Driver", "Group", "Labels", "Links", "Mountpoint", "Name", "Scope", "Size",
              "Status")

    def __init__(self, volume: dict[str, Any]) -> None:
        self.v = volume

    Name = property(lambda self: self.v.get("Name", ""))
    Driver = property(lambda self: self.v.get("Driver", ""))
    Scope = property(lambda self: self.v.get("Scope", "local"))
    Mountpoint = property(lambda self: self.v.get("Mountpoint", ""))
    Labels = property(lambda self: _labels_text(self.v.get("Labels")))
    Availability = property(lambda self: "N/A")
    Group = property(lambda self: "N/A")
    Status = property(lambda self: "N/A")

    def Label(self, name: str) -> str:  # noqa: N802
        return str((self.v.get("Labels") or {}).get(name, ""))

    @property
    def Links(self) -> str:  # noqa: N802
        usage = self.v.get("UsageData") or {}
        return str(usage.get("RefCount")) if usage.get("RefCount", -1) >= 0 else "N/A"

    @property
    def Size(self) -> str:  # noqa: N802
        usage = self.v.get("UsageData") or {}
        return output.human_size(usage["Size"], 3) if usage.get("Size", -1) >= 0 else "N/A"


class NetworkContext(Context):
    headers = {"ID": "NETWORK ID", "Name": "NAME", "Driver": "DRIVER", "Scope": "SCOPE", "IPv4": "IPV4",
               "IPv6": "IPV6", "Internal": "INTERNAL", "Labels": "LABELS", "CreatedAt": "CREATED AT"}
    fields = ("CreatedAt", "Driver", "ID", "IPv4", "IPv6", "Internal", "Labels", "Name", "Scope")

    def __init__(self, network: dict[str, Any], trunc: bool = True) -> None:
        self.n, self.trunc = network, trunc

    @property
    def ID(self) -> str:  # noqa: N802
        return self.n.get("Id", "")[:12] if self.trunc else self.n.get("Id", "")

    Name = property(lambda self: self.n.get("Name", ""))
    Driver = property(lambda self: self.n.get("Driver", ""))
    Scope = property(lambda self: self.n.get("Scope", "local"))
    IPv4 = property(lambda self: "true" if self.n.get("EnableIPv4", True) else "false")
    IPv6 = property(lambda self: "true" if self.n.get("EnableIPv6") else "false")
    Internal = property(lambda self: "true" if self.n.get("Internal") else "false")
    Labels = property(lambda self: _labels_text(self.n.get("Labels")))
    CreatedAt = property(lambda self: output.go_time(output.parse_rfc3339(self.n.get("Created", ""))))

    def Label(self, name: str) -> str:  # noqa: N802
        return str((self.n.get("Labels") or {}).get(name, ""))


class _HeaderRow(dict):  # type: ignore[type-arg]
    """What a `table` template renders its header from: each field's column title."""

    def get(self, key: str, default: Any = None) -> Any:
        return dict.get(self, key, key.upper())


def write_list(items: Sequence[Context], fmt: str | None, default: str, quiet_field: str | None = None,
               headers: dict[str, str] | None = None) -> None:
    """Print items with `--format` (or `default` when none): `table …` aligns columns under headers,
    `json` is one JSON object per line, anything else is a template per item."""
    if quiet_field:
        fmt = "{{." + quiet_field + "}}"
    elif not fmt or fmt == "table":
        fmt = default
    elif fmt == "json":
        fmt = "{{json .}}"
    table = fmt.startswith("table")
    template = template_or_error(fmt[5:].strip(" ") if table else fmt)
    lines = []
    if table:
        names = headers if headers is not None else (type(items[0]).headers if items else {})
        lines.append(_render(template, _HeaderRow(names)))
    for item in items:
        lines.append(_render(template, item))
    if table:
        sys.stdout.write(output.tabwrite(lines))
    else:
        sys.stdout.write("".join(line + "\n" for line in lines))


def _render(template: Template, data: Any) -> str:
    try:
        return template.render(data)
    except TemplateError as err:
        from wharf import errdefs

        raise errdefs.InvalidArgument(f"template: {err}") from None


def template_or_error(source: str) -> Template:
    from wharf import errdefs

    try:
        return Template(source.replace("\\t", "\t").replace("\\n", "\n"))
    except TemplateError as err:
        raise errdefs.InvalidArgument(f"template parsing error: {err}") from None
