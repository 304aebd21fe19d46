"""A container's state as the Engine API reports it."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from wharf.api.units import human_duration
from wharf.daemon.backend.timefmt import now_ns, parse_rfc3339, rfc3339nano


class Status(enum.StrEnum):
    CREATED = "created"
    RUNNING = "running"
    PAUSED = "paused"
    RESTARTING = "restarting"
    REMOVING = "removing"
    EXITED = "exited"
    DEAD = "dead"


@dataclass
class ContainerState:
    status: Status = Status.CREATED
    pid: int = 0
    exit_code: int = 0
    error: str = ""
    oom_killed: bool = False
    started_at: int = 0
    finished_at: int = 0
    health: dict[str, Any] | None = None
    """Docker's State.Health ({Status, FailingStreak, Log}) of a container with a health check."""

    @property
    def running(self) -> bool:
        return self.status in (Status.RUNNING, Status.PAUSED, Status.RESTARTING)

    def set_running(self, pid: int) -> None:
        self.status = Status.RUNNING
        self.pid = pid
        self.exit_code = 0
        self.error = ""
        self.oom_killed = False
        self.started_at = now_ns()
        self.finished_at = 0

    def set_exited(self, exit_code: int, finished_at: int, error: str = "") -> None:
        self.status = Status.EXITED
        self.pid = 0
        self.exit_code = exit_code
        self.error = error
        self.finished_at = finished_at or now_ns()

    def describe(self) -> str:
        """`docker ps`'s STATUS column."""
        now = now_ns()
        if self.status in (Status.RUNNING, Status.PAUSED):
            text = "Up " + human_duration((now - self.started_at) / 1e9)
            if self.status is Status.PAUSED:
                return text + " (Paused)"
            health = (self.health or {}).get("Status", "none")
            if health in ("healthy", "unhealthy"):
                return f"{text} ({health})"
            return f"{text} (health: starting)" if health == "starting" else text
        if self.status is Status.RESTARTING:
            return f"Restarting ({self.exit_code}) {human_duration((now - self.finished_at) / 1e9)} ago"
        if self.status is Status.REMOVING:
            return "Removal In Progress"
        if self.status is Status.DEAD:
            return "Dead"
        if self.status is Status.EXITED:
            if not self.finished_at:
                return f"Exited ({self.exit_code})"
            return f"Exited ({self.exit_code}) {human_duration((now - self.finished_at) / 1e9)} ago"
        return "Created"

    def to_api(self) -> dict[str, Any]:
        return {
            "Status": str(self.status),
            "Running": self.running,
            "Paused": self.status is Status.PAUSED,
            "Restarting": self.status is Status.RESTARTING,
            "OOMKilled": self.oom_killed,
            "Dead": self.status is Status.DEAD,
            "Pid": self.pid,
            "ExitCode": self.exit_code,
            "Error": self.error,
            "StartedAt": rfc3339nano(self.started_at),
            "FinishedAt": rfc3339nano(self.finished_at),
            **({"Health": self.health} if self.health is not None else {}),
        }

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> ContainerState:
        return cls(
            status=Status(data.get("Status", "created")),
            pid=int(data.get("Pid", 0)),
            exit_code=int(data.get("ExitCode", 0)),
            error=data.get("Error", ""),
            oom_killed=bool(data.get("OOMKilled", False)),
            started_at=parse_rfc3339(data.get("StartedAt", "")),
            finished_at=parse_rfc3339(data.get("FinishedAt", "")),
            health=data.get("Health"),
        )
