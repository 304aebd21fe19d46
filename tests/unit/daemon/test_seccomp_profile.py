"""The default seccomp profile is an allow-list resolved per container, as Docker's."""

from __future__ import annotations

import json

import pytest

from wharf import errdefs
from wharf.daemon.seccomp_default import RULES
from wharf.daemon.seccomp_profile import default_profile, from_docker_profile, resolve, seccomp_for

DEFAULT_CAPS = ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
                "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
                "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE"]


def allowed(seccomp: dict) -> set[str]:
    """Calls allowed without conditions on their arguments."""
    return {name for rule in seccomp["syscalls"] if rule["action"] == "SCMP_ACT_ALLOW" and not rule.get("args")
            for name in rule["names"]}


def test_default_denies_everything_not_listed_with_eperm() -> None:
    profile = default_profile(DEFAULT_CAPS)
    assert (profile["defaultAction"], profile["defaultErrnoRet"]) == ("SCMP_ACT_ERRNO", 1)
    names = allowed(profile)
    assert {"read", "execve", "clone3"} - names == {"clone3"}
    for refused in ("mount", "umount2", "unshare", "setns", "keyctl", "add_key", "kexec_load", "reboot", "swapon",
                    "init_module", "bpf", "perf_event_open", "open_by_handle_at", "kcmp", "pidfd_getfd",
                    "settimeofday", "acct", "iopl", "io_uring_setup", "userfaultfd"):
        assert refused not in names, refused


def test_capabilities_open_the_calls_they_guard() -> None:
    names = allowed(default_profile([*DEFAULT_CAPS, "CAP_SYS_ADMIN", "CAP_SYS_PTRACE", "CAP_SYS_BOOT"]))
    assert {"mount", "unshare", "setns", "clone", "clone3", "kcmp", "pidfd_getfd", "reboot"} <= names
    assert "init_module" not in names


def test_clone_is_allowed_only_without_namespace_flags_and_clone3_says_enosys() -> None:
    rules = default_profile(DEFAULT_CAPS)["syscalls"]
    clone = [r for r in rules if r["names"] == ["clone"]]
    assert clone == [{"names": ["clone"], "action": "SCMP_ACT_ALLOW",
                      "args": [{"index": 0, "value": 0x7E020000, "op": "SCMP_CMP_MASKED_EQ"}]}]
    assert {"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38} in rules
    with_admin = default_profile([*DEFAULT_CAPS, "CAP_SYS_ADMIN"])["syscalls"]
    assert not [r for r in with_admin if r.get("args") and r["names"] == ["clone"]]


def test_ptrace_follows_the_kernel_version() -> None:
    assert "ptrace" in allowed(resolve("SCMP_ACT_ERRNO", 1, [], RULES, DEFAULT_CAPS, "amd64", (6, 1)))
    assert "ptrace" not in allowed(resolve("SCMP_ACT_ERRNO", 1, [], RULES, DEFAULT_CAPS, "amd64", (4, 4)))


def test_architecture_conditions() -> None:
    assert "arch_prctl" in allowed(resolve("SCMP_ACT_ERRNO", 1, [], RULES, [], "amd64", (6, 1)))
    assert "arch_prctl" not in allowed(resolve("SCMP_ACT_ERRNO", 1, [], RULES, [], "arm64", (6, 1)))
    s390 = resolve("SCMP_ACT_ERRNO", 1, [], RULES, [], "s390x", (6, 1))["syscalls"]
    assert [r["args"][0]["index"] for r in s390 if r["names"] == ["clone"] and r.get("args")] == [1]


def test_docker_profile_conditions_are_resolved_for_the_container() -> None:
    text = json.dumps({
        "defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 38,
        "archMap": [{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86"]},
                    {"architecture": "SCMP_ARCH_AARCH64", "subArchitectures": ["SCMP_ARCH_ARM"]}],
        "syscalls": [
            {"names": ["read"], "action": "SCMP_ACT_ALLOW"},
            {"name": "mount", "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_ADMIN"]}},
            {"names": ["mkdir"], "action": "SCMP_ACT_LOG", "excludes": {"caps": ["CAP_SYS_ADMIN"]}},
            {"names": ["old"], "action": "SCMP_ACT_ALLOW", "excludes": {"minKernel": "4.0"}},
        ],
    })
    plain = from_docker_profile(text, DEFAULT_CAPS)
    assert plain["defaultErrnoRet"] == 38
    assert [r["names"] for r in plain["syscalls"]] == [["read"], ["mkdir"]]
    assert plain["syscalls"][1]["action"] == "SCMP_ACT_LOG"
    admin = from_docker_profile(text, [*DEFAULT_CAPS, "CAP_SYS_ADMIN"])
    assert [r["names"] for r in admin["syscalls"]] == [["read"], ["mount"]]


@pytest.mark.parametrize("text", ["not json", "{}", '{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [1]}',
                                  '{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"name": "a", "names": ["b"]}]}',
                                  '{"defaultAction": "X", "architectures": ["A"], "archMap": [{}]}'])
def test_bad_profiles_are_invalid_arguments(text: str) -> None:
    with pytest.raises(errdefs.InvalidArgument):
        from_docker_profile(text, DEFAULT_CAPS)


def test_unconfined_and_privileged_have_no_filter() -> None:
    assert seccomp_for(["seccomp=unconfined"], False, DEFAULT_CAPS) is None
    assert seccomp_for([], True, DEFAULT_CAPS) is None
    assert seccomp_for([], False, DEFAULT_CAPS) == default_profile(DEFAULT_CAPS)
