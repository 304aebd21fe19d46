"""The Snapshotter contract, mounted for real: run against the overlay plugin in process and
through the proxy to a real wharf-containerd (the same tests, both sides of the boundary)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.integration.containerd.conftest import StoresUnderTest
from wharf import errdefs
from wharf.containerd.core.snapshots import SnapshotKind
from wharf.containerd.mount import mount_all, unmount


def _with_mounted(mounts, target: Path, action):  # type: ignore[no-untyped-def]
    target.mkdir(parents=True, exist_ok=True)
    mount_all(mounts, target)
    try:
        return action(target)
    finally:
        unmount(target)


def test_prepare_commit_view_remove(stores: StoresUnderTest, base_dir: Path) -> None:
    mnt = base_dir / "mnt"

    async def scenario(opened: Any) -> None:
        snapshots = opened.snapshots
        bottom = await snapshots.prepare("bottom-key", labels={"l": "1"})
        assert [m.type for m in bottom] == ["bind"]
        _with_mounted(bottom, mnt, lambda t: (t / "a.txt").write_text("from bottom"))
        await snapshots.commit("bottom", "bottom-key")
        with pytest.raises(errdefs.NotFound):
            await snapshots.stat("bottom-key")
        info = await snapshots.stat("bottom")
        assert (info.kind, info.parent, info.labels) == (SnapshotKind.COMMITTED, "", {"l": "1"})

        top = await snapshots.prepare("top-key", "bottom")
        assert [m.type for m in top] == ["overlay"]

        def write_top(t: Path) -> None:
            assert (t / "a.txt").read_text() == "from bottom"
            (t / "b.txt").write_text("from top")
            (t / "a.txt").unlink()

        _with_mounted(top, mnt, write_top)
        await snapshots.commit("top", "top-key")

        view = await snapshots.view("v", "top")
        assert "ro" in view[0].options

        def read_view(t: Path) -> None:
            assert (t / "b.txt").read_text() == "from top"
            assert not (t / "a.txt").exists()  # deleted in the upper layer: a whiteout
            with pytest.raises(OSError):
                (t / "c.txt").write_text("read-only")

        _with_mounted(view, mnt, read_view)
        assert {i.name for i in await snapshots.list()} == {"bottom", "top", "v"}
        assert await snapshots.usage("top") > 0

        with pytest.raises(errdefs.FailedPrecondition):
            await snapshots.remove("bottom")  # "top" is its child
        with pytest.raises(errdefs.FailedPrecondition):
            await snapshots.remove("top")  # "v" is its child
        await snapshots.remove("v")
        await snapshots.remove("top")
        await snapshots.remove("bottom")
        assert await snapshots.list() == []
        assert list((stores.root / "snapshots").iterdir()) == []

    stores.run(scenario)


def test_errors(stores: StoresUnderTest) -> None:
    async def scenario(opened: Any) -> None:
        snapshots = opened.snapshots
        with pytest.raises(errdefs.NotFound):
            await snapshots.stat("nope")
        with pytest.raises(errdefs.NotFound):
            await snapshots.prepare("k", "no-such-parent")
        with pytest.raises(errdefs.NotFound):
            await snapshots.remove("nope")
        await snapshots.prepare("k")
        with pytest.raises(errdefs.AlreadyExists):
            await snapshots.prepare("k")
        with pytest.raises(errdefs.InvalidArgument):
            await snapshots.prepare("k2", "k")  # an active snapshot can't be a parent
        await snapshots.prepare("k3")
        await snapshots.commit("done", "k3")
        with pytest.raises(errdefs.AlreadyExists):
            await snapshots.commit("done", "k")
        with pytest.raises(errdefs.FailedPrecondition):
            await snapshots.commit("again", "done")

    stores.run(scenario)


def test_three_layers_stack_in_order(stores: StoresUnderTest, base_dir: Path) -> None:
    mnt = base_dir / "mnt"

    async def scenario(opened: Any) -> None:
        snapshots = opened.snapshots
        parent = ""
        for n in range(3):
            mounts = await snapshots.prepare(f"k{n}", parent)
            _with_mounted(mounts, mnt, lambda t, n=n: (t / "layer").write_text(str(n)))
            await snapshots.commit(f"c{n}", f"k{n}")
            parent = f"c{n}"
        mounts = await snapshots.prepare("rw", parent)
        assert _with_mounted(mounts, mnt, lambda t: (t / "layer").read_text()) == "2"

    stores.run(scenario)
