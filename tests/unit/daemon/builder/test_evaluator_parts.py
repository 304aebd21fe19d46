"""Pieces of the evaluator that need no daemon: stage splitting, the cache index, durations,
chown lookups, image state bookkeeping."""

from __future__ import annotations

from pathlib import Path

import pytest

from wharf import errdefs
from wharf.daemon.builder.cache import BuildCache, cache_key
from wharf.daemon.builder.dispatchers import _duration, resolve_chown
from wharf.daemon.builder.evaluator import split_stages
from wharf.daemon.builder.imagestate import scratch
from wharf.daemon.builder.parser import parse
from wharf.oci.image import Descriptor


def test_stages_split_at_from_with_meta_args_first() -> None:
    meta, stages = split_stages(parse("ARG V=1\nFROM a AS One\nRUN x\nFROM one\nCMD y\n").nodes)
    assert [n.keyword for n in meta] == ["arg"]
    assert [(s.index, s.name, [n.keyword for n in s.nodes]) for s in stages] == [
        (0, "one", ["from", "run"]),
        (1, "", ["from", "cmd"]),
    ]


def test_instructions_before_from_are_refused() -> None:
    with pytest.raises(errdefs.InvalidArgument, match="no build stage in current context"):
        split_stages(parse("RUN x\nFROM a\n").nodes)
    with pytest.raises(errdefs.InvalidArgument, match="no FROM"):
        split_stages(parse("ARG x\n").nodes)
    with pytest.raises(errdefs.InvalidArgument, match="one or three"):
        split_stages(parse("FROM a b\n").nodes)


def test_cache_index_survives_reopening(tmp_path: Path) -> None:
    key = cache_key("sha256:parent", "RUN x", "")
    assert key != cache_key("sha256:parent", "RUN y", "")
    assert key != cache_key("sha256:other", "RUN x", "")
    assert cache_key("p", "COPY a b", "sha256:1") != cache_key("p", "COPY a b", "sha256:2")
    cache = BuildCache(str(tmp_path))
    cache.put(key, "sha256:manifest")
    assert BuildCache(str(tmp_path)).get(key) == "sha256:manifest"
    cache.forget(key)
    assert BuildCache(str(tmp_path)).get(key) is None
    (tmp_path / "cache.json").write_text("{broken")
    assert BuildCache(str(tmp_path)).get(key) is None


def test_durations_as_go_parses_them() -> None:
    assert _duration("30s", "interval") == 30_000_000_000
    assert _duration("1m30s", "interval") == 90_000_000_000
    assert _duration("500ms", "timeout") == 500_000_000
    with pytest.raises(errdefs.InvalidArgument):
        _duration("10 parsecs", "interval")


def test_chown_names_resolve_against_the_rootfs(tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "passwd").write_text("root:x:0:0::/root:/bin/sh\napp:x:1001:1002::/app:/bin/sh\n")
    (tmp_path / "etc" / "group").write_text("root:x:0:\nstaff:x:50:\n")
    assert resolve_chown(str(tmp_path), "app") == (1001, 1002)
    assert resolve_chown(str(tmp_path), "app:staff") == (1001, 50)
    assert resolve_chown(str(tmp_path), "10") == (10, 10)
    assert resolve_chown(str(tmp_path), "10:20") == (10, 20)
    with pytest.raises(errdefs.InvalidArgument, match="no such user"):
        resolve_chown(str(tmp_path), "ghost")


def test_image_state_layers_and_history() -> None:
    state = scratch()
    child = state.child()
    child.set_env("A", "1")
    child.set_env("A", "2")
    child.add_layer(Descriptor("application/vnd.oci.image.layer.v1.tar", "sha256:" + "a" * 64, 10), "sha256:" + "b" * 64)
    child.add_history("COPY x", empty_layer=False)
    assert child.env_map()["A"] == "2"
    assert child.config["rootfs"]["diff_ids"] == ["sha256:" + "b" * 64]
    assert state.config["rootfs"]["diff_ids"] == []  # the parent is untouched
    assert "empty_layer" not in child.config["history"][-1]


def _run_for(text: str, meta: dict[str, str | None] | None = None):  # type: ignore[no-untyped-def]
    from wharf.daemon.builder.evaluator import BuildOptions, BuildRun
    from wharf.daemon.builder.shell import ShellLexer

    run = BuildRun.__new__(BuildRun)
    run.meta_args = dict(meta or {})
    run.lexer = ShellLexer()
    run.options = BuildOptions()
    _, stages = split_stages(parse(text).nodes)
    return run, stages


def test_only_stages_feeding_the_target_are_built() -> None:
    text = (
        "FROM busybox AS base\n"
        "FROM base AS tools\n"
        "FROM busybox AS unused\n"
        "FROM busybox AS assets\n"
        "FROM scratch AS final\n"
        "COPY --from=tools /x /x\n"
        "RUN --mount=type=bind,from=assets,target=/a true\n"
    )
    run, stages = _run_for(text)
    assert run.stages_feeding(stages, 4) == {0, 1, 3, 4}
    assert run.stages_feeding(stages, 2) == {2}
    run, stages = _run_for("FROM busybox AS a\nFROM busybox AS b\nFROM scratch\nCOPY --from=$SRC /x /x\n",
                           {"SRC": "b"})  # fmt: skip
    assert run.stages_feeding(stages, 2) == {1, 2}
    run, stages = _run_for("FROM busybox AS a\nFROM busybox AS b\nFROM scratch\nARG S\nCOPY --from=$S /x /x\n")
    assert run.stages_feeding(stages, 2) == {0, 1, 2}  # unknown until built: keep them all


def test_heredoc_variables_keep_quotes() -> None:
    from wharf.daemon.builder.dispatchers import _expand_variables

    assert _expand_variables('say "$A" ${B} \\$C $MISSING.', {"A": "1", "B": "2"}) == 'say "1" 2 $C .'
