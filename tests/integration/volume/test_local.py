"""The local volume driver on a real filesystem (tmpfs options mount for real, as root)."""

from pathlib import Path

import pytest

from wharf import errdefs
from wharf.daemon.volume.local import ANONYMOUS_LABEL, VolumeStore


@pytest.fixture
def store(tmp_path: Path) -> VolumeStore:
    return VolumeStore(tmp_path / "volumes")


def test_create_inspect_list_remove(store: VolumeStore) -> None:
    volume = store.create("data", labels={"team": "a"})
    assert Path(volume.mountpoint).is_dir()
    shown = volume.inspect()
    assert shown["Name"] == "data" and shown["Driver"] == "local" and shown["Labels"] == {"team": "a"}
    assert shown["Mountpoint"].endswith("/volumes/data/_data")
    assert store.create("data").created_at == volume.created_at  # create is idempotent
    assert [v.name for v in store.list()] == ["data"]
    store.remove("data")
    with pytest.raises(errdefs.NotFound, match="get data: no such volume"):
        store.get("data")


def test_anonymous_volume_and_prune(store: VolumeStore) -> None:
    anonymous = store.create()
    named = store.create("keep-me")
    assert len(anonymous.name) == 64 and ANONYMOUS_LABEL in anonymous.labels
    (Path(anonymous.mountpoint) / "f").write_bytes(b"x" * 10000)
    removed, reclaimed = store.prune()
    assert removed == [anonymous.name] and reclaimed >= 10000
    assert [v.name for v in store.list()] == [named.name]
    assert store.prune(all_volumes=True)[0] == ["keep-me"]


def test_in_use_volume_cannot_be_removed(store: VolumeStore) -> None:
    store.create("busy")
    store.acquire("busy", "c" * 64)
    with pytest.raises(errdefs.Conflict, match=r"remove busy: volume is in use - \[c{64}\]"):
        store.remove("busy")
    assert store.prune(all_volumes=True)[0] == []
    store.release("busy", "c" * 64)
    store.remove("busy")


@pytest.mark.parametrize(
    ("name", "message"),
    [("a/b", "includes invalid characters for a local volume name"), ("x", "volume name is too short"),
     ("-lead", "includes invalid characters"), ("..", "includes invalid characters")],
)
def test_bad_names_are_refused(store: VolumeStore, name: str, message: str) -> None:
    with pytest.raises(errdefs.InvalidArgument, match=message):
        store.create(name)
    assert store.list() == []


def test_lookups_cannot_escape_the_volume_root(store: VolumeStore, tmp_path: Path) -> None:
    (tmp_path / "outside" / "_data").mkdir(parents=True)
    for name in ("../outside", "..", "."):
        with pytest.raises(errdefs.NotFound):
            store.get(name)


def test_tmpfs_volume_is_mounted_while_used(store: VolumeStore) -> None:
    volume = store.create("scratch", options={"type": "tmpfs", "device": "tmpfs", "o": "size=1m"})
    path = store.mount("scratch")
    try:
        assert _mounted(path)
        store.mount("scratch")
        store.unmount("scratch")
        assert _mounted(path)
    finally:
        store.unmount("scratch")
    assert not _mounted(path)
    assert volume.inspect()["Options"] == {"type": "tmpfs", "device": "tmpfs", "o": "size=1m"}


def test_unknown_driver_and_option(store: VolumeStore) -> None:
    with pytest.raises(errdefs.NotFound, match='plugin "nfsx" not found'):
        store.create("v1", driver="nfsx")
    with pytest.raises(errdefs.InvalidArgument, match="invalid option"):
        store.create("v2", options={"colour": "blue"})


def _mounted(path: str) -> bool:
    return any(line.split()[4] == path for line in open("/proc/self/mountinfo"))
