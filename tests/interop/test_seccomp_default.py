"""Wharf's default seccomp profile is Docker's allow-list, resolved per container.

Inside a default container the calls Docker's default profile refuses fail with EPERM (unknown
calls too: it is an allow-list), everyday busybox work runs, capabilities given with --cap-add
open their calls, and --privileged is unconfined. With each runtime (wharf-runc, runc, crun), and
answered the same way as by a real Docker engine, when one is installed.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import require_binary
from tests.fixtures.daemon import WharfDaemon, started_with_busybox
from tests.fixtures.dockerd import DockerDaemon
from tests.interop.test_runtimes_under_wharfd import DaemonWithCrunWrapper, _crun_problem

PROBE_SOURCE = Path(__file__).parent.parent / "fixtures" / "syscall_probe.c"
EPERM = "errno=1"

# Refused by the default profile whatever the kernel would have said.
REFUSED = ["keyctl", "add_key", "kexec_load", "reboot", "swapon", "init_module", "settimeofday", "acct",
           "unshare_user", "clone_newns", "vsock", "personality_no_aslr", "pidfd_getfd"]
# Allowed: what programs need, and ptrace inside the container (as Docker on kernels >= 4.8).
ALLOWED = ["personality_query", "ptrace_attach"]
EVERYDAY = (
    "set -e; ls / >/dev/null; date >/dev/null; ps >/dev/null; top -b -n 1 >/dev/null;"
    " dd if=/dev/zero of=/tmp/z bs=4k count=4 2>/dev/null; chmod 600 /tmp/z; chown 1:1 /tmp/z;"
    " mkdir -p /tmp/www; echo served >/tmp/www/index.html; httpd -p 127.0.0.1:8080 -h /tmp/www;"
    " sleep 0.2; wget -q -O - http://127.0.0.1:8080/index.html; sh -c 'echo child' & wait;"
    " nslookup localhost 127.0.0.1 >/dev/null 2>&1 || true; echo done"
)


@pytest.fixture(scope="module")
def probe_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    require_binary("gcc")
    directory = tmp_path_factory.mktemp("probe")
    built = subprocess.run(["gcc", "-static", "-O1", "-o", str(directory / "probe"), str(PROBE_SOURCE)],
                           capture_output=True, text=True)
    if built.returncode != 0:
        pytest.skip(f"cannot build a static probe (no static libc?): {built.stderr[-300:]}")
    return directory


@pytest.fixture(scope="module", params=["wharf-runc", "runc", "crun"])
def engine(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WharfDaemon]:
    require_binary("docker")
    runtime = request.param
    if runtime != "wharf-runc":
        require_binary(runtime)
    daemon = DaemonWithCrunWrapper(runtime=runtime)
    if runtime == "crun":  # crun refuses this hybrid-cgroup host unless wrapped (see that module)
        problem = _crun_problem(shutil.which("crun") or "crun", tmp_path_factory.mktemp("crun-probe"))
        if problem:
            pytest.skip(f"crun cannot run containers on this host: {problem}")
        daemon.install_crun_wrapper(shutil.which("crun") or "crun")
    with started_with_busybox(daemon):
        yield daemon


def probe(daemon: WharfDaemon | DockerDaemon, probe_dir: Path, calls: list[str], *options: str) -> dict[str, str]:
    done = subprocess.run(["docker", "run", "--rm", "--network", "none", "-v", f"{probe_dir}:/probe:ro",
                           *options, "busybox", "/probe/probe", *calls],
                          capture_output=True, text=True, timeout=60, env=daemon.env)
    assert done.returncode == 0, done.stderr
    return dict(line.split(" ", 1) for line in done.stdout.splitlines())


def test_default_profile_refuses_what_docker_refuses(engine: WharfDaemon, probe_dir: Path) -> None:
    answers = probe(engine, probe_dir, REFUSED + ALLOWED + ["clone3"])
    assert {call: answers[call] for call in REFUSED} == dict.fromkeys(REFUSED, EPERM)
    assert {call: answers[call] for call in ALLOWED} == dict.fromkeys(ALLOWED, "ok")
    assert answers["clone3"] == "errno=38"  # ENOSYS, so C libraries fall back to clone


def test_calls_the_profile_does_not_know_are_refused(engine: WharfDaemon, probe_dir: Path) -> None:
    """An allow-list: a call number past every known one is refused (runc turns EPERM into
    ENOSYS for calls newer than its libseccomp knows, so that C libraries fall back)."""
    answer = probe(engine, probe_dir, ["unknown_syscall"])["unknown_syscall"]
    assert answer == ("errno=38" if engine.runtime == "runc" else EPERM)


def test_everyday_busybox_work_runs(engine: WharfDaemon) -> None:
    done = engine.docker("run", "--rm", "--network", "none", "busybox", "sh", "-c", EVERYDAY, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["served", "child", "done"], done.stdout


def test_busybox_tools_for_namespaces_and_mounts_are_refused(engine: WharfDaemon) -> None:
    for command in (["unshare", "-U", "true"], ["mount", "-t", "tmpfs", "none", "/mnt"], ["swapon", "/etc/passwd"]):
        done = engine.docker("run", "--rm", "--network", "none", "busybox", *command)
        assert done.returncode != 0, command
        # busybox mount words EPERM its own way
        assert any(m in done.stderr for m in ("Operation not permitted", "permission denied")), (command, done.stderr)


def test_cap_add_sys_admin_allows_mount(engine: WharfDaemon) -> None:
    done = engine.docker("run", "--rm", "--network", "none", "--cap-add", "SYS_ADMIN", "busybox", "sh", "-c",
                         "mount -t tmpfs none /mnt && touch /mnt/x && umount /mnt && unshare -m true && echo ok")
    assert (done.returncode, done.stdout) == (0, "ok\n"), done.stderr


def test_cap_add_sys_ptrace_allows_pidfd_getfd(engine: WharfDaemon, probe_dir: Path) -> None:
    assert probe(engine, probe_dir, ["pidfd_getfd"], "--cap-add", "SYS_PTRACE") == {"pidfd_getfd": "ok"}


def test_privileged_and_unconfined_have_no_filter(engine: WharfDaemon) -> None:
    for options in (["--privileged"], ["--security-opt", "seccomp=unconfined"]):
        done = engine.docker("run", "--rm", "--network", "none", *options, "busybox",
                             "sh", "-c", "grep Seccomp: /proc/self/status")
        assert done.stdout.split() == ["Seccomp:", "0"], (options, done.stdout, done.stderr)
    confined = engine.docker("run", "--rm", "--network", "none", "busybox", "grep", "Seccomp:", "/proc/self/status")
    assert confined.stdout.split() == ["Seccomp:", "2"], confined.stderr


def test_a_profile_file_in_docker_format_is_resolved_per_container(engine: WharfDaemon, tmp_path: Path) -> None:
    """--security-opt seccomp=file: conditions on capabilities are honoured, as Docker does."""
    profile = tmp_path / "profile.json"
    profile.write_text('{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": ['
                       '{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13,'
                       ' "excludes": {"caps": ["CAP_SYS_ADMIN"]}}]}')
    denied = engine.docker("run", "--rm", "--network", "none", "--security-opt", f"seccomp={profile}",
                           "busybox", "mkdir", "/tmp/x")
    assert "Permission denied" in denied.stderr
    allowed = engine.docker("run", "--rm", "--network", "none", "--security-opt", f"seccomp={profile}",
                            "--cap-add", "SYS_ADMIN", "busybox", "mkdir", "/tmp/x")
    assert allowed.returncode == 0, allowed.stderr


@pytest.fixture(scope="module")
def docker_engine() -> Iterator[DockerDaemon]:
    require_binary("docker")
    if not DockerDaemon.available():
        pytest.skip("dockerd is not installed")
    daemon = DockerDaemon()
    with started_with_busybox(daemon):
        yield daemon


def test_answers_match_the_real_docker_engine(docker_engine: DockerDaemon, probe_dir: Path) -> None:
    """Same runtime as the engine (runc), so only the profiles differ."""
    require_binary("runc")
    wharf = WharfDaemon(runtime="runc")
    try:
        wharf.start()
        wharf.import_busybox()
        # Docker 20.10's profile predates the AF_VSOCK rule of today's Docker; Wharf follows today's.
        calls = [c for c in REFUSED if c != "vsock"] + ALLOWED + ["clone3", "unknown_syscall"]
        # (not --cap-add ALL: this host's bounding set may lack some, which the real engine refuses)
        many = [arg for cap in ("SYS_ADMIN", "SYS_PTRACE", "SYS_BOOT", "SYS_MODULE", "SYS_TIME", "SYS_PACCT")
                for arg in ("--cap-add", cap)]
        for options in ([], ["--cap-add", "SYS_ADMIN"], ["--cap-add", "SYS_PTRACE"], many):
            assert probe(wharf, probe_dir, calls, *options) == probe(docker_engine, probe_dir, calls, *options), options
    finally:
        wharf.stop()

