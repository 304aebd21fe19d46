"""The seccomp filter a container gets: Wharf's default profile, a profile the user gave
(`--security-opt seccomp=<profile JSON>`, in Docker's profile format), or none (`unconfined`,
`--privileged`).

The default profile refuses, with EPERM, the system calls that Docker's documentation lists as
blocked by its default profile: kernel modules, keyrings, clocks, reboot, swap, accounting, BPF,
perf, the mount API, namespaces (`unshare`, `setns`, `clone` with namespace flags), process memory
access across processes, handle-based opens, io_uring… Most are allowed again by the capability
that guards them in the kernel when the container is given it (as Docker's profile does). `clone3`
answers ENOSYS so that C libraries fall back to `clone`, whose flags can be checked.
"""

from __future__ import annotations

import json
from typing import Any

from wharf import errdefs

EPERM = 1
ENOSYS = 38

ARCHITECTURES = ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]

ALWAYS_BLOCKED = [
    "add_key", "keyctl", "request_key",  # keyrings are not namespaced
    "kexec_load", "kexec_file_load", "create_module", "get_kernel_syms", "query_module", "nfsservctl",
    "uselib", "ustat", "sysfs", "_sysctl", "vm86", "vm86old", "userfaultfd",
    "io_uring_setup", "io_uring_enter", "io_uring_register",
]

# Blocked unless the container holds the capability named.
BLOCKED_WITHOUT = {
    "CAP_SYS_ADMIN": [
        "mount", "umount", "umount2", "pivot_root", "unshare", "setns", "sethostname", "setdomainname",
        "quotactl", "lookup_dcookie", "fanotify_init", "name_to_handle_at", "open_tree", "move_mount",
        "fsopen", "fsconfig", "fsmount", "fspick", "mount_setattr", "bpf", "perf_event_open", "swapon",
        "swapoff", "syslog",
    ],
    "CAP_SYS_BOOT": ["reboot"],
    "CAP_SYS_MODULE": ["init_module", "finit_module", "delete_module"],
    "CAP_SYS_PTRACE": ["process_vm_readv", "process_vm_writev", "kcmp", "ptrace"],
    "CAP_SYS_TIME": ["settimeofday", "stime", "clock_settime", "clock_adjtime", "adjtimex"],
    "CAP_SYS_RAWIO": ["iopl", "ioperm"],
    "CAP_SYS_PACCT": ["acct"],
    "CAP_SYS_NICE": ["mbind", "set_mempolicy", "move_pages", "get_mempolicy"],
    "CAP_DAC_READ_SEARCH": ["open_by_handle_at"],
}

CLONE_NAMESPACE_FLAGS = {
    "CLONE_NEWNS": 0x00020000, "CLONE_NEWCGROUP": 0x02000000, "CLONE_NEWUTS": 0x04000000,
    "CLONE_NEWIPC": 0x08000000, "CLONE_NEWUSER": 0x10000000, "CLONE_NEWPID": 0x20000000,
    "CLONE_NEWNET": 0x40000000, "CLONE_NEWTIME": 0x00000080,
}


def _errno_rule(names: list[str], errno: int = EPERM) -> dict[str, Any]:
    return {"names": sorted(names), "action": "SCMP_ACT_ERRNO", "errnoRet": errno}


def default_profile(capabilities: list[str]) -> dict[str, Any]:
    """Wharf's default filter for a container holding `capabilities` (CAP_* names)."""
    held = set(capabilities)
    blocked = list(ALWAYS_BLOCKED)
    for capability, names in BLOCKED_WITHOUT.items():
        if capability not in held:
            blocked += names
    # The kernel allows ptrace only within the container's pid namespace anyway; Docker allows it
    # on modern kernels too, so keep it when the rest of CAP_SYS_PTRACE's calls are refused.
    if "ptrace" in blocked:
        blocked.remove("ptrace")
    syscalls = [_errno_rule(blocked), _errno_rule(["clone3"], ENOSYS)]
    if "CAP_SYS_ADMIN" not in held:
        # clone with a namespace flag: one rule per flag (masked equality), as "any flag set".
        for flag in CLONE_NAMESPACE_FLAGS.values():
            syscalls.append({
                "names": ["clone"], "action": "SCMP_ACT_ERRNO", "errnoRet": EPERM,
                "args": [{"index": 0, "value": flag, "valueTwo": flag, "op": "SCMP_CMP_MASKED_EQ"}],
            })
    return {"defaultAction": "SCMP_ACT_ALLOW", "architectures": list(ARCHITECTURES), "syscalls": syscalls}


def from_docker_profile(text: str, capabilities: list[str]) -> dict[str, Any]:
    """A profile in Docker's format (what `--security-opt seccomp=file.json` sends) as linux.seccomp."""
    try:
        profile = json.loads(text)
    except ValueError as err:
        raise errdefs.InvalidArgument(f"Decoding seccomp profile failed: {err}") from err
    if not isinstance(profile, dict) or "defaultAction" not in profile:
        raise errdefs.InvalidArgument("Decoding seccomp profile failed: no defaultAction")
    held = set(capabilities)
    architectures = list(profile.get("architectures") or [])
    for entry in profile.get("archMap") or []:
        architectures += [entry.get("architecture", ""), *(entry.get("subArchitectures") or [])]
    syscalls = []
    for rule in profile.get("syscalls") or []:
        if not isinstance(rule, dict):
            raise errdefs.InvalidArgument("Decoding seccomp profile failed: a syscall rule is not an object")
        needs = set((rule.get("includes") or {}).get("caps") or [])
        excluded = set((rule.get("excludes") or {}).get("caps") or [])
        if (needs and not needs <= held) or (excluded and excluded & held):
            continue
        names = list(rule.get("names") or ([rule["name"]] if rule.get("name") else []))
        converted: dict[str, Any] = {"names": names, "action": rule.get("action", "SCMP_ACT_ALLOW")}
        if rule.get("args"):
            converted["args"] = rule["args"]
        if rule.get("errnoRet") is not None:
            converted["errnoRet"] = rule["errnoRet"]
        syscalls.append(converted)
    seccomp: dict[str, Any] = {"defaultAction": profile["defaultAction"],
                               "architectures": [a for a in architectures if a], "syscalls": syscalls}
    if profile.get("defaultErrnoRet") is not None:
        seccomp["defaultErrnoRet"] = profile["defaultErrnoRet"]
    return seccomp


def seccomp_for(security_opts: list[str], privileged: bool, capabilities: list[str]) -> dict[str, Any] | None:
    """linux.seccomp for a container, or None for no filter."""
    chosen = ""
    for option in security_opts:
        key, sep, value = option.partition("=")
        if not sep:
            key, sep, value = option.partition(":")
        if key == "seccomp":
            chosen = value
    if chosen == "unconfined" or (privileged and not chosen):
        return None
    if chosen in ("", "builtin"):
        return default_profile(capabilities)
    return from_docker_profile(chosen, capabilities)
