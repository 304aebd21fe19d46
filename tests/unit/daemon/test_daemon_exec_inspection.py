"""Exec process building, top's ps parsing, stats from cgroup files, health check config, and the
archive code kept inside a root directory (no root needed: openat2 is unprivileged)."""

from __future__ import annotations

import io
import os
import stat
import tarfile
from pathlib import Path

import pytest

from wharf import errdefs
from wharf.daemon.backend import archive, stats
from wharf.daemon.backend.container_fs import open_in_root, resolve_in_root
from wharf.daemon.backend.exec import ExecRecord, build_exec_process
from wharf.daemon.backend.health import health_config
from wharf.daemon.backend.top import parse_ps_output

# ---- exec -------------------------------------------------------------------------------------

CONTAINER_SPEC = {
    "process": {
        "terminal": False, "user": {"uid": 0, "gid": 0}, "args": ["sleep", "300"],
        "env": ["PATH=/bin", "HOSTNAME=abc"], "cwd": "/srv",
        "capabilities": {"bounding": ["CAP_CHOWN"], "effective": ["CAP_CHOWN"], "permitted": ["CAP_CHOWN"]},
        "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
        "noNewPrivileges": True,
    }
}  # fmt: skip
CONTAINER_CONFIG = {"Hostname": "abc", "Env": ["A=1", "B=2"]}


def test_exec_process_keeps_the_containers_limits_and_merges_env() -> None:
    process = build_exec_process(CONTAINER_SPEC, CONTAINER_CONFIG, {"Cmd": ["env"], "Env": ["B=3", "C=4"]})
    assert process["args"] == ["env"]
    assert process["cwd"] == "/srv"
    assert process["terminal"] is False
    assert process["rlimits"] == CONTAINER_SPEC["process"]["rlimits"]
    assert process["noNewPrivileges"] is True
    assert process["capabilities"]["bounding"] == ["CAP_CHOWN"]
    env = process["env"]
    assert "HOSTNAME=abc" in env and "A=1" in env and "B=3" in env and "C=4" in env
    assert "B=2" not in env and not any(e.startswith("TERM=") for e in env)
    assert CONTAINER_SPEC["process"]["args"] == ["sleep", "300"]  # the container's spec is left alone


def test_exec_process_with_tty_workdir_and_privileged() -> None:
    process = build_exec_process(CONTAINER_SPEC, CONTAINER_CONFIG,
                                 {"Cmd": ["sh"], "Tty": True, "WorkingDir": "/tmp", "Privileged": True})
    assert process["terminal"] is True and "TERM=xterm" in process["env"]
    assert process["cwd"] == "/tmp"
    assert len(process["capabilities"]["bounding"]) > 1


def test_exec_inspect_shape() -> None:
    record = ExecRecord(id="e1", container_id="c1", cmd=["sh", "-c", "true"], tty=False, attach_stdin=False,
                        attach_stdout=True, attach_stderr=True, privileged=False, user="", detach_keys="")
    out = record.inspect()
    assert out["ExitCode"] is None and out["Running"] is False
    assert out["ProcessConfig"] == {"tty": False, "entrypoint": "sh", "arguments": ["-c", "true"],
                                    "privileged": False}
    assert out["ContainerID"] == "c1" and out["OpenStdout"] is True


# ---- top --------------------------------------------------------------------------------------

PS_OUTPUT = """UID          PID    PPID  C STIME TTY          TIME CMD
root           1       0  0 10:00 ?        00:00:01 /sbin/init
root         100       1  0 10:01 ?        00:00:00 sleep 300 --long arg
root         101     100  0 10:01 ?        00:00:00 sh -c x
"""


def test_ps_output_is_filtered_to_the_containers_pids() -> None:
    out = parse_ps_output(PS_OUTPUT, {100, 101})
    assert out["Titles"] == ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"]
    assert [p[1] for p in out["Processes"]] == ["100", "101"]
    assert out["Processes"][0][-1] == "sleep 300 --long arg"


def test_ps_output_without_pid_is_refused() -> None:
    with pytest.raises(errdefs.InvalidArgument):
        parse_ps_output("COMMAND\nsleep\n", {1})


# ---- stats ------------------------------------------------------------------------------------


def test_stats_from_cgroup_v1_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    group = "wharf/abc"
    for controller, files in {
        "memory": {"memory.usage_in_bytes": "1000", "memory.max_usage_in_bytes": "2000",
                   "memory.limit_in_bytes": "67108864", "memory.stat": "cache 10\nrss 20\n", "memory.failcnt": "0"},
        "cpuacct": {"cpuacct.usage": "5000", "cpuacct.usage_percpu": "2000 3000 ", "cpuacct.stat": "user 1\nsystem 2\n"},
        "cpu": {"cpu.stat": "nr_periods 4\nnr_throttled 1\nthrottled_time 9\n"},
        "pids": {"pids.current": "3", "pids.max": "max"},
        "blkio": {"blkio.throttle.io_service_bytes": "8:0 Read 512\n8:0 Write 1024\nTotal 1536\n"},
    }.items():  # fmt: skip
        directory = tmp_path / controller / group
        directory.mkdir(parents=True)
        for name, text in files.items():
            (directory / name).write_text(text)
    monkeypatch.setattr(stats, "CGROUP_ROOT", tmp_path)
    first = stats.sample("/" + group, 0)
    reading = stats.to_api("abc", "/web", first, first)
    assert reading["memory_stats"]["usage"] == 1000 and reading["memory_stats"]["limit"] == 67108864
    assert reading["memory_stats"]["stats"] == {"cache": 10, "rss": 20}
    assert reading["cpu_stats"]["cpu_usage"]["total_usage"] == 5000
    assert reading["cpu_stats"]["cpu_usage"]["percpu_usage"] == [2000, 3000]
    assert reading["cpu_stats"]["throttling_data"]["throttled_periods"] == 1
    assert reading["pids_stats"] == {"current": 3}
    assert reading["blkio_stats"]["io_service_bytes_recursive"][1] == {"major": 8, "minor": 0, "op": "Write",
                                                                       "value": 1024}
    assert reading["name"] == "/web"
    assert reading["cpu_stats"]["system_cpu_usage"] > 0


def test_stats_of_a_stopped_container_are_zeroed() -> None:
    reading = stats.to_api("abc", "/web", None, None)
    assert reading["memory_stats"] == {} and reading["read"] == "0001-01-01T00:00:00Z"


# ---- health -----------------------------------------------------------------------------------


def test_health_config_forms_and_defaults() -> None:
    assert health_config({}) is None
    assert health_config({"Healthcheck": {"Test": ["NONE"]}}) is None
    shell = health_config({"Healthcheck": {"Test": ["CMD-SHELL", "curl -f x || exit 1"], "Interval": 2_000_000_000}})
    assert shell is not None
    assert shell.command == ["/bin/sh", "-c", "curl -f x || exit 1"]
    assert shell.interval == 2.0 and shell.timeout == 30.0 and shell.retries == 3 and shell.start_period == 0
    direct = health_config({"Healthcheck": {"Test": ["CMD", "true", "x"], "Retries": 5}})
    assert direct is not None and direct.command == ["true", "x"] and direct.retries == 5


# ---- archive ----------------------------------------------------------------------------------


@pytest.fixture
def rootfs(tmp_path: Path) -> tuple[Path, Path]:
    """A root with links that aim out of it, and the outside directory they aim at."""
    root, outside = tmp_path / "root", tmp_path / "outside"
    (root / "data").mkdir(parents=True)
    outside.mkdir()
    (outside / "secret").write_text("host\n")
    (root / "data/file").write_text("inside\n")
    os.symlink(str(outside), root / "abs")
    os.symlink("../../../../../../../../" + str(outside).lstrip("/"), root / "data/rel")
    os.symlink("file", root / "data/link")
    return root, outside


def _root_fd(root: Path) -> int:
    return os.open(root, os.O_PATH | os.O_DIRECTORY)


def test_archive_reads_inside_only(rootfs: tuple[Path, Path]) -> None:
    root, _ = rootfs
    fd = _root_fd(root)
    try:
        for path in ("/abs/secret", "/data/rel/secret"):
            with pytest.raises(errdefs.NotFound):
                archive.write_archive(fd, path, io.BytesIO(), "c1")
        out = io.BytesIO()
        archive.write_archive(fd, "/data", out, "c1")
        out.seek(0)
        with tarfile.open(fileobj=out) as tar:
            assert sorted(tar.getnames()) == ["data", "data/file", "data/link", "data/rel"]
            assert tar.getmember("data/link").issym()
        stat_info = archive.path_stat(fd, "/data/link", "c1")
        assert stat_info["linkTarget"] == "/data/file" and stat_info["name"] == "link"
        assert resolve_in_root(fd, "/abs") == str(rootfs[1])  # the path inside, not the host's
    finally:
        os.close(fd)


def _tar(*members: tuple[tarfile.TarInfo, bytes | None]) -> io.BytesIO:
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w") as tar:
        for info, payload in members:
            if payload is not None:
                info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload) if payload is not None else None)
    data.seek(0)
    return data


def _entry(name: str, kind: bytes = tarfile.REGTYPE, linkname: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.mode = kind, linkname, 0o644
    info.uid, info.gid = os.getuid(), os.getgid()
    return info


def test_extract_writes_inside_only(rootfs: tuple[Path, Path]) -> None:
    root, outside = rootfs
    fd = _root_fd(root)
    try:
        with pytest.raises(errdefs.NotFound):  # the destination resolves inside: no such dir there
            archive.extract_archive(fd, "/abs", _tar((_entry("x"), b"x")), "c1", copy_uid_gid=True)
        with pytest.raises(errdefs.InvalidArgument):  # a link of the tar's own is never gone through
            archive.extract_archive(fd, "/data", _tar((_entry("evil", tarfile.SYMTYPE, str(outside)), None),
                                                      (_entry("evil/secret"), b"owned\n")), "c1", copy_uid_gid=True)
        with pytest.raises(errdefs.InvalidArgument):
            archive.extract_archive(fd, "/data", _tar((_entry("../../../outside/secret"), b"owned\n")), "c1",
                                    copy_uid_gid=True)
        # An existing symlink at a file's name is replaced, not written through.
        archive.extract_archive(fd, "/data", _tar((_entry("rel"), b"replaced\n")), "c1", copy_uid_gid=True)
        assert (root / "data/rel").read_text() == "replaced\n" and not (root / "data/rel").is_symlink()
        archive.extract_archive(fd, "/data", _tar((_entry("new", tarfile.DIRTYPE), None),
                                                  (_entry("new/f"), b"f\n"),
                                                  (_entry("new/h", tarfile.LNKTYPE, "new/f"), None)),
                                "c1", copy_uid_gid=True)  # fmt: skip
        assert (root / "data/new/h").read_text() == "f\n"
        assert os.stat(root / "data/new/h").st_ino == os.stat(root / "data/new/f").st_ino
    finally:
        os.close(fd)
    assert sorted(os.listdir(outside)) == ["secret"] and (outside / "secret").read_text() == "host\n"


def test_no_overwrite_dir_with_non_dir(rootfs: tuple[Path, Path]) -> None:
    root, _ = rootfs
    (root / "data/adir").mkdir()
    fd = _root_fd(root)
    try:
        with pytest.raises(errdefs.InvalidArgument):
            archive.extract_archive(fd, "/data", _tar((_entry("adir"), b"x")), "c1",
                                    no_overwrite_dir_non_dir=True, copy_uid_gid=True)
    finally:
        os.close(fd)
    assert (root / "data/adir").is_dir()


def test_go_file_mode() -> None:
    assert archive.go_file_mode(stat.S_IFDIR | 0o755) == (1 << 31) | 0o755
    assert archive.go_file_mode(stat.S_IFLNK | 0o777) == (1 << 27) | 0o777
    assert archive.go_file_mode(stat.S_IFREG | 0o4755) == (1 << 23) | 0o755


def test_open_in_root_keeps_dotdot_inside(rootfs: tuple[Path, Path]) -> None:
    root, _ = rootfs
    fd = _root_fd(root)
    try:
        inner = open_in_root(fd, "/../../data/file", os.O_RDONLY)
        with os.fdopen(inner) as f:
            assert f.read() == "inside\n"
    finally:
        os.close(fd)
