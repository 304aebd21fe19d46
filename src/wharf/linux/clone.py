"""fork(2) straight into a cgroup v2 directory: clone3(2) with CLONE_INTO_CGROUP (Linux 5.7).

The child is in the cgroup from its first instruction. Moving it there afterwards (writing its pid
to cgroup.procs) takes the kernel's global threadgroup lock, whose writer first waits for an RCU
grace period: 7-16 ms on an idle machine, paid on every `create` and `exec` otherwise.

The call is wrapped the way os.fork wraps fork(2): Python's before/after-fork hooks run around it
and the GIL stays held. One difference remains: glibc's cached thread id in the child is still the
parent's (glibc's own fork refreshes it). glibc only reads it to signal its own thread (raise,
abort, pthread_kill) and to own recursive mutexes, where the stale value is used consistently, so
a child that forks or execs soon, as the runtime's do, is unaffected; a grandchild it forks with
os.fork gets a fresh one.
"""

from __future__ import annotations

import ctypes
import os
from _signal import SIGCHLD
from errno import E2BIG, EINVAL, ENOSYS

_SYS_CLONE3 = 435  # the same number on every architecture (allocated after the tables were unified)
_CLONE_INTO_CGROUP = 0x200000000

# ENOSYS: no clone3 (before 5.3, or a seccomp profile like Docker's default that hides it);
# E2BIG / EINVAL: a clone3 without the cgroup field or flag (before 5.7).
UNSUPPORTED = (ENOSYS, E2BIG, EINVAL)


class _CloneArgs(ctypes.Structure):
    _fields_ = [(name, ctypes.c_uint64) for name in (
        "flags", "pidfd", "child_tid", "parent_tid", "exit_signal", "stack", "stack_size", "tls",
        "set_tid", "set_tid_size", "cgroup",
    )]


# PyDLL: the GIL stays held across the call, as os.fork holds it across fork(2).
_syscall = ctypes.PyDLL(None, use_errno=True).syscall
_syscall.restype = ctypes.c_long
_syscall.argtypes = (ctypes.c_long, ctypes.c_void_p, ctypes.c_size_t)
_python = ctypes.pythonapi


def fork_into_cgroup(cgroup_dir_fd: int) -> int:
    """Like os.fork(), with the child born in the cgroup v2 directory `cgroup_dir_fd`.

    Raises OSError in the parent when no child was made; errno in UNSUPPORTED means this kernel (or
    a seccomp filter over us) has no CLONE_INTO_CGROUP, anything else is the cgroup's refusal."""
    args = _CloneArgs(flags=_CLONE_INTO_CGROUP, exit_signal=SIGCHLD, cgroup=cgroup_dir_fd)
    _python.PyOS_BeforeFork()
    pid = _syscall(_SYS_CLONE3, ctypes.byref(args), ctypes.sizeof(args))
    if pid == 0:
        _python.PyOS_AfterFork_Child()
        return 0
    err = ctypes.get_errno()
    _python.PyOS_AfterFork_Parent()
    if pid < 0:
        raise OSError(err, f"clone3(CLONE_INTO_CGROUP): {os.strerror(err)}")
    return pid
