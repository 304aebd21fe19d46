"""The volume verbs of the Engine API (`/volumes/...`) over the local VolumeStore, with events."""

from __future__ import annotations

from typing import Any

from wharf import errdefs
from wharf.daemon.backend.container_view import parse_filters
from wharf.daemon.backend.events import EventBus
from wharf.daemon.volume.local import Volume, VolumeStore

_LIST_FILTERS = {"dangling", "name", "label", "driver"}
_PRUNE_FILTERS = {"label", "label!", "all"}


def _label_filter(values: list[str]) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for entry in values:
        key, sep, value = entry.partition("=")
        out[key] = value if sep else None
    return out


def _truthy(values: list[str], key: str) -> bool:
    if not values:
        return False
    value = values[0].lower()
    if value not in ("true", "1", "false", "0"):
        raise errdefs.InvalidArgument(f"invalid filter '{key}={values[0]}'")
    return value in ("true", "1")


class VolumeService:
    def __init__(self, store: VolumeStore, events: EventBus) -> None:
        self.store = store
        self.events = events

    def _event(self, action: str, volume_name: str, **extra: str) -> None:
        self.events.publish("volume", action, volume_name, {"driver": "local", **extra})

    def list(self, raw_filters: dict[str, Any]) -> dict[str, Any]:
        filters = parse_filters(raw_filters)
        for key in filters:
            if key not in _LIST_FILTERS:
                raise errdefs.InvalidArgument(f"invalid filter '{key}'")
        labels = _label_filter(filters.get("label", []))
        out = []
        for volume in self.store.list():
            if filters.get("name") and not any(v in volume.name for v in filters["name"]):
                continue
            if filters.get("driver") and "local" not in filters["driver"]:
                continue
            if "dangling" in filters and filters["dangling"]:
                unused = volume.name not in self.store.references
                if _truthy(filters["dangling"], "dangling") != unused:
                    continue
            if labels and not all(k in volume.labels and (v is None or volume.labels[k] == v)
                                  for k, v in labels.items()):
                continue
            out.append(volume.inspect())
        return {"Volumes": out, "Warnings": None}  # Docker: null unless a driver warned

    def inspect(self, name: str) -> dict[str, Any]:
        return self.store.get(name).inspect()

    def create(self, body: Any) -> dict[str, Any]:
        if body is None:
            body = {}
        if not isinstance(body, dict):
            raise errdefs.InvalidArgument("invalid JSON: the body must be a JSON object")
        name = body.get("Name") or ""
        existed = bool(name) and self._exists(name)
        volume: Volume = self.store.create(name, labels=body.get("Labels") or {},
                                           options=body.get("DriverOpts") or {}, driver=body.get("Driver") or "local")
        if not existed:
            self._event("create", volume.name)
        return volume.inspect()

    def _exists(self, name: str) -> bool:
        try:
            self.store.get(name)
            return True
        except errdefs.NotFound:
            return False

    def remove(self, name: str, force: bool) -> None:
        existed = self._exists(name)
        self.store.remove(name, force=force)
        if existed:
            self._event("destroy", name)

    def prune(self, raw_filters: dict[str, Any]) -> dict[str, Any]:
        filters = parse_filters(raw_filters)
        for key in filters:
            if key not in _PRUNE_FILTERS:
                raise errdefs.InvalidArgument(f"invalid filter '{key}'")
        all_volumes = _truthy(filters.get("all", []), "all")
        excluded = _label_filter(filters.get("label!", []))
        kept = [v.name for v in self.store.list()
                if excluded and any(k in v.labels and (x is None or v.labels[k] == x) for k, x in excluded.items())]
        for name in kept:
            self.store.acquire(name, "prune-exclusion")
        try:
            removed, reclaimed = self.store.prune(all_volumes, _label_filter(filters.get("label", [])) or None)
        finally:
            for name in kept:
                self.store.release(name, "prune-exclusion")
        for name in removed:
            self._event("destroy", name)
        return {"VolumesDeleted": removed, "SpaceReclaimed": reclaimed}  # [] when none, as moby makes it
