"""Malicious tar archives aimed at a canary directory on the host: each variant is one attack, so
one rejected member cannot hide another that would have got through."""

from __future__ import annotations

import gzip
import io
import tarfile
import zlib
from collections.abc import Callable
from pathlib import Path

Member = tuple[tarfile.TarInfo, bytes | None]


def _file(name: str, data: bytes = b"pwned\n", mode: int = 0o644) -> Member:
    info = tarfile.TarInfo(name)
    info.size, info.mode = len(data), mode
    return info, data


def _link(name: str, target: str, kind: bytes) -> Member:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, target
    return info, None


def _dir(name: str) -> Member:
    info = tarfile.TarInfo(name)
    info.type, info.mode = tarfile.DIRTYPE, 0o755
    return info, None


def _device(name: str, kind: bytes, major: int, minor: int) -> Member:
    info = tarfile.TarInfo(name)
    info.type, info.devmajor, info.devminor, info.mode = kind, major, minor, 0o666
    return info, None


def variants(canary: Path) -> dict[str, list[Member]]:
    up = "../" * 16
    return {
        "dotdot": [_file(f"{up}{str(canary).lstrip('/')}/pwned-dotdot")],
        "absolute": [_file(f"{canary}/pwned-abs")],
        "symlink-abs-dir": [_link("esc", str(canary), tarfile.SYMTYPE), _file("esc/pwned-sym")],
        "symlink-rel-dir": [_link("esc", f"{up}{str(canary).lstrip('/')}", tarfile.SYMTYPE),
                            _file("esc/pwned-rel")],
        "symlink-nested": [_dir("a"), _link("a/b", "../../../../../../..", tarfile.SYMTYPE),
                           _file(f"a/b/{str(canary).lstrip('/')}/pwned-nested")],
        "symlink-then-file": [_link("over", f"{canary}/secret", tarfile.SYMTYPE), _file("over", b"overwritten\n")],
        "hardlink-abs": [_link("hl", f"{canary}/secret", tarfile.LNKTYPE)],
        "hardlink-rel": [_link("hl", f"{up}{str(canary).lstrip('/')}/secret", tarfile.LNKTYPE)],
        "hardlink-via-symlink": [_link("s", f"{canary}/secret", tarfile.SYMTYPE), _link("h", "s", tarfile.LNKTYPE),
                                 _file("h", b"overwritten\n")],
        "hardlink-then-write": [_link("hl", f"{canary}/secret", tarfile.LNKTYPE), _file("hl", b"overwritten\n")],
        "devices": [_device("null2", tarfile.CHRTYPE, 1, 3), _device("disk", tarfile.BLKTYPE, 8, 0)],
        "setuid": [_file("suid", b"#!/bin/sh\n", 0o4755), _file("sgid", b"#!/bin/sh\n", 0o2755)],
        "huge-pax": [_huge_pax()],
        "long-name": [_file("d/" * 2000 + "f")],
    }


def _huge_pax() -> Member:
    info = tarfile.TarInfo("paxed")
    info.size = 3
    info.pax_headers = {"comment": "x" * (8 << 20)}
    return info, b"pax"


def build_tar(members: list[Member]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return out.getvalue()


def gzip_bomb(expanded: int = 256 << 20) -> bytes:
    """A tar.gz of one member claiming `expanded` bytes of zeros (ratio ~1000:1), then cut short:
    the extractor must stop at the end of the stream, not trust the header."""
    header = tarfile.TarInfo("bomb")
    header.size = expanded * 4
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    parts = [compressor.compress(header.tobuf(format=tarfile.GNU_FORMAT))]
    zeros = b"\0" * (1 << 20)
    for _ in range(expanded >> 20):
        parts.append(compressor.compress(zeros))
    parts.append(compressor.flush())
    return b"".join(parts)


def gzipped(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=1)


def snapshot_dir(path: Path) -> dict[str, tuple[int, int, bytes]]:
    """name → (mode, link count, content) of everything in `path` (the canary)."""
    found = {}
    for entry in sorted(path.rglob("*")):
        info = entry.lstat()
        content = entry.read_bytes() if entry.is_file() and not entry.is_symlink() else b""
        found[str(entry.relative_to(path))] = (info.st_mode, info.st_nlink, content)
    return found


Check = Callable[[], None]
