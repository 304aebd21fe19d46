"""wharf-runc: an OCI runtime with runc's command line.

    cli.py        flags and verbs (parsing only)       verbs.py      one function per verb
    specconv.py   config.json -> validated Config       default_spec  what `spec` writes
    create.py     `create`, parent side                 init.py       `create`, the forked children
    sync.py       their protocol (sequence diagram)     execute.py    `exec`
    operations.py start/kill/delete/pause/resume/ps     state.py      state dirs, derived status
    rootfs.py     mounts, /dev, pivot_root, masks       cgroups/      v1 (+hybrid) and v2 managers
    seccomp.py    linux.seccomp -> libseccomp filter    hooks.py      OCI lifecycle hooks
    devices.py    default devices and cgroup rules

Imports only wharf.linux, wharf.errdefs (and the standard library), lazily: it starts for every
container operation.
"""
