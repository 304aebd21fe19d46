"""seccomp filters through libseccomp (ctypes). libseccomp returns -errno; each wrapper raises OSError."""

from __future__ import annotations

import ctypes
import errno
import os

_lib: ctypes.CDLL | None = None

ACT_KILL_THREAD = 0x00000000
ACT_KILL_PROCESS = 0x80000000
ACT_TRAP = 0x00030000
ACT_ERRNO_BASE = 0x00050000
ACT_TRACE_BASE = 0x7FF00000
ACT_LOG = 0x7FFC0000
ACT_ALLOW = 0x7FFF0000

# enum scmp_compare
OPERATORS = {
    "SCMP_CMP_NE": 1, "SCMP_CMP_LT": 2, "SCMP_CMP_LE": 3, "SCMP_CMP_EQ": 4,
    "SCMP_CMP_GE": 5, "SCMP_CMP_GT": 6, "SCMP_CMP_MASKED_EQ": 7,
}
_FLTATR_CTL_NNP = 3  # enum scmp_filter_attr: libseccomp would set no_new_privs itself otherwise


class ArgCmp(ctypes.Structure):
    _fields_ = (("arg", ctypes.c_uint), ("op", ctypes.c_int), ("datum_a", ctypes.c_uint64),
                ("datum_b", ctypes.c_uint64))


def library() -> ctypes.CDLL:
    global _lib
    if _lib is None:
        try:
            lib = ctypes.CDLL("libseccomp.so.2", use_errno=True)
        except OSError as err:
            raise OSError(errno.ENOSYS, "libseccomp.so.2 is not installed (Debian: libseccomp2)") from err
        lib.seccomp_init.restype = ctypes.c_void_p
        lib.seccomp_init.argtypes = (ctypes.c_uint32,)
        lib.seccomp_release.argtypes = (ctypes.c_void_p,)
        lib.seccomp_load.argtypes = (ctypes.c_void_p,)
        lib.seccomp_arch_add.argtypes = (ctypes.c_void_p, ctypes.c_uint32)
        lib.seccomp_arch_resolve_name.restype = ctypes.c_uint32
        lib.seccomp_arch_resolve_name.argtypes = (ctypes.c_char_p,)
        lib.seccomp_syscall_resolve_name.argtypes = (ctypes.c_char_p,)
        lib.seccomp_rule_add_array.argtypes = (ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int, ctypes.c_uint,
                                               ctypes.POINTER(ArgCmp))
        lib.seccomp_attr_set.argtypes = (ctypes.c_void_p, ctypes.c_int, ctypes.c_uint32)
        _lib = lib
    return _lib


def _check(result: int, what: str) -> None:
    if result < 0:
        raise OSError(-result, f"seccomp {what}: {os.strerror(-result)}")


class Filter:
    """A filter being built; `load` installs it on the calling thread (and what it execs)."""

    def __init__(self, default_action: int) -> None:
        self._lib = library()
        self._ctx = self._lib.seccomp_init(default_action)
        if not self._ctx:
            raise OSError(errno.EINVAL, "seccomp_init failed (bad default action?)")
        _check(self._lib.seccomp_attr_set(self._ctx, _FLTATR_CTL_NNP, 0), "attr_set")

    def add_arch(self, name: str) -> None:
        token = self._lib.seccomp_arch_resolve_name(name.encode())
        if token == 0:
            raise OSError(errno.EINVAL, f"seccomp: unknown architecture {name}")
        result = self._lib.seccomp_arch_add(self._ctx, token)
        if result != -errno.EEXIST:
            _check(result, f"arch_add {name}")

    @staticmethod
    def syscall_number(name: str) -> int:
        """The syscall's number on the native arch, or -1 when it has none."""
        return int(library().seccomp_syscall_resolve_name(name.encode()))

    def add_rule(self, action: int, syscall: int, args: list[tuple[int, int, int, int]]) -> None:
        """args: (index, operator, value, value_two), all of which must match (AND)."""
        array = (ArgCmp * max(len(args), 1))(*(ArgCmp(i, op, a, b) for i, op, a, b in args))
        _check(self._lib.seccomp_rule_add_array(self._ctx, action, syscall, len(args), array), "rule_add")

    def load(self) -> None:
        _check(self._lib.seccomp_load(self._ctx), "load")

    def release(self) -> None:
        if self._ctx:
            self._lib.seccomp_release(self._ctx)
            self._ctx = None
