"""The seccomp filter a container gets: Wharf's default profile, a profile the user gave
(`--security-opt seccomp=<profile JSON>`, in Docker's profile format), or none (`unconfined`,
`--privileged`).

Both are resolved per container as Docker does: a profile is a list of conditional rules, and a
rule is kept only if the container's bounding capabilities, the architecture and the kernel meet
its conditions. The default profile (`seccomp_default`) is an allow-list: whatever it does not
allow fails with EPERM, so calls the kernel added after it was written are refused too.
"""

from __future__ import annotations

import json
import os
import platform
import re
from collections.abc import Iterable
from typing import Any

from wharf import errdefs
from wharf.daemon.seccomp_default import ARCH_MAP, EPERM, RULES, ArgCondition, Rule

# platform.machine() -> Go's architecture name, which profiles' "arches" conditions use.
_GO_ARCH = {"x86_64": "amd64", "aarch64": "arm64", "i686": "386", "i386": "386", "s390x": "s390x",
            "riscv64": "riscv64", "ppc64le": "ppc64le", "armv7l": "arm"}


def native_arch() -> str:
    machine = platform.machine()
    return _GO_ARCH.get(machine, machine)


def kernel_version() -> tuple[int, int]:
    found = re.match(r"(\d+)\.(\d+)", os.uname().release)
    return (int(found.group(1)), int(found.group(2))) if found else (0, 0)


def _applies(rule: Rule, held: set[str], arch: str, kernel: tuple[int, int]) -> bool:
    if rule.needs and not rule.needs <= held:
        return False
    if rule.unless & held:
        return False
    if rule.arches and arch not in rule.arches:
        return False
    if arch in rule.not_arches:
        return False
    if rule.below_kernel is not None and kernel >= rule.below_kernel:
        return False
    return rule.min_kernel is None or kernel >= rule.min_kernel


def resolve(default_action: str, default_errno: int | None, architectures: list[str], rules: Iterable[Rule],
            capabilities: Iterable[str], arch: str | None = None,
            kernel: tuple[int, int] | None = None) -> dict[str, Any]:
    """linux.seccomp for a container holding `capabilities` (its bounding set, CAP_* names)."""
    held, arch = set(capabilities), arch or native_arch()
    kernel = kernel or kernel_version()
    syscalls = []
    for rule in rules:
        if not _applies(rule, held, arch, kernel):
            continue
        entry: dict[str, Any] = {"names": list(rule.names), "action": rule.action}
        if rule.errno is not None:
            entry["errnoRet"] = rule.errno
        if rule.args:
            entry["args"] = [condition.as_oci() for condition in rule.args]
        syscalls.append(entry)
    seccomp: dict[str, Any] = {"defaultAction": default_action, "architectures": architectures,
                               "syscalls": syscalls}
    if default_errno is not None:
        seccomp["defaultErrnoRet"] = default_errno
    return seccomp


def default_profile(capabilities: list[str]) -> dict[str, Any]:
    """Wharf's default filter for a container holding `capabilities` (CAP_* names)."""
    architectures = list(ARCH_MAP.get(native_arch(), ()))
    return resolve("SCMP_ACT_ERRNO", EPERM, architectures, RULES, capabilities)


# ---- profiles in Docker's format ------------------------------------------------------------------

def _fail(why: str) -> errdefs.InvalidArgument:
    return errdefs.InvalidArgument(f"Decoding seccomp profile failed: {why}")


def _rule_from_docker(raw: Any) -> Rule:
    """One entry of a Docker profile's "syscalls" as a Rule."""
    if not isinstance(raw, dict):
        raise _fail("a syscall rule is not an object")
    if raw.get("name") and raw.get("names"):
        raise _fail("both 'name' and 'names' are specified in the seccomp profile, use either 'name' or 'names'")
    names = tuple(raw.get("names") or ([raw["name"]] if raw.get("name") else []))
    includes, excludes = raw.get("includes") or {}, raw.get("excludes") or {}
    if not isinstance(includes, dict) or not isinstance(excludes, dict):
        raise _fail(f"includes/excludes of the rule for {list(names)} are not objects")
    try:
        args = tuple(ArgCondition(int(a["index"]), int(a.get("value", 0)), str(a["op"]), int(a.get("valueTwo", 0)))
                     for a in raw.get("args") or [])
    except (KeyError, TypeError, ValueError) as err:
        raise _fail(f"bad args in the rule for {list(names)}: {err}") from err
    return Rule(names, args=args, action=str(raw.get("action") or "SCMP_ACT_ALLOW"), errno=raw.get("errnoRet"),
                needs=frozenset(includes.get("caps") or ()), unless=frozenset(excludes.get("caps") or ()),
                arches=frozenset(includes.get("arches") or ()), not_arches=frozenset(excludes.get("arches") or ()),
                min_kernel=_kernel_condition(includes), below_kernel=_kernel_condition(excludes))


def _kernel_condition(condition: dict[str, Any]) -> tuple[int, int] | None:
    if not condition.get("minKernel"):
        return None
    found = re.match(r"(\d+)\.(\d+)", str(condition["minKernel"]))
    if not found:
        raise _fail(f"invalid kernel version {condition['minKernel']!r}")
    return int(found.group(1)), int(found.group(2))


def from_docker_profile(text: str, capabilities: list[str]) -> dict[str, Any]:
    """A profile in Docker's format (what `--security-opt seccomp=file.json` sends) as linux.seccomp."""
    try:
        profile = json.loads(text)
    except ValueError as err:
        raise _fail(str(err)) from err
    if not isinstance(profile, dict) or "defaultAction" not in profile:
        raise _fail("no defaultAction")
    if profile.get("architectures") and profile.get("archMap"):
        raise _fail("both 'architectures' and 'archMap' are specified in the seccomp profile")
    architectures = list(profile.get("architectures") or [])
    native = ARCH_MAP.get(native_arch(), ("",))[0]
    for entry in profile.get("archMap") or []:
        if entry.get("architecture") == native:  # as Docker: only the native entry's architectures
            architectures += [native, *(entry.get("subArchitectures") or [])]
    rules = [_rule_from_docker(raw) for raw in profile.get("syscalls") or []]
    return resolve(str(profile["defaultAction"]), profile.get("defaultErrnoRet"), architectures, rules, capabilities)


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
