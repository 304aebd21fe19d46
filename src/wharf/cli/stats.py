"""`stats`: resource usage, once (--no-stream) or redrawn every second, with docker's columns."""

from __future__ import annotations

import sys
import threading
import time

from wharf.cli.output import bytes_size, human_size
from wharf.client.engine import quote_ref

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from wharf.cli.flags import Args
    from wharf.client import EngineClient

STATS_TABLE = ("table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}"
               "\t{{.PIDs}}")


class StatsContext:
    headers = {"ID": "CONTAINER ID", "Container": "CONTAINER", "Name": "NAME", "CPUPerc": "CPU %",
               "MemUsage": "MEM USAGE / LIMIT", "MemPerc": "MEM %", "NetIO": "NET I/O", "BlockIO": "BLOCK I/O",
               "PIDs": "PIDS"}
    fields = ("BlockIO", "CPUPerc", "Container", "ID", "MemPerc", "MemUsage", "Name", "NetIO", "PIDs")

    def __init__(self, ref: str, stats: dict[str, Any], trunc: bool = True) -> None:
        self.ref, self.s, self.trunc = ref, stats, trunc

    def to_json(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.fields}

    Container = property(lambda self: self.ref)

    @property
    def ID(self) -> str:  # noqa: N802
        container_id = self.s.get("id", "")
        return container_id[:12] if self.trunc else container_id

    @property
    def Name(self) -> str:  # noqa: N802
        name = self.s.get("name") or ""
        return name[1:] if name.startswith("/") else name or "--"

    @property
    def CPUPerc(self) -> str:  # noqa: N802
        cpu, previous = self.s.get("cpu_stats") or {}, self.s.get("precpu_stats") or {}
        cpu_delta = (cpu.get("cpu_usage") or {}).get("total_usage", 0) - \
            (previous.get("cpu_usage") or {}).get("total_usage", 0)
        system_delta = (cpu.get("system_cpu_usage") or 0) - (previous.get("system_cpu_usage") or 0)
        online = cpu.get("online_cpus") or len((cpu.get("cpu_usage") or {}).get("percpu_usage") or []) or 1
        percent = cpu_delta / system_delta * online * 100 if system_delta > 0 and cpu_delta > 0 else 0.0
        return f"{percent:.2f}%"

    def _memory(self) -> tuple[float, float]:
        memory = self.s.get("memory_stats") or {}
        usage, details = memory.get("usage") or 0, memory.get("stats") or {}
        inactive = details.get("total_inactive_file", details.get("inactive_file", 0)) or 0
        return (usage - inactive if inactive < usage else usage), memory.get("limit") or 0

    @property
    def MemUsage(self) -> str:  # noqa: N802
        used, limit = self._memory()
        return f"{bytes_size(used)} / {bytes_size(limit)}"

    @property
    def MemPerc(self) -> str:  # noqa: N802
        used, limit = self._memory()
        return f"{used / limit * 100 if limit else 0:.2f}%"

    @property
    def NetIO(self) -> str:  # noqa: N802
        networks = (self.s.get("networks") or {}).values()
        received = sum(n.get("rx_bytes", 0) for n in networks)
        sent = sum(n.get("tx_bytes", 0) for n in networks)
        return f"{human_size(received, 3)} / {human_size(sent, 3)}"

    @property
    def BlockIO(self) -> str:  # noqa: N802
        entries = (self.s.get("blkio_stats") or {}).get("io_service_bytes_recursive") or []
        read = sum(e.get("value", 0) for e in entries if str(e.get("op", "")).lower() == "read")
        write = sum(e.get("value", 0) for e in entries if str(e.get("op", "")).lower() == "write")
        return f"{human_size(read, 3)} / {human_size(write, 3)}"

    @property
    def PIDs(self) -> str:  # noqa: N802
        return str((self.s.get("pids_stats") or {}).get("current", 0))


def _targets(client: EngineClient, args: Args) -> list[str]:
    if args.args:
        return list(args.args)
    return [c["Id"][:12] for c in client.call("GET", "/containers/json", {"all": args.all}) or []]


def stats(client: EngineClient, args: Args) -> int:
    from wharf.cli.formatters import write_list

    targets = _targets(client, args)
    if args.no_stream:
        rows = []
        for ref in targets:
            # one-shot with the previous sample filled in, so CPU % is meaningful
            sample = client.call("GET", f"/containers/{quote_ref(ref)}/stats", {"stream": False}) or {}
            rows.append(StatsContext(ref, sample, not args.no_trunc))
        write_list(rows, args.format, STATS_TABLE, headers=StatsContext.headers)  # type: ignore[arg-type]
        return 0
    latest: dict[str, dict[str, Any]] = {}

    def follow(ref: str) -> None:
        try:
            for sample in client.stream_json("GET", f"/containers/{quote_ref(ref)}/stats", {"stream": True}):
                latest[ref] = sample
        except Exception:  # noqa: BLE001 - a container that went away leaves the table
            latest.pop(ref, None)

    for ref in targets:
        threading.Thread(target=follow, args=(ref,), daemon=True).start()
    terminal = sys.stdout.isatty()
    while True:
        time.sleep(1)
        rows = [StatsContext(ref, latest[ref], not args.no_trunc) for ref in targets if ref in latest]
        if terminal:
            sys.stdout.write("\x1b[2J\x1b[H")
        write_list(rows, args.format, STATS_TABLE, headers=StatsContext.headers)  # type: ignore[arg-type]
        sys.stdout.flush()
