"""Starting a runtime command with pipes as the new process's stdio, importing nothing but `os`.

The shim daemon starts the runtime's `create` with this first and imports its heavier modules
(JSON, sockets, the event loop) while the runtime works: the container's creation does not wait
for the shim's imports. `Process` finishes the launch (the pipes become its output readers).
"""

from __future__ import annotations

import os
import sys


def spawn_runtime(argv: list[str], stdin: int, stdout: int, stderr: int) -> int:
    """Start a runtime command with these fds as its stdio; its pid. wharf-runc itself runs in a fork
    of this shim when the zygote preloaded it (`wharf.shim.runtime_fork`), else the binary is spawned."""
    if "wharf.shim.runtime_fork" in sys.modules:
        from wharf.shim import runtime_fork

        if runtime_fork.runs_here(argv[0]):
            return runtime_fork.spawn(argv, stdin, stdout, stderr)
    actions = [(os.POSIX_SPAWN_DUP2, stdin, 0), (os.POSIX_SPAWN_DUP2, stdout, 1), (os.POSIX_SPAWN_DUP2, stderr, 2)]
    return os.posix_spawn(argv[0], argv, os.environ, file_actions=actions)


def exit_code(wait_status: int) -> int:
    """The exit status; 128 + signal when the process was killed by a signal."""
    code = os.waitstatus_to_exitcode(wait_status)
    return 128 - code if code < 0 else code


def init_create_args(bundle: str, pid_file: str, container_id: str) -> list[str]:
    """The runtime's arguments (after `--root`) that create the container's init."""
    return ["create", "--bundle", bundle, "--pid-file", pid_file, container_id]


class PipedLaunch:
    """A runtime command running with fresh pipes (or /dev/null for stdin) as its stdio.

    `out_r`, `err_r` and `stdin_w` (-1 without stdin) are our ends; the command's ends are
    closed here once it has its own copies, so its EOF is seen."""

    def __init__(self, argv: list[str], with_stdin: bool) -> None:
        null = os.open(os.devnull, os.O_RDWR | os.O_CLOEXEC)
        stdin_r, self.stdin_w = os.pipe() if with_stdin else (null, -1)
        self.out_r, out_w = os.pipe()
        self.err_r, err_w = os.pipe()
        try:
            self.pid = spawn_runtime(argv, stdin_r, out_w, err_w)
        except BaseException:
            self.close()
            raise
        finally:
            for fd in {null, stdin_r, out_w, err_w}:
                os.close(fd)

    def wait(self) -> int:
        """Wait for the command's exit; its exit status."""
        return exit_code(os.waitpid(self.pid, 0)[1])

    def close(self) -> None:
        """Close our ends (after a failure: nothing of the stdio may stay open)."""
        for fd in (self.out_r, self.err_r, self.stdin_w):
            if fd >= 0:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self.out_r = self.err_r = self.stdin_w = -1
