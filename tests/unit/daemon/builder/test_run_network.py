"""A RUN step's network settings and files: `extrahosts` and `networkmode` parsing, the hosts file
RUN steps see, the mount points kept out of the layer, stderr marked as Docker marks it."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from wharf import errdefs
from wharf.daemon.builder.run_network import (
    RunFiles,
    RunNetwork,
    missing_mount_points,
    parse_extra_hosts,
    parse_network_mode,
    remove_mount_points,
)
from wharf.daemon.builder.runner import _OutputSink


def test_extra_hosts_are_parsed_as_the_api_sends_them() -> None:
    assert parse_extra_hosts(["extrahost.local.test:127.0.0.1", "a:1.2.3.4,b=::1"]) == [
        "extrahost.local.test:127.0.0.1", "a:1.2.3.4", "b=::1"]  # fmt: skip
    assert parse_extra_hosts([]) == []
    with pytest.raises(errdefs.InvalidArgument, match="bad format"):
        parse_extra_hosts(["nohost"])


def test_network_modes() -> None:
    for mode in ("", "default", "none", "host", "bridge", "my-network", "5df976a60f87"):
        assert parse_network_mode(mode) == mode
    with pytest.raises(errdefs.InvalidArgument):
        parse_network_mode("container:abc")
    assert RunNetwork("default").loopback_only and not RunNetwork("default").needs_files
    assert RunNetwork("", ["a:1.2.3.4"]).needs_files
    assert RunNetwork("host").needs_files and RunNetwork("my-network").needs_files


def test_hosts_file_has_the_extra_hosts(tmp_path: Path) -> None:
    files = RunFiles(str(tmp_path / "files"))
    files.write_local(RunNetwork("", ["extrahost.local.test:127.0.0.1", "v6=::1"]))
    hosts = Path(files.hosts_path).read_text()
    assert hosts.startswith("127.0.0.1\tlocalhost\n")
    assert "127.0.0.1\textrahost.local.test\n" in hosts and "::1\tv6\n" in hosts
    files.write_local(RunNetwork("host", ["extra:10.0.0.1"]))
    assert Path(files.hosts_path).read_text().endswith("10.0.0.1\textra\n")
    assert [m["destination"] for m in files.spec_mounts()] == ["/etc/hosts", "/etc/resolv.conf"]
    files.remove()
    assert not (tmp_path / "files").exists()


def test_mount_points_the_runtime_made_are_removed(tmp_path: Path) -> None:
    rootfs = tmp_path / "rootfs"
    (rootfs / "etc").mkdir(parents=True)
    (rootfs / "etc/hosts").write_text("127.0.0.1 image-own\n")
    missing = missing_mount_points(str(rootfs))
    assert missing == ["/etc/resolv.conf"]
    (rootfs / "etc/resolv.conf").touch()  # what the runtime makes to bind on
    remove_mount_points(str(rootfs), missing)
    assert not (rootfs / "etc/resolv.conf").exists() and (rootfs / "etc/hosts").exists()

    bare = tmp_path / "bare"
    bare.mkdir()
    missing = missing_mount_points(str(bare))
    assert missing == ["/etc", "/etc/hosts", "/etc/resolv.conf"]
    (bare / "etc").mkdir()
    (bare / "etc/hosts").touch()
    (bare / "etc/resolv.conf").touch()
    remove_mount_points(str(bare), missing)
    assert list(bare.iterdir()) == []


def test_stderr_frames_are_marked_red_and_stdout_is_not() -> None:
    received: list[str] = []

    async def output(text: str) -> None:
        received.append(text)

    async def main() -> None:
        sink = _OutputSink(output)
        await sink.write(b"\x01\0\0\0\0\0\0\x04out\n")
        await sink.write(b"\x02\0\0\0\0\0\0\x04err\n")
        snowman = "☃".encode()
        await sink.write(b"\x01\0\0\0\0\0\0\x02" + snowman[:2])  # a character split across writes
        await sink.write(b"\x01\0\0\0\0\0\0\x02" + snowman[2:] + b"\n")

    asyncio.run(main())
    assert received == ["out\n", "\x1b[91merr\n\x1b[0m", "☃\n"]
