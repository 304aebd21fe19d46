"""The data of Wharf's default seccomp profile: what Docker's default profile allows.

It is an allow-list: every call not allowed here fails with EPERM. A rule can depend on the
container's bounding capabilities (`needs`: allowed only when all are held; `unless`: skipped when
any is held), on the architecture (Go's names, as Docker's profile uses them) and on the kernel.
`seccomp_profile` turns this into one container's `linux.seccomp`.

The list follows Docker's `profiles/seccomp/default.json` (the behaviour users know), grouped
here by what the calls are for.
"""

from __future__ import annotations

from dataclasses import dataclass

EPERM = 1
ENOSYS = 38

# clone flags that make new namespaces (CLONE_NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET).
CLONE_NAMESPACE_MASK = 0x7E020000
AF_VSOCK = 40


@dataclass(frozen=True)
class ArgCondition:
    index: int
    value: int
    op: str
    value_two: int = 0

    def as_oci(self) -> dict[str, int | str]:
        condition: dict[str, int | str] = {"index": self.index, "value": self.value, "op": self.op}
        if self.value_two:
            condition["valueTwo"] = self.value_two
        return condition


@dataclass(frozen=True)
class Rule:
    """What `action` a container that meets the conditions gets for calls `names`."""
    names: tuple[str, ...]
    args: tuple[ArgCondition, ...] = ()
    action: str = "SCMP_ACT_ALLOW"
    errno: int | None = None
    needs: frozenset[str] = frozenset()
    unless: frozenset[str] = frozenset()
    arches: frozenset[str] = frozenset()
    not_arches: frozenset[str] = frozenset()
    min_kernel: tuple[int, int] | None = None
    below_kernel: tuple[int, int] | None = None
    """kept only on kernels older than this (Docker's `excludes.minKernel`)"""


def _names(text: str) -> tuple[str, ...]:
    return tuple(text.split())


# Go architecture name -> (main seccomp architecture, the ones its binaries may also use).
ARCH_MAP: dict[str, tuple[str, ...]] = {
    "amd64": ("SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"),
    "arm64": ("SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"),
    "s390x": ("SCMP_ARCH_S390X", "SCMP_ARCH_S390"),
    "riscv64": ("SCMP_ARCH_RISCV64",),
    "ppc64le": ("SCMP_ARCH_PPC64LE",),
}

FILES = _names("""
    access faccessat faccessat2 chdir fchdir getcwd chmod fchmod fchmodat fchmodat2 chown chown32
    fchown fchown32 fchownat lchown lchown32 creat open openat openat2 close close_range dup dup2
    dup3 fcntl fcntl64 flock link linkat symlink symlinkat unlink unlinkat rename renameat renameat2
    mkdir mkdirat rmdir mknod mknodat readlink readlinkat stat stat64 lstat lstat64 fstat fstat64
    fstatat64 newfstatat statx statfs statfs64 fstatfs fstatfs64 truncate truncate64 ftruncate
    ftruncate64 fallocate fadvise64 fadvise64_64 readahead getdents getdents64 umask utime utimes
    utimensat utimensat_time64 futimesat name_to_handle_at sync syncfs fsync fdatasync
    sync_file_range copy_file_range sendfile sendfile64 splice tee vmsplice statmount listmount
    cachestat
""")
XATTRS = _names("""
    getxattr lgetxattr fgetxattr getxattrat setxattr lsetxattr fsetxattr setxattrat listxattr
    llistxattr flistxattr listxattrat removexattr lremovexattr fremovexattr removexattrat
""")
IO = _names("""
    read write readv writev pread64 pwrite64 preadv pwritev preadv2 pwritev2 lseek _llseek ioctl
    pipe pipe2 poll ppoll ppoll_time64 select _newselect pselect6 pselect6_time64 epoll_create
    epoll_create1 epoll_ctl epoll_ctl_old epoll_wait epoll_wait_old epoll_pwait epoll_pwait2
    eventfd eventfd2 signalfd signalfd4 timerfd_create timerfd_settime timerfd_settime64
    timerfd_gettime timerfd_gettime64 inotify_init inotify_init1 inotify_add_watch inotify_rm_watch
    fanotify_mark io_setup io_destroy io_submit io_cancel io_getevents io_pgetevents
    io_pgetevents_time64 ioprio_get ioprio_set memfd_create memfd_secret
""")
MEMORY = _names("""
    brk mmap mmap2 munmap mremap mprotect madvise mincore msync mlock mlock2 mlockall munlock
    munlockall remap_file_pages membarrier pkey_alloc pkey_free pkey_mprotect map_shadow_stack mseal
""")
PROCESSES = _names("""
    execve execveat exit exit_group fork vfork wait4 waitid waitpid kill tkill tgkill getpid getppid
    gettid getpgid setpgid getpgrp getsid setsid getpriority setpriority getrlimit setrlimit
    ugetrlimit prlimit64 getrusage times prctl capget capset seccomp set_tid_address
    set_robust_list get_robust_list set_thread_area get_thread_area rseq restart_syscall
    pidfd_open pidfd_send_signal process_mrelease getcpu sched_yield sched_getaffinity
    sched_setaffinity sched_getattr sched_setattr sched_getparam sched_setparam sched_getscheduler
    sched_setscheduler sched_get_priority_max sched_get_priority_min sched_rr_get_interval
    sched_rr_get_interval_time64 futex futex_time64 futex_wait futex_wake futex_waitv
    futex_requeue landlock_add_rule landlock_create_ruleset landlock_restrict_self uretprobe
    riscv_hwprobe
""")
IDENTITY = _names("""
    getuid getuid32 geteuid geteuid32 getgid getgid32 getegid getegid32 getresuid getresuid32
    getresgid getresgid32 getgroups getgroups32 setuid setuid32 setgid setgid32 setreuid setreuid32
    setregid setregid32 setresuid setresuid32 setresgid setresgid32 setfsuid setfsuid32 setfsgid
    setfsgid32 setgroups setgroups32
""")
SIGNALS_AND_TIME = _names("""
    rt_sigaction rt_sigpending rt_sigprocmask rt_sigqueueinfo rt_tgsigqueueinfo rt_sigreturn
    rt_sigsuspend rt_sigtimedwait rt_sigtimedwait_time64 sigaltstack sigprocmask sigreturn pause
    alarm nanosleep clock_nanosleep clock_nanosleep_time64 clock_gettime clock_gettime64
    clock_getres clock_getres_time64 clock_adjtime clock_adjtime64 adjtimex gettimeofday time
    getitimer setitimer timer_create timer_delete timer_getoverrun timer_gettime timer_gettime64
    timer_settime timer_settime64 getrandom sysinfo uname
""")
SOCKETS = _names("""
    socketcall socketpair bind connect listen accept accept4 getsockname getpeername getsockopt
    setsockopt shutdown send sendto sendmsg sendmmsg recv recvfrom recvmsg recvmmsg recvmmsg_time64
""")
SYSV_IPC = _names("""
    ipc msgget msgctl msgsnd msgrcv semget semctl semop semtimedop semtimedop_time64 shmget shmctl
    shmat shmdt mq_open mq_unlink mq_notify mq_getsetattr mq_timedsend mq_timedsend_time64
    mq_timedreceive mq_timedreceive_time64
""")

_ALWAYS = FILES + XATTRS + IO + MEMORY + PROCESSES + IDENTITY + SIGNALS_AND_TIME + SOCKETS + SYSV_IPC


def _caps(*names: str) -> frozenset[str]:
    return frozenset(names)


RULES: tuple[Rule, ...] = (
    Rule(_ALWAYS),
    # Since 4.8 a seccomp filter can no longer be bypassed with ptrace, so tracing inside the
    # container is fine (the kernel's own checks still apply).
    Rule(_names("ptrace process_vm_readv process_vm_writev"), min_kernel=(4, 8)),
    # Every address family but AF_VSOCK (which reaches the host's hypervisor).
    Rule(("socket",), args=(ArgCondition(0, AF_VSOCK - 2, "SCMP_CMP_LT"),)),
    Rule(("socket",), args=(ArgCondition(0, AF_VSOCK - 1, "SCMP_CMP_EQ"),)),
    Rule(("socket",), args=(ArgCondition(0, AF_VSOCK, "SCMP_CMP_GT"),)),
    # personality: only the harmless personas (linux, linux32, and with UNAME26; 0xffffffff queries).
    *(Rule(("personality",), args=(ArgCondition(0, persona, "SCMP_CMP_EQ"),))
      for persona in (0x0, 0x8, 0x20000, 0x20008, 0xFFFFFFFF)),
    Rule(_names("sync_file_range2 swapcontext"), arches=frozenset({"ppc64le"})),
    Rule(_names("arm_fadvise64_64 arm_sync_file_range sync_file_range2 breakpoint cacheflush set_tls"),
         arches=frozenset({"arm", "arm64"})),
    Rule(("arch_prctl",), arches=frozenset({"amd64", "x32"})),
    Rule(("modify_ldt",), arches=frozenset({"amd64", "x32", "x86"})),
    Rule(_names("s390_pci_mmio_read s390_pci_mmio_write s390_runtime_instr"), arches=frozenset({"s390", "s390x"})),
    Rule(("riscv_flush_icache",), arches=frozenset({"riscv64"})),
    # Calls the kernel itself guards by a capability: allowed when the container holds it.
    Rule(("open_by_handle_at",), needs=_caps("CAP_DAC_READ_SEARCH")),
    Rule(_names("""
        bpf clone clone3 fanotify_init fsconfig fsmount fsopen fspick lookup_dcookie lsm_get_self_attr
        lsm_list_modules lsm_set_self_attr mount mount_setattr move_mount open_tree perf_event_open
        quotactl quotactl_fd setdomainname sethostname setns syslog umount umount2 unshare
    """), needs=_caps("CAP_SYS_ADMIN")),
    # Without CAP_SYS_ADMIN: clone without namespace flags (s390 has flags as the second argument),
    # and clone3, whose flags sit in memory a filter cannot read, says ENOSYS so libcs use clone.
    Rule(("clone",), args=(ArgCondition(0, CLONE_NAMESPACE_MASK, "SCMP_CMP_MASKED_EQ"),),
         unless=_caps("CAP_SYS_ADMIN"), not_arches=frozenset({"s390", "s390x"})),
    Rule(("clone",), args=(ArgCondition(1, CLONE_NAMESPACE_MASK, "SCMP_CMP_MASKED_EQ"),),
         unless=_caps("CAP_SYS_ADMIN"), arches=frozenset({"s390", "s390x"})),
    Rule(("clone3",), action="SCMP_ACT_ERRNO", errno=ENOSYS, unless=_caps("CAP_SYS_ADMIN")),
    Rule(("reboot",), needs=_caps("CAP_SYS_BOOT")),
    Rule(("chroot",), needs=_caps("CAP_SYS_CHROOT")),
    Rule(_names("delete_module init_module finit_module"), needs=_caps("CAP_SYS_MODULE")),
    Rule(("acct",), needs=_caps("CAP_SYS_PACCT")),
    Rule(_names("kcmp pidfd_getfd process_madvise process_vm_readv process_vm_writev ptrace"),
         needs=_caps("CAP_SYS_PTRACE")),
    Rule(_names("iopl ioperm"), needs=_caps("CAP_SYS_RAWIO")),
    Rule(_names("settimeofday stime clock_settime clock_settime64"), needs=_caps("CAP_SYS_TIME")),
    Rule(("vhangup",), needs=_caps("CAP_SYS_TTY_CONFIG")),
    Rule(_names("get_mempolicy mbind set_mempolicy set_mempolicy_home_node"), needs=_caps("CAP_SYS_NICE")),
    Rule(("syslog",), needs=_caps("CAP_SYSLOG")),
    Rule(("bpf",), needs=_caps("CAP_BPF")),
    Rule(("perf_event_open",), needs=_caps("CAP_PERFMON")),
)
