import pytest

from wharf.cli.formatters import ContainerContext, display_ports, image_rows
from wharf.cli.output import (
    ellipsis,
    go_quote,
    human_duration,
    human_size,
    parse_bytes,
    print_table,
    tabwrite,
)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0.2, "Less than a second"), (1, "1 second"), (42, "42 seconds"), (61, "About a minute"),
     (600, "10 minutes"), (3600, "About an hour"), (7200, "2 hours"), (3 * 86400, "3 days")],
)
def test_durations_read_like_dockers(seconds: float, text: str) -> None:
    assert human_duration(seconds) == text


@pytest.mark.parametrize(("size", "text"), [(0, "0B"), (999, "999B"), (4_261_412, "4.261MB"), (2_000_000_000, "2GB")])
def test_sizes_use_decimal_units(size: int, text: str) -> None:
    assert human_size(size) == text


def test_table_sizes_use_three_digits() -> None:
    assert human_size(4_261_412, 3) == "4.26MB"


def test_tabwriter_pads_like_dockers() -> None:
    # minwidth 10, padding 3; the last cell is not padded
    assert tabwrite(["A\tLONGER\tend", "value-long\tx\ty"]) == "A            LONGER    end\nvalue-long   x         y\n"


def test_print_table(capsys: pytest.CaptureFixture[str]) -> None:
    print_table(["A", "LONGER"], [["value", "x"], ["v", "yy"]])
    assert capsys.readouterr().out == "A         LONGER\nvalue     x\nv         yy\n"


@pytest.mark.parametrize(("text", "size"), [("64m", 64 << 20), ("1g", 1 << 30), ("512k", 512 << 10), ("100", 100),
                                            ("2GiB", 2 << 30), ("10b", 10)])
def test_parse_bytes(text: str, size: int) -> None:
    assert parse_bytes(text) == size


def test_command_column_is_quoted_and_truncated() -> None:
    context = ContainerContext({"Id": "f" * 64, "Command": "sh -c 'echo a long command line'", "Names": ["/x"]})
    assert context.Command == go_quote(ellipsis("sh -c 'echo a long command line'", 20))
    assert context.Command == '"sh -c \'echo a long …"'
    assert context.ID == "f" * 12 and context.Names == "x"


def test_ports_display() -> None:
    ports = [{"PrivatePort": 80, "PublicPort": 8080, "IP": "0.0.0.0", "Type": "tcp"},
             {"PrivatePort": 443, "Type": "tcp"}, {"PrivatePort": 53, "PublicPort": 53, "IP": "::", "Type": "udp"}]
    assert display_ports(ports) == "0.0.0.0:8080->80/tcp, 443/tcp, [::]:53->53/udp"


def test_image_rows_one_per_tag() -> None:
    image = {"Id": "sha256:" + "a" * 64, "RepoTags": ["busybox:latest", "localhost:5000/bb:1"], "RepoDigests": [],
             "Created": 0, "Size": 2_000_000}
    rows = image_rows([image], trunc=True, digests=False)
    assert [(r.Repository, r.Tag, r.ID) for r in rows] == [("busybox", "latest", "a" * 12),
                                                           ("localhost:5000/bb", "1", "a" * 12)]
    untagged = image_rows([{**image, "RepoTags": []}], trunc=False, digests=False)
    assert (untagged[0].Repository, untagged[0].Tag, untagged[0].ID) == ("<none>", "<none>", image["Id"])
