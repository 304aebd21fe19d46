"""Process attributes with no os.* equivalent: prctl, hostname, domain name."""

from __future__ import annotations

import ctypes
import os

from wharf.linux.libc import check, libc
from wharf.linux.procfs import proc_start_time, proc_state

__all__ = ["join_session_keyring", "proc_start_time", "proc_state", "prctl", "set_child_subreaper",
           "set_no_new_privs", "sethostname", "setdomainname"]

PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_SET_KEEPCAPS = 8
PR_CAPBSET_DROP = 24
PR_SET_CHILD_SUBREAPER = 36
PR_SET_NO_NEW_PRIVS = 38
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_RAISE = 2
PR_CAP_AMBIENT_CLEAR_ALL = 4

libc.prctl.argtypes = (ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong)
libc.sethostname.argtypes = (ctypes.c_char_p, ctypes.c_size_t)
libc.setdomainname.argtypes = (ctypes.c_char_p, ctypes.c_size_t)


def prctl(option: int, arg2: int = 0, arg3: int = 0, arg4: int = 0, arg5: int = 0) -> int:
    return check(libc.prctl(option, arg2, arg3, arg4, arg5), "prctl")


def set_child_subreaper() -> None:
    prctl(PR_SET_CHILD_SUBREAPER, 1)


def set_no_new_privs() -> None:
    prctl(PR_SET_NO_NEW_PRIVS, 1)


_KEYCTL_JOIN_SESSION_KEYRING = 1


def join_session_keyring(name: str) -> None:
    """keyctl(KEYCTL_JOIN_SESSION_KEYRING, name): a new session keyring, so containers share none."""
    nr = 219 if os.uname().machine in ("aarch64", "arm64") else 250
    check(libc.syscall(nr, _KEYCTL_JOIN_SESSION_KEYRING, name.encode()), "keyctl")


def sethostname(name: str) -> None:
    raw = name.encode()
    check(libc.sethostname(raw, len(raw)), "sethostname")


def setdomainname(name: str) -> None:
    raw = name.encode()
    check(libc.setdomainname(raw, len(raw)), "setdomainname")
