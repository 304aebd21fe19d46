"""The container service is composed of parts (create, start, attach, exits, control, removal):
every verb the router needs is implemented by one of them, none falls through to the base's stubs."""

from __future__ import annotations

import inspect

from wharf.daemon.backend.containers import ContainerService
from wharf.daemon.backend.containers_base import ContainerServiceBase
from wharf.daemon.routers.container.backend import ContainerBackend


def _declared(cls: type) -> set[str]:
    return {name for name, value in vars(cls).items() if inspect.isfunction(value) and not name.startswith("__")}


def test_every_verb_of_the_router_is_implemented_by_a_part() -> None:
    for name in _declared(ContainerBackend):
        owner = next(c for c in ContainerService.__mro__ if name in vars(c))
        assert owner is not ContainerBackend, name
        assert owner is not ContainerServiceBase or name in ("get", "all"), f"{name} is only the base's stub"


def test_every_stub_of_the_base_has_one_implementation() -> None:
    base = _declared(ContainerServiceBase)
    stubs = {name for name in base if "raise NotImplementedError" in inspect.getsource(getattr(ContainerServiceBase, name))}
    assert stubs
    for name in stubs:
        owners = [c.__name__ for c in ContainerService.__mro__[1:-2] if name in vars(c)]
        assert len(owners) == 1, (name, owners)
