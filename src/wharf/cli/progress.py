"""Showing a JSON-message stream (pull, push, build, load, import) as the docker CLI does.

On a terminal every layer id has its own line, rewritten in place with a progress bar; otherwise
each status is printed once, without the progress updates.
"""

from __future__ import annotations

import sys

from wharf import errdefs

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import Any


class StreamError(errdefs.WharfError):
    """An error message inside a stream (the HTTP status was already 200)."""


def _bar(detail: dict[str, Any]) -> str:
    from wharf.cli.output import human_size

    current, total = detail.get("current") or 0, detail.get("total") or 0
    if total <= 0:
        return human_size(current, 3) if current else ""
    width = 50
    filled = min(width, int(width * current / total))
    arrow = "=" * max(filled - 1, 0) + (">" if filled < width else "=")
    return f"[{arrow.ljust(width)}] {human_size(current, 3)}/{human_size(total, 3)}"


def show(messages: Iterable[dict[str, Any]], quiet: bool = False, out: Any = None) -> dict[str, Any]:
    """Print the stream; return the `aux` of the last message that had one; raise its error."""
    out = out or sys.stdout
    terminal = out.isatty() and not quiet
    lines: dict[str, int] = {}  # layer id → line index from the top of our block
    total_lines = 0
    aux: dict[str, Any] = {}
    for message in messages:
        if message.get("aux"):
            aux = message["aux"]
        error = message.get("error") or (message.get("errorDetail") or {}).get("message")
        if error:
            out.flush()
            raise StreamError(error)
        if quiet:
            continue
        if "stream" in message:
            out.write(message["stream"])
            out.flush()
            continue
        status = message.get("status")
        if not status:
            continue
        layer = message.get("id")
        detail = message.get("progressDetail") or {}
        text = f"{layer}: {status}" if layer else status
        if terminal and layer:
            bar = message.get("progress") or _bar(detail) if detail else ""
            if bar:
                text += " " + bar
            if layer not in lines:
                lines[layer] = total_lines
                total_lines += 1
                out.write(text + "\n")
            else:
                up = total_lines - lines[layer]
                out.write(f"\x1b[{up}A\r\x1b[2K{text}\x1b[{up}B\r")
            out.flush()
            continue
        if detail and (detail.get("current") or detail.get("total")):
            continue  # progress updates are for terminals only
        out.write(text + "\n")
        if terminal:
            total_lines += 1
        out.flush()
    return aux
