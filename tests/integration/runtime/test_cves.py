"""Security regression tests: each fails on a runtime with the named hole, whichever runtime it is.

CVE-2019-5736   a container process reaches the runtime's own binary (for wharf-runc: the Python
                interpreter) through /proc/PID/exe while the runtime is inside the container, and
                rewrites it on the host.
CVE-2024-21626  a host fd leaks into the container; a cwd of /proc/self/fd/N puts the process outside
                the rootfs.
CVE-2021-30465  a mount destination that is (or becomes) a symlink lands outside the rootfs.
masked paths    /proc/kcore, /proc/keys, /sys/firmware... are really hidden and cannot be unmasked.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.fixtures.bundle import make_bundle, read_spec, write_spec
from tests.fixtures.exe_hunter import build_exe_hunter
from tests.integration.runtime.conftest import Runtime, new_id


@pytest.fixture(scope="module")
def exe_hunter(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_exe_hunter(tmp_path_factory.mktemp("helpers"))


def _host_binaries(runtime: Runtime) -> list[Path]:
    """The host files a CVE-2019-5736 attack would rewrite: the runtime's binary and, for wharf-runc,
    its Python interpreter (what /proc/PID/exe of a wharf-runc process is)."""
    files = {Path(os.path.realpath(runtime.binary))}
    if runtime.name == "wharf-runc":
        files.add(Path(os.path.realpath(sys.executable)))
    if runtime.name == "crun":
        files.add(Path(os.path.realpath(shutil.which("crun") or runtime.binary)))
    return sorted(files)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _wait_for_line(path: Path, line: str, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = path.read_text() if path.exists() else ""
        if line in text.splitlines():
            return text
        time.sleep(0.05)
    raise AssertionError(f"{path}: no {line!r} in {timeout}s: {path.read_text() if path.exists() else ''!r}")


# --- CVE-2019-5736 -------------------------------------------------------------------------------------


def test_cve_2019_5736_runtime_binary_unreachable_during_exec(runtime: Runtime, tmp_path: Path,
                                                             exe_hunter: Path) -> None:
    """The container's init hunts /proc/*/exe while the runtime execs into the container, directly,
    through a `#!/proc/self/exe` script and as /proc/self/exe itself; it must never get hold of a host
    runtime file, and those files stay as they were."""
    targets = _host_binaries(runtime)
    before = {path: _sha256(path) for path in targets}
    keys = [f"{os.stat(p).st_dev}:{os.stat(p).st_ino}" for p in targets]
    bundle = make_bundle(tmp_path / "b", ["/bin/exe_hunter", "12", "/tmp/report", *keys])
    rootfs = bundle / "rootfs"
    shutil.copy2(exe_hunter, rootfs / "bin" / "exe_hunter")
    # The classic attack: the exec'd "binary" is a script whose interpreter is the exec'ing process itself.
    (rootfs / "bin" / "evil").write_text("#!/proc/self/exe\nimport os\nprint('HOST-INTERPRETER-RAN')\n")
    (rootfs / "bin" / "evil").chmod(0o755)
    container_id = new_id()
    runtime.ok("run", "--detach", "--bundle", str(bundle), container_id)
    report = rootfs / "tmp" / "report"
    _wait_for_line(report, "READY", 10)
    outputs = []
    for round_ in range(15):
        outputs.append(runtime.call("exec", container_id, "true"))
        outputs.append(runtime.call("exec", container_id, "/bin/evil"))
        if round_ % 5 == 0:
            outputs.append(runtime.call("exec", container_id, "/proc/self/exe", "-c", "print('HOST-INTERPRETER-RAN')"))
    text = _wait_for_line(report, "DONE", 30)
    assert "REACHED" not in text, f"{runtime.name}: a container process opened a host runtime file:\n{text}"
    for result in outputs:
        assert "HOST-INTERPRETER-RAN" not in result.stdout, f"{runtime.name} ran its interpreter in the container"
    assert {path: _sha256(path) for path in targets} == before


def test_cve_2019_5736_a_ptrace_capable_container_still_cannot_write_the_runtime(runtime: Runtime, tmp_path: Path,
                                                                                exe_hunter: Path) -> None:
    """With CAP_SYS_PTRACE the container may open /proc/PID/exe of the runtime's processes despite their
    being non-dumpable: whatever it reaches must not be writable (runc: a sealed memfd copy; wharf-runc:
    the interpreter's read-only bind mount), and the host files stay as they were."""
    targets = _host_binaries(runtime)
    before = {path: _sha256(path) for path in targets}
    keys = [f"{os.stat(p).st_dev}:{os.stat(p).st_ino}" for p in targets]
    bundle = make_bundle(tmp_path / "b", ["/bin/exe_hunter", "8", "/tmp/report", *keys])
    shutil.copy2(exe_hunter, bundle / "rootfs" / "bin" / "exe_hunter")
    spec = read_spec(bundle)
    for kind in ("bounding", "effective", "permitted"):
        spec["process"]["capabilities"][kind].append("CAP_SYS_PTRACE")
    write_spec(bundle, spec)
    container_id = new_id()
    runtime.ok("run", "--detach", "--bundle", str(bundle), container_id)
    report = bundle / "rootfs" / "tmp" / "report"
    _wait_for_line(report, "READY", 10)
    for _ in range(20):
        runtime.call("exec", container_id, "true")
    lines = _wait_for_line(report, "DONE", 30).splitlines()
    for i, line in enumerate(lines):
        if line.startswith("REACHED"):
            # "Text file busy" holds only while a process runs the file; the attack waits for that to
            # end, so the file must be out of reach for good: on a read-only mount (or not reached at all)
            assert lines[i + 1].startswith("NOT-WRITABLE") and lines[i + 1].endswith(" ro"), \
                f"{runtime.name}: {line} then {lines[i + 1]}"
    assert {path: _sha256(path) for path in targets} == before


def test_cve_2019_5736_exec_cannot_open_its_own_exe_for_writing(runtime: Runtime, tmp_path: Path,
                                                                 exe_hunter: Path) -> None:
    """The exec'd process opens /proc/self/exe (and the init's /proc/1/exe) for writing: it may only
    ever reach a file of the container, never a host file."""
    targets = _host_binaries(runtime)
    before = {path: _sha256(path) for path in targets}
    bundle = make_bundle(tmp_path / "b", ["sleep", "30"])
    container_id = new_id()
    runtime.ok("run", "--detach", "--bundle", str(bundle), container_id)
    for target in ("/proc/self/exe", "/proc/1/exe"):
        result = runtime.call("exec", container_id, "sh", "-c",
                              f"readlink {target}; echo -n >> {target} && echo OPENED")
        assert result.returncode in (0, 1), result.stderr
        for path in targets:
            assert str(path) not in result.stdout, f"{target} is the host's {path}"
    assert {path: _sha256(path) for path in targets} == before


# --- CVE-2024-21626 ------------------------------------------------------------------------------------

# `ls` lists its own fds: the one it reads the directory through points at /proc/PID/fd, left out.
_LIST_FDS = "ls -l /proc/self/fd"


def _fds(listing: str) -> dict[int, str]:
    fds = {}
    for line in listing.splitlines():
        name, arrow, target = line.partition(" -> ")
        if arrow and not (target.startswith("/proc/") and target.endswith("/fd")):
            fds[int(name.split()[-1])] = target
    return fds


def test_cve_2024_21626_no_host_fd_in_the_init(runtime: Runtime, tmp_path: Path) -> None:
    bundle = make_bundle(tmp_path / "b", ["sh", "-c", _LIST_FDS])
    result = runtime.run(bundle)
    assert result.returncode == 0, result.stderr
    fds = _fds(result.stdout)
    assert set(fds) <= {0, 1, 2}, f"{runtime.name} leaked fds into the container: {fds}"


def test_cve_2024_21626_no_host_fd_in_an_exec(runtime: Runtime, tmp_path: Path) -> None:
    bundle = make_bundle(tmp_path / "b", ["sleep", "30"])
    container_id = new_id()
    runtime.ok("run", "--detach", "--bundle", str(bundle), container_id)
    result = runtime.call("exec", container_id, "sh", "-c", _LIST_FDS)
    assert result.returncode == 0, result.stderr
    fds = _fds(result.stdout)
    assert set(fds) <= {0, 1, 2}, f"{runtime.name} leaked fds into an exec: {fds}"


@pytest.mark.parametrize("fd", range(3, 9))
def test_cve_2024_21626_cwd_through_a_leaked_fd_is_refused(runtime: Runtime, tmp_path: Path, fd: int) -> None:
    """A process must never start with a cwd outside the container's root: refused, or at worst inside."""
    bundle = make_bundle(tmp_path / "b", ["sh", "-c", "cd ../../../../../..; ls -a; readlink /proc/self/cwd"],
                         cwd=f"/proc/self/fd/{fd}")
    result = runtime.run(bundle)
    _assert_not_outside(runtime, result)


@pytest.mark.parametrize("fd", range(3, 9))
def test_cve_2024_21626_exec_cwd_through_a_leaked_fd_is_refused(runtime: Runtime, tmp_path: Path, fd: int) -> None:
    bundle = make_bundle(tmp_path / "b", ["sleep", "30"])
    container_id = new_id()
    runtime.ok("run", "--detach", "--bundle", str(bundle), container_id)
    result = runtime.call("exec", "--cwd", f"/proc/self/fd/{fd}", container_id, "sh", "-c",
                          "cd ../../../../../..; ls -a; readlink /proc/self/cwd")
    _assert_not_outside(runtime, result)


def _assert_not_outside(runtime: Runtime, result: subprocess.CompletedProcess[str]) -> None:
    if result.returncode != 0:
        return  # refused (no such directory, not a directory, or outside the root): all fine
    listing = result.stdout
    # Outside the root the walk up reaches the host's / (its usual dirs) and the cwd is unreachable.
    assert "(unreachable)" not in listing, f"{runtime.name}: the process ran outside the rootfs:\n{listing}"
    assert "exe_hunter" not in listing and "work" not in listing.split(), listing


# --- CVE-2021-30465 ------------------------------------------------------------------------------------


def _host_dir(tmp_path: Path) -> Path:
    """A host directory a breakout would land in, with one file: it must stay exactly like this."""
    target = tmp_path / "host-target"
    target.mkdir()
    (target / "sentinel").write_text("untouched")
    return target


def _assert_untouched(target: Path) -> None:
    assert sorted(p.name for p in target.iterdir()) == ["sentinel"], sorted(target.iterdir())
    assert (target / "sentinel").read_text() == "untouched"
    with open("/proc/self/mountinfo") as f:
        assert not any(f" {target}" in line for line in f), f"a mount appeared on the host at {target}"


@pytest.mark.parametrize("link_style", ["absolute", "relative"])
def test_cve_2021_30465_symlink_mount_destination_stays_in_the_rootfs(runtime: Runtime, tmp_path: Path,
                                                                       link_style: str) -> None:
    target = _host_dir(tmp_path)
    bundle = make_bundle(tmp_path / "b", ["sh", "-c", "touch /escape/pwned /escape/sub/pwned2 2>/dev/null; "
                                                      "ls /escape"])
    rootfs = bundle / "rootfs"
    link = str(target) if link_style == "absolute" else "../" * 12 + str(target).lstrip("/")
    os.symlink(link, rootfs / "escape")
    spec = read_spec(bundle)
    spec["mounts"].append({"destination": "/escape", "type": "tmpfs", "source": "tmpfs", "options": ["size=1m"]})
    write_spec(bundle, spec)
    result = runtime.run(bundle)
    _assert_untouched(target)
    # Either refused (crun: the symlink's target is missing in the rootfs) or mounted on the symlink's
    # target resolved inside the rootfs (runc, wharf-runc).
    if result.returncode == 0:
        assert (rootfs / str(target).lstrip("/")).is_dir()


def test_cve_2021_30465_destination_that_becomes_a_symlink(runtime: Runtime, tmp_path: Path) -> None:
    """An earlier mount brings a symlink to the host dir into the path of a later mount's destination:
    the later mount must resolve it inside the rootfs, as the container would see it."""
    target = _host_dir(tmp_path)
    volume = tmp_path / "volume"
    volume.mkdir()
    os.symlink(str(target), volume / "link")
    bind_source = tmp_path / "bind-source"
    bind_source.mkdir()
    (bind_source / "from-bind").write_text("x")
    bundle = make_bundle(tmp_path / "b", ["sh", "-c", "ls /vol/link/sub; touch /vol/link/sub/pwned"])
    spec = read_spec(bundle)
    spec["mounts"] += [
        {"destination": "/vol", "type": "bind", "source": str(volume), "options": ["rbind", "rw"]},
        {"destination": "/vol/link/sub", "type": "bind", "source": str(bind_source), "options": ["rbind", "rw"]},
    ]
    write_spec(bundle, spec)
    result = runtime.run(bundle)
    _assert_untouched(target)
    if result.returncode == 0:  # crun refuses instead: fine
        assert "from-bind" in result.stdout
        assert (bind_source / "pwned").exists()


def test_cve_2021_30465_bind_source_symlink_does_not_escape(runtime: Runtime, tmp_path: Path) -> None:
    """A destination under a rootfs symlink pointing at the host's /: nothing lands in the host's tree."""
    target = _host_dir(tmp_path)
    bundle = make_bundle(tmp_path / "b", ["true"])
    os.symlink("/", bundle / "rootfs" / "hostroot")
    spec = read_spec(bundle)
    spec["mounts"].append({"destination": f"/hostroot{target}", "type": "tmpfs", "source": "tmpfs"})
    write_spec(bundle, spec)
    result = runtime.run(bundle)
    _assert_untouched(target)
    if result.returncode == 0:
        assert (bundle / "rootfs" / str(target).lstrip("/")).is_dir()


# --- masked and read-only paths ------------------------------------------------------------------------

_MASK_PROBE = """
for f in /proc/kcore /proc/keys /proc/timer_list; do
  [ -e $f ] || continue
  echo "$f $(head -c 64 $f 2>/dev/null | wc -c)"
done
echo "/sys/firmware $(ls -A /sys/firmware | wc -l)"
echo "/proc/acpi $(ls -A /proc/acpi 2>/dev/null | wc -l)"
echo "/proc/scsi $(ls -A /proc/scsi 2>/dev/null | wc -l)"
umount /proc/kcore 2>/dev/null && echo UNMASKED-kcore
umount /sys/firmware 2>/dev/null && echo UNMASKED-firmware
echo 1 > /proc/sysrq-trigger 2>/dev/null && echo WROTE-sysrq
echo 1 > /proc/sys/kernel/ns_last_pid 2>/dev/null && echo WROTE-proc-sys
true
"""


def _check_masked(runtime: Runtime, result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 0, result.stderr
    for line in result.stdout.splitlines():
        assert not line.startswith(("UNMASKED", "WROTE")), f"{runtime.name}: {line}"
        path, _, count = line.rpartition(" ")
        assert count == "0", f"{runtime.name}: {path} is not masked ({count})"
    assert "/sys/firmware 0" in result.stdout


def test_masked_paths_are_masked_for_the_init(runtime: Runtime, tmp_path: Path) -> None:
    bundle = make_bundle(tmp_path / "b", ["sh", "-c", _MASK_PROBE])
    _check_masked(runtime, runtime.run(bundle))


def test_masked_paths_are_masked_for_an_exec(runtime: Runtime, tmp_path: Path) -> None:
    bundle = make_bundle(tmp_path / "b", ["sleep", "30"])
    container_id = new_id()
    runtime.ok("run", "--detach", "--bundle", str(bundle), container_id)
    _check_masked(runtime, runtime.call("exec", container_id, "sh", "-c", _MASK_PROBE))


def test_masked_paths_stay_masked_with_cap_sys_admin_dropped_only_after(runtime: Runtime, tmp_path: Path) -> None:
    """Even a process that keeps CAP_SYS_ADMIN sees the masks (it could remove them; it must not find
    the host's data there to begin with)."""
    bundle = make_bundle(tmp_path / "b", ["sh", "-c", "head -c 64 /proc/kcore | wc -c; ls -A /sys/firmware | wc -l"])
    spec = read_spec(bundle)
    for kind in ("bounding", "effective", "permitted"):
        spec["process"]["capabilities"][kind].append("CAP_SYS_ADMIN")
    write_spec(bundle, spec)
    result = runtime.run(bundle)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["0", "0"]
