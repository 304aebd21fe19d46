"""Finding containers by full id, unique id prefix or name; reserving names."""

from __future__ import annotations

import re

from wharf import errdefs
from wharf.daemon.backend.record import ContainerRecord

VALID_NAME = re.compile(r"^/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$")


def validate_name(name: str) -> str:
    """The name with its leading slash; InvalidArgument with Docker's message if malformed."""
    if not VALID_NAME.match(name):
        raise errdefs.InvalidArgument(
            f"Invalid container name ({name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"
        )
    return name if name.startswith("/") else "/" + name


class ContainerIndex:
    def __init__(self) -> None:
        self._by_id: dict[str, ContainerRecord] = {}
        self._names: dict[str, str] = {}

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(list(self._by_id.values()))

    def __len__(self) -> int:
        return len(self._by_id)

    def reserve_name(self, name: str, container_id: str) -> None:
        holder = self._names.get(name)
        if holder is not None and holder != container_id:
            raise errdefs.Conflict(
                f'Conflict. The container name "{name}" is already in use by container "{holder}". '
                "You have to remove (or rename) that container to be able to reuse that name."
            )
        self._names[name] = container_id

    def release_name(self, name: str) -> None:
        self._names.pop(name, None)

    def add(self, record: ContainerRecord) -> None:
        self._by_id[record.id] = record
        self._names[record.name] = record.id

    def remove(self, record: ContainerRecord) -> None:
        self._by_id.pop(record.id, None)
        if self._names.get(record.name) == record.id:
            del self._names[record.name]

    def get(self, ref: str) -> ContainerRecord:
        """By full id, then exact name, then unique id prefix (Docker's order)."""
        if not ref:
            raise errdefs.NotFound("No such container: ")
        record = self._by_id.get(ref)
        if record is not None:
            return record
        holder = self._names.get(ref if ref.startswith("/") else "/" + ref)
        if holder is not None and holder in self._by_id:
            return self._by_id[holder]
        matches = [r for cid, r in self._by_id.items() if cid.startswith(ref)]
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            raise errdefs.InvalidArgument(f"multiple IDs found with provided prefix: {ref}")
        raise errdefs.NotFound(f"No such container: {ref}")
