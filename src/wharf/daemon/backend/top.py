"""`docker top`: the host's `ps`, its rows kept to the container's processes (as Docker does)."""

from __future__ import annotations

import asyncio
import shlex
from typing import Any

from wharf import errdefs

PS_TIMEOUT = 10.0


def parse_ps_output(output: str, pids: set[int]) -> dict[str, Any]:
    """Titles from the header line; a row per process of `pids`, the last column taking the rest of
    the line (a command with spaces)."""
    lines = [line for line in output.splitlines() if line.strip()]
    if not lines:
        raise errdefs.System("ps printed nothing")
    titles = lines[0].split()
    try:
        pid_column = titles.index("PID")
    except ValueError:
        raise errdefs.InvalidArgument("Couldn't find PID field in ps output") from None
    processes = []
    for line in lines[1:]:
        fields = line.split(None, len(titles) - 1)
        if len(fields) < len(titles):
            continue
        try:
            pid = int(fields[pid_column])
        except ValueError:
            continue
        if pid in pids:
            processes.append(fields)
    return {"Titles": titles, "Processes": processes}


async def top(pids: list[int], ps_args: str) -> dict[str, Any]:
    args = shlex.split(ps_args or "-ef")
    try:
        process = await asyncio.create_subprocess_exec(
            "ps", *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            stdin=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        out, err = await asyncio.wait_for(process.communicate(), PS_TIMEOUT)
    except (OSError, TimeoutError) as error:
        raise errdefs.System(f"running ps: {error}") from error
    if process.returncode != 0:
        raise errdefs.System(f"ps: {err.decode(errors='replace').strip()}")
    return parse_ps_output(out.decode(errors="replace"), set(pids))
