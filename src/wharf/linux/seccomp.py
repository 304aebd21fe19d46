"""seccomp filters through libseccomp (ctypes). libseccomp returns -errno; each wrapper raises OSError."""

from __future__ import annotations

import ctypes
import errno
import os

from wharf.linux.libc import check

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
# enum scmp_filter_attr
_FLTATR_CTL_NNP = 3  # libseccomp would set no_new_privs itself otherwise
_FLTATR_CTL_OPTIMIZE = 8
_OPTIMIZE_BINARY_TREE = 2
_TREE_MIN_RULES = 8  # fewer rules gain nothing from a tree


_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER = 22, 2
# A prctl of our own: the shared libc handle's prctl has integer argtypes set by other wrappers.
_prctl = ctypes.CDLL(None, use_errno=True).prctl
_prctl.argtypes = (ctypes.c_int, ctypes.c_ulong, ctypes.c_void_p, ctypes.c_ulong, ctypes.c_ulong)
_SOCK_FILTER_SIZE = 8  # struct sock_filter: u16 code, u8 jt, u8 jf, u32 k


class _SockFprog(ctypes.Structure):
    _fields_ = (("len", ctypes.c_ushort), ("filter", ctypes.c_void_p))


class ArgCmp(ctypes.Structure):
    _fields_ = (("arg", ctypes.c_uint), ("op", ctypes.c_int), ("datum_a", ctypes.c_uint64),
                ("datum_b", ctypes.c_uint64))


class _Version(ctypes.Structure):
    _fields_ = (("major", ctypes.c_uint), ("minor", ctypes.c_uint), ("micro", ctypes.c_uint))


def library() -> ctypes.CDLL:
    global _lib
    if _lib is None:
        try:
            lib = ctypes.CDLL("libseccomp.so.2", use_errno=True)
        except OSError as err:
            raise OSError(errno.ENOSYS, "libseccomp.so.2 is not installed (Debian: libseccomp2)") from err
        lib.seccomp_init.restype = ctypes.c_void_p
        lib.seccomp_version.restype = ctypes.POINTER(_Version)
        lib.seccomp_api_get.restype = ctypes.c_uint
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
        lib.seccomp_export_bpf.argtypes = (ctypes.c_void_p, ctypes.c_int)
        _lib = lib
    return _lib


def library_identity() -> str:
    """What besides the rules decides the program libseccomp makes: its version and the API level it
    found in this kernel."""
    lib = library()
    version = lib.seccomp_version().contents
    return f"libseccomp {version.major}.{version.minor}.{version.micro} api {lib.seccomp_api_get()}"


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
        self._rules = 0
        self._program: _SockFprog | None = None

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
        self._rules += 1

    def compile(self) -> Filter:
        """Make the BPF program now, so that `load` is one prctl. libseccomp's own load compiles
        first (~7 ms for Docker's profile): done then, it would fall between the container's start
        and its exec."""
        if self._rules > _TREE_MIN_RULES:
            # The syscalls sorted into a binary tree instead of a chain: the same decisions, but
            # the kernel checks a new filter by running it for every syscall number, which for
            # Docker's profile is 0.8 ms of each exec and create as a chain and 0.3 ms as a tree.
            # Only for filters with rules, as runc does: libseccomp before 2.5.4 makes a tree with
            # none that kills every syscall. A libseccomp before 2.5 refuses the attribute.
            self._lib.seccomp_attr_set(self._ctx, _FLTATR_CTL_OPTIMIZE, _OPTIMIZE_BINARY_TREE)
        fd = os.memfd_create("seccomp-bpf", os.MFD_CLOEXEC)
        try:
            _check(self._lib.seccomp_export_bpf(self._ctx, fd), "export_bpf")
            size = os.lseek(fd, 0, os.SEEK_END)
            code = os.pread(fd, size, 0)
        finally:
            os.close(fd)
        self._set_program(code)
        return self

    @classmethod
    def from_program(cls, code: bytes) -> Filter:
        """A filter whose BPF program was compiled before (`program()` of an earlier one)."""
        if not code or len(code) % _SOCK_FILTER_SIZE:
            raise ValueError("not a BPF program")
        compiled = cls.__new__(cls)
        compiled._lib, compiled._ctx = library(), None
        compiled._set_program(code)
        return compiled

    def program(self) -> bytes:
        """The compiled BPF program (after `compile`)."""
        return self._code.raw

    def _set_program(self, code: bytes) -> None:
        # Everything `load` passes is made here: it may run where no module can be imported any more
        # (after pivot_root), so it must not reach for anything ctypes makes lazily.
        self._code = ctypes.create_string_buffer(code, len(code))
        self._program = _SockFprog(len(code) // _SOCK_FILTER_SIZE, ctypes.addressof(self._code))
        self._program_address = ctypes.addressof(self._program)

    def load(self) -> None:
        if self._program is None:
            _check(self._lib.seccomp_load(self._ctx), "load")
            return
        check(_prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, self._program_address, 0, 0), "seccomp load")

    def release(self) -> None:
        if self._ctx:
            self._lib.seccomp_release(self._ctx)
            self._ctx = None
