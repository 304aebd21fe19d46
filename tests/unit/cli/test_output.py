import pytest

from wharf.cli.output import human_duration, human_size, print_table


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


def test_table_columns_are_padded(capsys: pytest.CaptureFixture[str]) -> None:
    print_table(["A", "LONGER"], [["value", "x"], ["v", "yy"]])
    assert capsys.readouterr().out == "A       LONGER\nvalue   x\nv       yy\n"
