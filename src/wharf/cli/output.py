"""Tables, sizes and durations as the docker CLI prints them."""

from __future__ import annotations

import sys
import time

from wharf.api.units import human_duration, human_size  # noqa: F401  (re-exported for the CLI's modules)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence


def tabwrite(lines: Sequence[str], min_width: int = 10, padding: int = 3) -> str:
    """Go's text/tabwriter as docker configures it (minwidth 10, padding 3): tab-terminated cells
    are aligned in columns; the last cell of a line is not padded."""
    rows = [line.split("\t") for line in lines]
    widths: list[int] = []
    for cells in rows:
        for index, cell in enumerate(cells[:-1]):
            width = max(min_width, len(cell) + padding)
            if index == len(widths):
                widths.append(width)
            else:
                widths[index] = max(widths[index], width)
    out = []
    for cells in rows:
        out.append("".join(cell.ljust(widths[i]) for i, cell in enumerate(cells[:-1])) + cells[-1])
    return "".join(line + "\n" for line in out)


def print_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    sys.stdout.write(tabwrite(["\t".join(row) for row in [headers, *rows]]))


def ago(unix_seconds: float) -> str:
    return human_duration(time.time() - unix_seconds) + " ago"


def bytes_size(size: float) -> str:
    """Binary units, like go-units' BytesSize (stats' memory columns): '1.5MiB'."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if size < 1024:
            return f"{size:.4g}{unit}"
        size /= 1024
    return f"{size:.4g}EiB"


def parse_bytes(text: str) -> int:
    """'64m', '1g', '512k', '100' (bytes) → bytes, binary units as docker's RAMInBytes."""
    units = {"b": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}
    cleaned = text.strip().lower().removesuffix("ib").removesuffix("b") or "0"
    if text.strip().lower().endswith("b") and cleaned[-1:].isdigit():
        return int(float(cleaned))
    if cleaned[-1:] in units:
        return int(float(cleaned[:-1]) * units[cleaned[-1]])
    try:
        return int(float(cleaned))
    except ValueError:
        from wharf import errdefs

        raise errdefs.InvalidArgument(f"invalid size: '{text}'") from None


def go_time(unix_seconds: float) -> str:
    """Go's time.Time.String() in local time: '2024-01-02 15:04:05 +0000 UTC'."""
    moment = time.localtime(unix_seconds)
    offset = moment.tm_gmtoff or 0
    sign = "+" if offset >= 0 else "-"
    zone = f"{sign}{abs(offset) // 3600:02d}{abs(offset) % 3600 // 60:02d}"
    return time.strftime("%Y-%m-%d %H:%M:%S", moment) + f" {zone} {moment.tm_zone}"


def parse_rfc3339(text: str) -> float:
    """'2024-01-02T15:04:05.123456789Z' (or with an offset) → unix seconds."""
    import calendar

    if not text or text.startswith("0001-"):
        return 0.0
    main, _, rest = text.partition(".")
    fraction, offset = "", 0
    if rest:
        digits = ""
        for position, char in enumerate(rest):
            if not char.isdigit():
                fraction, tail = digits, rest[position:]
                break
            digits += char
        else:
            fraction, tail = digits, ""
    else:
        tail = ""
        for marker in ("Z", "+", "-"):
            cut = main.find(marker, 19) if marker != "Z" else main.find("Z")
            if cut >= 0:
                main, tail = main[:cut], main[cut:]
                break
    if tail and tail != "Z":
        sign = 1 if tail[0] == "+" else -1
        hours, _, minutes = tail[1:].partition(":")
        offset = sign * (int(hours) * 3600 + int(minutes or 0) * 60)
    seconds = calendar.timegm(time.strptime(main[:19], "%Y-%m-%dT%H:%M:%S"))
    return seconds - offset + (float("0." + fraction) if fraction else 0.0)


def ellipsis(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def go_quote(text: str) -> str:
    """strconv.Quote: double quotes, backslash escapes, printable unicode kept."""
    out = ['"']
    for char in text:
        if char in '"\\':
            out.append("\\" + char)
        elif char == "\n":
            out.append("\\n")
        elif char == "\t":
            out.append("\\t")
        elif char == "\r":
            out.append("\\r")
        elif not char.isprintable():
            out.append(f"\\x{ord(char):02x}" if ord(char) < 0x80 else f"\\u{ord(char):04x}")
        else:
            out.append(char)
    out.append('"')
    return "".join(out)
