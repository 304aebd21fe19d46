"""Random hostile layers: extraction writes only inside the layer dir, and fails only cleanly."""

import io
import os
import shutil
import tarfile
import tempfile
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from wharf import errdefs
from wharf.containerd.plugins.unpack.apply_layer import apply_layer

NAME_PARTS = st.sampled_from(["a", "b", "..", ".", "", "etc", ".wh.a", ".wh..wh..opq", "outside", "c d"])
TARGETS = st.sampled_from(["/", "..", "../..", "../outside", "/etc", "a", "a/b", "/outside/canary", "../../outside"])
ENTRY = st.tuples(
    st.sampled_from(["file", "dir", "symlink", "hardlink"]),
    st.lists(NAME_PARTS, min_size=1, max_size=4).map("/".join),
    TARGETS,
    st.booleans(),  # absolute name
)


def _layer(entries: list[tuple[str, str, str, bool]]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for kind, name, target, absolute in entries:
            info = tarfile.TarInfo(("/" if absolute else "") + name)
            if kind == "file":
                data = b"payload"
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
                continue
            info.type = {"dir": tarfile.DIRTYPE, "symlink": tarfile.SYMTYPE, "hardlink": tarfile.LNKTYPE}[kind]
            info.linkname = target
            tar.addfile(info)
    return out.getvalue()


def _snapshot(root: Path) -> dict[str, tuple[int, int]]:
    state = {}
    for directory, dirs, files in os.walk(root):
        for name in dirs + files:
            path = os.path.join(directory, name)
            st_ = os.lstat(path)
            state[path] = (st_.st_mode, st_.st_size)
    return state


@given(st.lists(ENTRY, min_size=1, max_size=12), st.booleans())
def test_nothing_lands_outside_the_layer(entries: list[tuple[str, str, str, bool]], with_lower: bool) -> None:
    sandbox = Path(tempfile.mkdtemp(prefix="wharf-fuzz-"))
    try:
        outside = sandbox / "outside"
        outside.mkdir()
        (outside / "canary").write_text("untouched")
        upper = sandbox / "layers" / "upper"
        lower = sandbox / "layers" / "lower"
        upper.mkdir(parents=True)
        lower.mkdir(parents=True)
        blob = sandbox / "layer.tar"
        blob.write_bytes(_layer(entries))
        before = _snapshot(outside)
        try:
            apply_layer(blob, upper, [lower] if with_lower else [])
        except errdefs.WharfError:
            pass
        assert _snapshot(outside) == before
        assert (outside / "canary").read_text() == "untouched"
        assert sorted(p.name for p in sandbox.iterdir()) == ["layer.tar", "layers", "outside"]
        assert sorted(p.name for p in (sandbox / "layers").iterdir()) == ["lower", "upper"]
        assert not any(lower.iterdir())
    finally:
        shutil.rmtree(sandbox, ignore_errors=True)
