"""`.dockerignore` exceptions below an excluded directory (moby's walk): the patterns docker-py's
own test uses, through the matcher, the on-disk walk, the context index and a real copy."""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

from wharf.daemon.builder.context_index import ContextIndex
from wharf.daemon.builder.copy import CopyOptions, copy_into, walk_sources
from wharf.daemon.builder.dockerignore import IgnoreMatcher, read_patterns

# As docker-py's test_build_with_dockerignore writes it (spaces, `! ` and a comment included).
DOCKERIGNORE = (
    "ignored\nDockerfile\n.dockerignore\n ignored-with-spaces \n!ignored/subdir/excepted-file\n"
    "! ignored/subdir/excepted-with-spaces  \n#*"
)
FILES = ["Dockerfile", ".dockerignore", "not-ignored", "#file.txt", "ignored-with-spaces",
         "ignored/subdir/file", "ignored/subdir/excepted-file", "ignored/subdir/excepted-with-spaces"]  # fmt: skip
KEPT = ["#file.txt", "ignored/subdir/excepted-file", "ignored/subdir/excepted-with-spaces", "not-ignored"]


def _matcher() -> IgnoreMatcher:
    return IgnoreMatcher.from_file_text(DOCKERIGNORE)


def test_patterns_are_trimmed_also_after_the_exclamation_mark() -> None:
    assert read_patterns(DOCKERIGNORE) == [
        "ignored", "Dockerfile", ".dockerignore", "ignored-with-spaces",
        "!ignored/subdir/excepted-file", "!ignored/subdir/excepted-with-spaces",
    ]  # fmt: skip


def test_exceptions_reinclude_files_of_an_excluded_directory() -> None:
    matcher = _matcher()
    assert [f for f in FILES if not matcher.excluded(f)] == ["not-ignored", "#file.txt",
                                                             "ignored/subdir/excepted-file",
                                                             "ignored/subdir/excepted-with-spaces"]  # fmt: skip
    assert matcher.excluded("ignored") and matcher.excluded("ignored/subdir")


def test_walk_goes_into_excluded_directories_only_when_an_exception_may_match_below() -> None:
    matcher = _matcher()
    assert matcher.reaches_below("ignored")
    assert matcher.reaches_below("ignored/subdir")
    assert not matcher.reaches_below("ignored-with-spaces")
    assert not matcher.reaches_below("ignored/other")
    assert not IgnoreMatcher(["build"]).reaches_below("build")


def _context(root: Path) -> None:
    for name in FILES:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(name)


def test_disk_walk_and_copy_take_the_exceptions(tmp_path: Path) -> None:
    source, rootfs = tmp_path / "ctx", tmp_path / "rootfs"
    source.mkdir()
    rootfs.mkdir()
    _context(source)
    matcher = _matcher()
    walked = [e.inside for e in walk_sources(str(source), [""], True, matcher.excluded, matcher.reaches_below)]
    assert [p for p in walked if p and not (source / p).is_dir()] == KEPT
    assert "ignored" not in walked and "ignored/subdir" not in walked  # not taken themselves

    copy_into(str(rootfs), str(source), [""], "/test/", CopyOptions(uid=os.getuid(), gid=os.getgid()), True,
              matcher.excluded, matcher.reaches_below)  # fmt: skip
    copied = sorted(str(p.relative_to(rootfs / "test")) for p in (rootfs / "test").rglob("*") if p.is_file())
    assert copied == KEPT
    assert (rootfs / "test/ignored/subdir/excepted-file").read_text() == "ignored/subdir/excepted-file"


def test_index_walk_takes_the_exceptions_without_directory_entries(tmp_path: Path) -> None:
    # docker-py sends the re-included files without their (excluded) parent directories.
    archive = tmp_path / "context.tar"
    with tarfile.open(archive, "w") as out:
        for name in ["Dockerfile", ".dockerignore", "#file.txt", "not-ignored", "ignored/subdir/excepted-file",
                     "ignored/subdir/excepted-with-spaces"]:  # fmt: skip
            info = tarfile.TarInfo(name)
            info.size = len(name)
            out.addfile(info, io.BytesIO(name.encode()))
    index = ContextIndex.from_archive(str(archive))
    matcher = _matcher()
    walked = [s.inside for s in index.walk([""], True, matcher.excluded, matcher.reaches_below)
              if s.entry.is_file]  # fmt: skip
    assert walked == KEPT
