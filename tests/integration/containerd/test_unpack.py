"""Unpacking crafted layers: content, metadata, whiteouts, and hostile tars that must not write
anything outside the snapshot."""

from __future__ import annotations

import json
import os
import stat
import tarfile
from pathlib import Path

import pytest

from tests.integration.containerd import layers as L
from tests.integration.containerd.conftest import LocalPlugins, run
from wharf import errdefs
from wharf.containerd.mount import mount_all, unmount


def _layer_dir(local: LocalPlugins, chain_id: str) -> Path:
    upper, _lowers = local.snapshots.upper_and_lowers(chain_id)
    return upper


def _unpack(local: LocalPlugins, *layer_tars: bytes, compress: bool = False) -> str:
    async def scenario() -> str:
        manifest = await L.import_image(local.content, list(layer_tars), compress=compress)
        return await local.unpacker.unpack(manifest)

    return run(scenario())


def _all_paths(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


@pytest.fixture
def outside(base_dir: Path) -> Path:
    """A directory next to the content root: hostile layers aim at it; it must stay empty."""
    path = base_dir / "outside"
    path.mkdir()
    return path


def test_regular_layer_keeps_content_and_metadata(local: LocalPlugins) -> None:
    info, data = L.file("usr/bin/tool", b"#!/bin/sh\necho hi\n", mode=0o4755, uid=1000, gid=1001)
    info.pax_headers = {"SCHILY.xattr.user.origin": "layer-1"}
    layer = L.tar(
        L.directory("usr", 0o755),
        L.directory("usr/bin", 0o711, uid=2, gid=3),
        (info, data),
        L.symlink("usr/bin/alias", "tool"),
        L.hardlink("usr/bin/tool2", "usr/bin/tool"),
        L.chardev("dev/null2", 1, 3),
        L.fifo("run/pipe"),
        L.file("deep/implied/parents.txt", b"x"),
    )
    chain = _unpack(local, layer)
    assert chain == L.sha256(layer)  # a single layer's chain id is its diff id
    root = _layer_dir(local, chain)
    tool = root / "usr/bin/tool"
    st = tool.lstat()
    assert tool.read_bytes() == b"#!/bin/sh\necho hi\n"
    assert (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid, int(st.st_mtime)) == (0o4755, 1000, 1001, L.MTIME)
    assert os.getxattr(tool, "user.origin") == b"layer-1"
    bin_st = (root / "usr/bin").stat()
    assert (stat.S_IMODE(bin_st.st_mode), bin_st.st_uid, bin_st.st_gid, int(bin_st.st_mtime)) == (0o711, 2, 3, L.MTIME)
    assert os.readlink(root / "usr/bin/alias") == "tool"
    assert (root / "usr/bin/tool2").stat().st_ino == st.st_ino
    dev = (root / "dev/null2").lstat()
    assert stat.S_ISCHR(dev.st_mode) and (os.major(dev.st_rdev), os.minor(dev.st_rdev)) == (1, 3)
    assert stat.S_ISFIFO((root / "run/pipe").lstat().st_mode)
    assert (root / "deep/implied/parents.txt").read_bytes() == b"x"


def test_gzip_layer(local: LocalPlugins) -> None:
    layer = L.tar(L.file("hello.txt", b"compressed"))
    chain = _unpack(local, layer, compress=True)
    assert chain == L.sha256(layer)  # the diff id is of the uncompressed tar
    assert (_layer_dir(local, chain) / "hello.txt").read_bytes() == b"compressed"


def test_unpack_is_idempotent_and_shares_layers(local: LocalPlugins) -> None:
    base = L.tar(L.file("base", b"1"))
    first = _unpack(local, base)
    second = _unpack(local, base, L.tar(L.file("more", b"2")))

    async def count() -> int:
        return len(await local.snapshots.list())

    assert _unpack(local, base) == first
    assert run(count()) == 2
    assert second != first


def test_whiteouts_become_overlay_whiteouts(local: LocalPlugins, base_dir: Path) -> None:
    lower = L.tar(
        L.directory("etc"),
        L.file("etc/keep", b"keep"),
        L.file("etc/gone", b"gone"),
        L.directory("var"),
        L.file("var/old1", b"1"),
        L.directory("var/sub"),
        L.file("var/sub/old2", b"2"),
    )
    upper = L.tar(
        L.file("etc/.wh.gone"),
        L.directory("var"),
        L.file("var/.wh..wh..opq"),
        L.file("var/new", b"new"),
    )
    chain = _unpack(local, lower, upper)
    layer = _layer_dir(local, chain)
    whiteout = (layer / "etc/gone").lstat()
    assert stat.S_ISCHR(whiteout.st_mode) and whiteout.st_rdev == os.makedev(0, 0)
    assert os.getxattr(layer / "var", "trusted.overlay.opaque") == b"y"
    assert not (layer / "etc/.wh.gone").exists()

    async def view() -> list:  # type: ignore[type-arg]
        return await local.snapshots.view("check", chain)

    mnt = base_dir / "mnt"
    mnt.mkdir()
    mount_all(run(view()), mnt)
    try:
        assert _all_paths(mnt) == {"etc", "etc/keep", "var", "var/new"}
    finally:
        unmount(mnt)


def test_diff_id_mismatch_is_refused_and_leaves_no_snapshot(local: LocalPlugins) -> None:
    layer = L.tar(L.file("a", b"a"))

    async def scenario() -> None:
        manifest = await L.import_image(local.content, [layer], diff_ids=["sha256:" + "0" * 64])
        with pytest.raises(errdefs.InvalidArgument, match="diff id"):
            await local.unpacker.unpack(manifest)
        assert await local.snapshots.list() == []

    run(scenario())


def test_garbage_layer_is_invalid(local: LocalPlugins) -> None:
    async def scenario() -> None:
        manifest = await L.import_image(local.content, [b"\x1f\x8bnot really gzip" * 10])
        with pytest.raises(errdefs.InvalidArgument):
            await local.unpacker.unpack(manifest)
        assert await local.snapshots.list() == []

    run(scenario())


# -- hostile layers ----------------------------------------------------------------------------


def test_dotdot_and_absolute_paths_stay_inside(local: LocalPlugins, outside: Path) -> None:
    relative_escape = os.path.relpath(outside, local.root / "snapshots" / "1" / "fs")
    layer = L.tar(
        L.file("../../../../../../escaped-dotdot", b"x"),
        L.file(f"{relative_escape}/escaped-relative", b"x"),
        L.file(f"{outside}/escaped-absolute", b"x"),
        L.file("a/../../b/../../c", b"x"),
    )
    chain = _unpack(local, layer)
    root = _layer_dir(local, chain)
    assert list(outside.iterdir()) == []
    assert not Path("/escaped-dotdot").exists()
    assert (root / "escaped-dotdot").exists()
    assert (root / outside.relative_to("/") / "escaped-absolute").exists()
    assert (root / "c").exists()


def test_symlink_then_write_through_it_stays_inside(local: LocalPlugins, outside: Path) -> None:
    inside_twin = str(outside).lstrip("/")  # the same path, inside the layer
    layer = L.tar(
        L.directory(inside_twin),
        L.symlink("abs", str(outside)),
        L.file("abs/pwned-abs", b"x"),
        L.symlink("rel", "../../../../../../../../" + inside_twin),
        L.file("rel/pwned-rel", b"x"),
        L.symlink("loop", "."),
        L.file("loop/loop/loop/ok", b"x"),
    )
    chain = _unpack(local, layer)
    root = _layer_dir(local, chain)
    assert list(outside.iterdir()) == []
    # The symlinks were followed as if the layer dir were `/`.
    assert (root / inside_twin / "pwned-abs").read_bytes() == b"x"
    assert (root / inside_twin / "pwned-rel").read_bytes() == b"x"
    assert (root / "ok").exists()
    assert os.readlink(root / "abs") == str(outside)  # kept as data, for the container


def test_write_through_a_dangling_symlink_is_refused(local: LocalPlugins, outside: Path) -> None:
    layer = L.tar(L.symlink("abs", str(outside)), L.file("abs/pwned", b"x"))
    with pytest.raises(errdefs.InvalidArgument):
        _unpack(local, layer)
    assert list(outside.iterdir()) == []
    assert run(local.snapshots.list()) == []


def test_file_over_a_symlink_replaces_the_link(local: LocalPlugins, outside: Path) -> None:
    victim = outside / "victim"
    victim.write_bytes(b"original")
    layer = L.tar(L.symlink("f", str(victim)), L.file("f", b"overwritten?"))
    root = _layer_dir(local, _unpack(local, layer))
    assert victim.read_bytes() == b"original"
    assert not (root / "f").is_symlink() and (root / "f").read_bytes() == b"overwritten?"


def test_symlink_parent_through_later_layer_stays_inside(local: LocalPlugins, outside: Path) -> None:
    lower = L.tar(L.symlink("escape", str(outside)))
    upper = L.tar(L.file("escape/pwned", b"x"))
    root = _layer_dir(local, _unpack(local, lower, upper))
    assert list(outside.iterdir()) == []
    # Layers apply to their own dir, where the lower layer's symlink is not: `escape` becomes a
    # directory of this layer (as overlay's copy-up of a path would).
    assert (root / "escape" / "pwned").read_bytes() == b"x"


def test_hardlinks_to_outside_are_refused(local: LocalPlugins, outside: Path) -> None:
    passwd_links = os.stat("/etc/passwd").st_nlink
    target = outside / "secret"
    target.write_bytes(b"secret")
    for hostile in (
        L.tar(L.hardlink("hl", "/etc/passwd")),
        L.tar(L.hardlink("hl", "../../../../../../../etc/passwd")),
        L.tar(L.symlink("etcdir", "/etc"), L.hardlink("hl", "etcdir/passwd")),
        L.tar(L.hardlink("hl", str(target))),
    ):
        with pytest.raises(errdefs.InvalidArgument, match="hardlink"):
            _unpack(local, hostile)
    assert os.stat("/etc/passwd").st_nlink == passwd_links
    assert target.stat().st_nlink == 1
    assert run(local.snapshots.list()) == []


def test_hardlink_to_a_symlink_links_the_symlink(local: LocalPlugins, outside: Path) -> None:
    target = outside / "secret"
    target.write_bytes(b"secret")
    layer = L.tar(L.symlink("s", str(target)), L.hardlink("hl", "s"))
    root = _layer_dir(local, _unpack(local, layer))
    assert (root / "hl").is_symlink()
    assert target.stat().st_nlink == 1


def test_overlay_xattrs_from_a_layer_are_dropped(local: LocalPlugins) -> None:
    info, data = L.file("d/f", b"x")
    info.pax_headers = {"SCHILY.xattr.trusted.overlay.redirect": "/etc", "SCHILY.xattr.user.ok": "1"}
    root = _layer_dir(local, _unpack(local, L.tar((info, data))))
    assert os.listxattr(root / "d/f") == ["user.ok"]


def test_whiteout_names_cannot_escape(local: LocalPlugins, outside: Path) -> None:
    (outside / "keep").write_bytes(b"keep")
    lower = L.tar(L.file("x", b"x"))
    upper = L.tar(L.file(f"../../../../../../..{outside}/.wh.keep"))
    root = _layer_dir(local, _unpack(local, lower, upper))
    assert (outside / "keep").read_bytes() == b"keep"
    assert stat.S_ISCHR((root / outside.relative_to("/") / "keep").lstat().st_mode)


def test_tar_members_are_not_trusted_for_type_changes(local: LocalPlugins, outside: Path) -> None:
    """A directory replaced by a symlink, then written through: still inside."""
    layer = L.tar(
        L.directory("d"),
        L.symlink("d", str(outside)),
        L.file("d/pwned", b"x"),
    )
    with pytest.raises(errdefs.InvalidArgument):
        _unpack(local, layer)  # `d` is now a symlink to nothing inside the layer
    assert list(outside.iterdir()) == []


def test_unknown_member_types_are_ignored(local: LocalPlugins) -> None:
    info = tarfile.TarInfo("weird")
    info.type = tarfile.CONTTYPE
    info.size = 1
    layer = L.tar((info, b"z"), L.file("normal", b"n"))
    root = _layer_dir(local, _unpack(local, layer))
    assert (root / "normal").exists()


def test_an_index_unpacks_the_host_platform_manifest(local: LocalPlugins) -> None:
    layer = L.tar(L.file("from-index", b"x"))

    async def scenario() -> str:
        manifest = await L.import_image(local.content, [layer])
        size = (await local.content.info(manifest)).size
        index = {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": [
                {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "sha256:" + "9" * 64,
                 "size": 1, "platform": {"os": "linux", "architecture": "riscv-nope"}},
                {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": manifest, "size": size,
                 "platform": {"os": "linux", "architecture": "amd64" if os.uname().machine == "x86_64" else "arm64"}},
            ],
        }
        return await local.unpacker.unpack(await L.put(local.content, json.dumps(index).encode()))

    assert run(scenario()) == L.sha256(layer)
