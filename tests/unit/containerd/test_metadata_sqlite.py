"""The SQLite stores: containers and images (CRUD, errors, persistence across reopen)."""

import asyncio
from pathlib import Path

import pytest

from wharf import errdefs
from wharf.containerd.core.containers import Container
from wharf.containerd.core.images import Image
from wharf.containerd.plugins.metadata_sqlite import SqliteContainerStore, SqliteImageStore, open_db
from wharf.containerd.plugins.metadata_sqlite.schema import MIGRATIONS
from wharf.oci.image import MEDIA_TYPE_OCI_MANIFEST, Descriptor

DIGEST = "sha256:" + "1" * 64


def _container(cid: str = "c1") -> Container:
    return Container(id=cid, image="busybox", runtime="runc", spec={"ociVersion": "1.0.2"}, snapshot_key=f"{cid}-rootfs")


def test_db_is_wal_and_migrated(tmp_path: Path) -> None:
    db = open_db(tmp_path / "wharf.db")
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    db.close()
    open_db(tmp_path / "wharf.db").close()  # reopening applies nothing twice


def test_containers_crud(tmp_path: Path) -> None:
    async def scenario() -> None:
        store = SqliteContainerStore(open_db(tmp_path / "wharf.db"))
        created = await store.create(_container())
        assert created.created_at > 0 and created.updated_at == created.created_at
        with pytest.raises(errdefs.AlreadyExists):
            await store.create(_container())
        assert await store.get("c1") == created
        created.labels["a"] = "b"
        updated = await store.update(created)
        assert updated.labels == {"a": "b"} and updated.created_at == created.created_at
        assert [c.id for c in await store.list()] == ["c1"]
        await store.delete("c1")
        with pytest.raises(errdefs.NotFound):
            await store.get("c1")
        with pytest.raises(errdefs.NotFound):
            await store.delete("c1")
        with pytest.raises(errdefs.NotFound):
            await store.update(_container("nope"))

    asyncio.run(scenario())


def test_containers_listed_by_labels_carry_all_of_them(tmp_path: Path) -> None:
    async def scenario() -> None:
        store = SqliteContainerStore(open_db(tmp_path / "wharf.db"))
        for cid, labels in (("plain", {}), ("build", {"io.wharf.build": "1"}),
                            ("both", {"io.wharf.build": "1", 'odd"key': "x"}), ("other", {"io.wharf.build": "0"})):
            await store.create(Container(**{**vars(_container(cid)), "labels": labels}))
        assert [c.id for c in await store.list()] == ["plain", "build", "both", "other"]
        assert [c.id for c in await store.list({})] == ["plain", "build", "both", "other"]
        assert [c.id for c in await store.list({"io.wharf.build": "1"})] == ["build", "both"]
        assert [c.id for c in await store.list({"io.wharf.build": "1", 'odd"key': "x"})] == ["both"]
        assert (await store.list({"io.wharf.build": "1"}))[0].spec == {"ociVersion": "1.0.2"}
        assert await store.list({"absent": ""}) == []

    asyncio.run(scenario())


def test_container_with_a_task_cannot_be_deleted(tmp_path: Path) -> None:
    async def scenario() -> None:
        store = SqliteContainerStore(open_db(tmp_path / "wharf.db"), has_task=lambda cid: cid == "busy")
        await store.create(_container("busy"))
        with pytest.raises(errdefs.FailedPrecondition):
            await store.delete("busy")

    asyncio.run(scenario())


def test_containers_survive_reopen(tmp_path: Path) -> None:
    async def scenario() -> None:
        await SqliteContainerStore(open_db(tmp_path / "wharf.db")).create(_container())
        assert (await SqliteContainerStore(open_db(tmp_path / "wharf.db")).get("c1")).spec == {"ociVersion": "1.0.2"}

    asyncio.run(scenario())


def test_images_crud(tmp_path: Path) -> None:
    async def scenario() -> None:
        store = SqliteImageStore(open_db(tmp_path / "wharf.db"))
        target = Descriptor(MEDIA_TYPE_OCI_MANIFEST, DIGEST, 123, {"k": "v"}, {"os": "linux"})
        image = await store.create(Image("docker.io/library/busybox:latest", target))
        with pytest.raises(errdefs.AlreadyExists):
            await store.create(image)
        assert (await store.get(image.name)).target == target
        moved = await store.update(Image(image.name, Descriptor(MEDIA_TYPE_OCI_MANIFEST, "sha256:" + "2" * 64, 5)))
        assert moved.created_at == image.created_at
        tagged = await store.update(Image("docker.io/library/busybox:1", target))
        assert tagged.created_at > 0
        assert [i.name for i in await store.list()] == ["docker.io/library/busybox:1", "docker.io/library/busybox:latest"]
        await store.delete(image.name)
        with pytest.raises(errdefs.NotFound):
            await store.get(image.name)
        with pytest.raises(errdefs.NotFound):
            await store.delete(image.name)
        with pytest.raises(errdefs.InvalidArgument):
            await store.create(Image("bad", Descriptor(MEDIA_TYPE_OCI_MANIFEST, "sha256:short", 1)))

    asyncio.run(scenario())


@pytest.mark.parametrize("bad_id", ["", "../etc", "a/b", "..", "a..b", "-a", "x" * 77, "a b"])
def test_container_ids_that_could_name_other_paths_are_refused(tmp_path: Path, bad_id: str) -> None:
    async def scenario() -> None:
        store = SqliteContainerStore(open_db(tmp_path / "wharf.db"))
        with pytest.raises(errdefs.InvalidArgument):
            await store.create(_container(bad_id))

    asyncio.run(scenario())


def test_empty_runtime_means_the_daemon_default(tmp_path: Path) -> None:
    async def scenario() -> None:
        store = SqliteContainerStore(open_db(tmp_path / "wharf.db"))
        container = _container()
        container.runtime = ""
        assert (await store.create(container)).runtime == ""

    asyncio.run(scenario())
