"""linux.seccomp of the spec -> a libseccomp filter (built before pivot_root, loaded just before exec)."""

from __future__ import annotations

from wharf import errdefs
from wharf.linux import seccomp as lib
from wharf.runtime.specconv import Seccomp

_ARCHES = {
    "SCMP_ARCH_X86": "x86", "SCMP_ARCH_X86_64": "x86_64", "SCMP_ARCH_X32": "x32", "SCMP_ARCH_ARM": "arm",
    "SCMP_ARCH_AARCH64": "aarch64", "SCMP_ARCH_MIPS": "mips", "SCMP_ARCH_MIPS64": "mips64",
    "SCMP_ARCH_MIPS64N32": "mips64n32", "SCMP_ARCH_MIPSEL": "mipsel", "SCMP_ARCH_MIPSEL64": "mipsel64",
    "SCMP_ARCH_MIPSEL64N32": "mipsel64n32", "SCMP_ARCH_PPC": "ppc", "SCMP_ARCH_PPC64": "ppc64",
    "SCMP_ARCH_PPC64LE": "ppc64le", "SCMP_ARCH_S390": "s390", "SCMP_ARCH_S390X": "s390x",
    "SCMP_ARCH_RISCV64": "riscv64",
}
EPERM = 1


def action_of(name: str, errno_ret: int | None) -> int:
    if name in ("SCMP_ACT_KILL", "SCMP_ACT_KILL_THREAD"):
        return lib.ACT_KILL_THREAD
    if name == "SCMP_ACT_KILL_PROCESS":
        return lib.ACT_KILL_PROCESS
    if name == "SCMP_ACT_TRAP":
        return lib.ACT_TRAP
    if name == "SCMP_ACT_ERRNO":
        return lib.ACT_ERRNO_BASE | ((EPERM if errno_ret is None else errno_ret) & 0xFFFF)
    if name == "SCMP_ACT_TRACE":
        return lib.ACT_TRACE_BASE | ((EPERM if errno_ret is None else errno_ret) & 0xFFFF)
    if name == "SCMP_ACT_LOG":
        return lib.ACT_LOG
    if name == "SCMP_ACT_ALLOW":
        return lib.ACT_ALLOW
    raise errdefs.InvalidArgument(f"seccomp: unsupported action {name}")


def build_filter(spec: Seccomp) -> lib.Filter:
    default = action_of(spec.default_action, spec.default_errno)
    seccomp_filter = lib.Filter(default)
    try:
        for arch in spec.architectures:
            if arch not in _ARCHES:
                raise errdefs.InvalidArgument(f"seccomp: unknown architecture {arch}")
            try:
                seccomp_filter.add_arch(_ARCHES[arch])
            except OSError:
                continue  # an architecture this libseccomp cannot add is one we cannot run anyway
        for rule in spec.syscalls:
            action = action_of(rule.action, rule.errno_ret)
            if action == default:
                continue  # libseccomp refuses rules that repeat the default
            args = [(a.index, _operator(a.op), a.value, a.value_two) for a in rule.args]
            # As runc: several conditions on one argument mean "any of them" (one rule each), otherwise "all".
            indexes = [a[0] for a in args]
            groups = [[a] for a in args] if len(set(indexes)) != len(indexes) else [args]
            for name in rule.names:
                number = seccomp_filter.syscall_number(name)
                if number < 0:
                    continue  # not a syscall on this architecture
                for group in groups:
                    seccomp_filter.add_rule(action, number, group)
        # Compiled now, while the container is being created: loading it later is one prctl.
        seccomp_filter.compile()
    except BaseException:
        seccomp_filter.release()
        raise
    return seccomp_filter


def _operator(name: str) -> int:
    try:
        return lib.OPERATORS[name]
    except KeyError as err:
        raise errdefs.InvalidArgument(f"seccomp: unknown operator {name}") from err
