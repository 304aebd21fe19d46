"""Default containers are confined by seccomp: calls Docker's default profile blocks fail inside."""

import subprocess
from pathlib import Path

import pytest

from tests.conftest import require_binary
from tests.fixtures.daemon import WharfDaemon

KEYCTL_PROBE = r"""
#include <errno.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>
int main(void) {
    /* KEYCTL_JOIN_SESSION_KEYRING = 1: harmless, but blocked by the default profile. */
    long r = syscall(SYS_keyctl, 1, 0, 0, 0, 0);
    if (r < 0) { printf("errno=%d\n", errno); return 1; }
    printf("ok\n");
    return 0;
}
"""


@pytest.fixture(scope="module")
def keyctl_probe(tmp_path_factory: pytest.TempPathFactory) -> Path:
    require_binary("gcc")
    directory = tmp_path_factory.mktemp("probe")
    (directory / "probe.c").write_text(KEYCTL_PROBE)
    built = subprocess.run(["gcc", "-static", "-O1", "-o", str(directory / "keyctl"), str(directory / "probe.c")],
                           capture_output=True, text=True)
    if built.returncode != 0:
        pytest.skip(f"cannot build a static probe: {built.stderr[-300:]}")
    return directory


def test_keyctl_is_blocked_unless_unconfined(wharf: WharfDaemon, keyctl_probe: Path) -> None:
    mount = f"{keyctl_probe}:/probe:ro"
    blocked = wharf.docker("run", "--rm", "--network", "none", "-v", mount, "busybox", "/probe/keyctl")
    assert (blocked.returncode, blocked.stdout) == (1, "errno=1\n"), blocked.stderr
    allowed = wharf.docker("run", "--rm", "--network", "none", "--security-opt", "seccomp=unconfined",
                           "-v", mount, "busybox", "/probe/keyctl")
    assert (allowed.returncode, allowed.stdout) == (0, "ok\n"), allowed.stderr


def test_new_user_namespaces_are_blocked(wharf: WharfDaemon) -> None:
    blocked = wharf.docker("run", "--rm", "--network", "none", "busybox", "unshare", "-U", "true")
    assert blocked.returncode != 0
    assert "Operation not permitted" in blocked.stderr
    allowed = wharf.docker("run", "--rm", "--network", "none", "--security-opt", "seccomp=unconfined",
                           "busybox", "unshare", "-U", "true")
    assert allowed.returncode == 0, allowed.stderr


def test_a_profile_given_by_the_user_is_applied(wharf: WharfDaemon, tmp_path: Path) -> None:
    profile = tmp_path / "profile.json"
    profile.write_text('{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": '
                       '[{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}]}')
    denied = wharf.docker("run", "--rm", "--network", "none", "--security-opt", f"seccomp={profile}",
                          "busybox", "mkdir", "/tmp/x")
    assert denied.returncode != 0
    assert "Operation not permitted" in denied.stderr
