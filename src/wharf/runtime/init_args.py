"""What `create`'s parent hands to its forked children (kept apart from init.py, whose imports, ctypes
among them, the parent leaves to the child: they then overlap with the parent's cgroup join)."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    import _socket as socket

    from wharf.runtime.specconv import Config


class InitArgs:
    def __init__(
        self,
        container_id: str,
        config: Config,
        fifo_fd: int,  # O_PATH fd of exec.fifo
        cgroup_paths: dict[str, str],
        console_socket: socket.socket | None,
        preserve_fds: int,
        no_pivot: bool,
        new_keyring: bool = True,
        seccomp_cache: str | None = None,
    ) -> None:
        self.container_id = container_id
        self.config = config
        self.fifo_fd = fifo_fd
        self.cgroup_paths = cgroup_paths
        self.console_socket = console_socket
        self.preserve_fds = preserve_fds
        self.no_pivot = no_pivot
        self.new_keyring = new_keyring
        self.seccomp_cache = seccomp_cache
        """Where compiled seccomp programs are kept (`wharf.runtime.seccomp.build_filter`)."""
