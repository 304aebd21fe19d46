"""linux.seccomp of the spec -> a libseccomp filter (built before pivot_root, loaded just before exec)."""

from __future__ import annotations

import os
import zlib

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
_CACHE_FORMAT = "wharf-runc seccomp cache 2"  # 2: programs laid out as a binary tree


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


def build_filter(spec: Seccomp, cache_dir: str | None = None) -> lib.Filter:
    """The spec's filter, compiled. With CACHE_DIR, a program compiled before for the very same rules
    (and libseccomp, kernel and machine) is taken from there, and a new one is kept there: Docker's
    profile takes libseccomp ~8 ms to compile, on every create and every exec (crun keeps such a
    cache too)."""
    if cache_dir is None:
        return _compile(spec)
    key = _cache_key(spec)
    path = os.path.join(cache_dir, f"{zlib.crc32(key):08x}-{len(key)}.bpf")
    cached = _read_cached(path, key)
    if cached is not None:
        return cached
    compiled = _compile(spec)
    _store(path, key, compiled.program())
    return compiled


def _cache_key(spec: Seccomp) -> bytes:
    # The whole key is stored in the entry and compared byte for byte: the file name is only a lookup.
    machine = os.uname()
    return f"{_CACHE_FORMAT}\n{lib.library_identity()}\n{machine.release} {machine.machine}\n{spec!r}".encode()


def _read_cached(path: str, key: bytes) -> lib.Filter | None:
    try:
        with open(path, "rb") as file:
            entry = file.read()
    except OSError:
        return None
    body, checksum = entry[:-4], entry[-4:]
    if not body.startswith(key + b"\0") or zlib.crc32(body).to_bytes(4, "big") != checksum:
        return None  # another spec's entry under this name, or a damaged one: compiled again
    try:
        return lib.Filter.from_program(body[len(key) + 1:])
    except ValueError:
        return None


def _store(path: str, key: bytes, program: bytes) -> None:
    """Best effort, all or nothing: a reader finds the whole entry or none. The entry is the key, NUL,
    the program and a CRC-32 of both (the directory is root's alone, as the containers' state)."""
    temporary = f"{path}.{os.getpid()}"
    try:
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        try:
            body = key + b"\0" + program
            os.write(fd, body + zlib.crc32(body).to_bytes(4, "big"))
        finally:
            os.close(fd)
        os.rename(temporary, path)
    except OSError:
        try:
            os.unlink(temporary)
        except OSError:
            pass


def _compile(spec: Seccomp) -> lib.Filter:
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
