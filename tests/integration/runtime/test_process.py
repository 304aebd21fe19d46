"""What the container's process sees, the same under wharf-runc, runc and crun."""

from __future__ import annotations

import os
from pathlib import Path

from tests.fixtures.bundle import make_bundle, read_spec, write_spec
from tests.integration.runtime.conftest import Runtime


def test_run_passes_stdio_through_and_returns_the_exit_code(runtime: Runtime, tmp_path: Path) -> None:
    bundle = make_bundle(tmp_path / "b", ["sh", "-c", "echo hello; echo oops >&2; exit 7"])
    result = runtime.run(bundle)
    assert (result.returncode, result.stdout, result.stderr) == (7, "hello\n", "oops\n")


def test_stdin_reaches_the_container(runtime: Runtime, tmp_path: Path) -> None:
    bundle = make_bundle(tmp_path / "b", ["sh", "-c", "read line; echo got:$line"])
    result = runtime.run(bundle, input="ping\n", stdin=None)
    assert result.stdout == "got:ping\n"


def test_hostname_env_and_cwd_come_from_the_spec(runtime: Runtime, tmp_path: Path) -> None:
    bundle = make_bundle(tmp_path / "b", ["sh", "-c", 'hostname; echo "$GREETING"; pwd'],
                         hostname="boxy", env=["GREETING=hi there"], cwd="/tmp")
    assert runtime.run(bundle).stdout == "boxy\nhi there\n/tmp\n"


def test_process_runs_as_the_spec_user_with_its_groups(runtime: Runtime, tmp_path: Path) -> None:
    bundle = make_bundle(tmp_path / "b", ["sh", "-c", "id -u; id -g; id -G"], uid=65534, gid=65534)
    spec = read_spec(bundle)
    spec["process"]["user"]["additionalGids"] = [100, 5]
    write_spec(bundle, spec)
    assert runtime.run(bundle).stdout.split("\n")[:3] == ["65534", "65534", "65534 5 100"]


def test_init_is_pid_1_of_its_own_pid_namespace(runtime: Runtime, tmp_path: Path) -> None:
    bundle = make_bundle(tmp_path / "b", ["sh", "-c", "echo $$; ls /proc | grep -c '^[0-9]'"])
    init_pid, visible = runtime.run(bundle).stdout.split()
    assert init_pid == "1"
    assert int(visible) <= 3  # sh, ls and grep: no host process is visible


def test_network_namespace_has_only_loopback(runtime: Runtime, tmp_path: Path) -> None:
    bundle = make_bundle(tmp_path / "b", ["ls", "/sys/class/net"])
    assert runtime.run(bundle).stdout.split() == ["lo"]


def test_no_host_fd_reaches_the_container(runtime: Runtime, tmp_path: Path) -> None:
    bundle = make_bundle(tmp_path / "b", ["ls", "/proc/self/fd"])
    # 0-2 are stdio, 3 is ls's own directory fd.
    assert runtime.run(bundle).stdout.split() == ["0", "1", "2", "3"]


def test_readonly_root_and_masked_paths(runtime: Runtime, tmp_path: Path) -> None:
    script = "touch /x 2>/dev/null && echo wrote; cat /proc/timer_list | wc -c; ls /sys/firmware | wc -l; echo 1 > /proc/sys/kernel/ns_last_pid || echo ro"
    bundle = make_bundle(tmp_path / "b", ["sh", "-c", script], readonly=True)
    assert runtime.run(bundle).stdout.split() == ["0", "0", "ro"]


def test_rlimits_and_capabilities_are_applied(runtime: Runtime, tmp_path: Path) -> None:
    bundle = make_bundle(tmp_path / "b", ["sh", "-c", "ulimit -n; grep -E '^Cap(Eff|Bnd)|NoNewPrivs' /proc/self/status"])
    spec = read_spec(bundle)
    spec["process"]["capabilities"] = {k: ["CAP_KILL", "CAP_CHOWN"] for k in ("bounding", "effective", "permitted")}
    spec["process"]["rlimits"] = [{"type": "RLIMIT_NOFILE", "hard": 512, "soft": 256}]
    write_spec(bundle, spec)
    lines = runtime.run(bundle).stdout.split("\n")
    assert lines[0] == "256"
    fields = dict(line.split(":\t") for line in lines[1:] if line)
    assert int(fields["CapEff"], 16) == (1 << 0) | (1 << 5)
    assert int(fields["CapBnd"], 16) == (1 << 0) | (1 << 5)
    assert fields["NoNewPrivs"] == "1"


def test_devices_exist_in_dev(runtime: Runtime, tmp_path: Path) -> None:
    bundle = make_bundle(tmp_path / "b", ["sh", "-c", "echo x > /dev/null && head -c 4 /dev/zero | wc -c; readlink /dev/ptmx; readlink /dev/fd"])
    assert runtime.run(bundle).stdout.split() == ["4", "pts/ptmx", "/proc/self/fd"]


def test_bind_mount_from_the_host_is_visible_and_readonly(runtime: Runtime, tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "note").write_text("from host\n")
    bundle = make_bundle(tmp_path / "b", ["sh", "-c", "cat /data/note; touch /data/x 2>/dev/null || echo ro"])
    spec = read_spec(bundle)
    spec["mounts"].append({"destination": "/data", "type": "bind", "source": str(shared), "options": ["rbind", "ro"]})
    write_spec(bundle, spec)
    assert runtime.run(bundle).stdout == "from host\nro\n"


def test_an_inherited_high_fd_does_not_leak_past_a_lowered_nofile(runtime: Runtime, tmp_path: Path) -> None:
    bundle = make_bundle(tmp_path / "b", ["ls", "/proc/self/fd"])
    spec = read_spec(bundle)
    spec["process"]["rlimits"] = [{"type": "RLIMIT_NOFILE", "hard": 64, "soft": 64}]
    write_spec(bundle, spec)
    host_fd = os.open("/etc/hostname", os.O_RDONLY)  # inheritable, as a careless caller's would be
    high = 300
    os.dup2(host_fd, high)
    try:
        result = runtime.run(bundle, pass_fds=(high,))
    finally:
        os.close(high)
        os.close(host_fd)
    assert result.stdout.split() == ["0", "1", "2", "3"]
