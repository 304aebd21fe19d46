"""`wharf-shim start`'s flags, in a module of their own: `start` reads them before anything heavy is imported."""

from __future__ import annotations


class ShimOptions:
    """`wharf-shim start`'s flags. (A plain class: `dataclasses` would pull `inspect` into the shim.)"""

    def __init__(self, id: str, bundle: str, state_dir: str, runtime: str, runtime_root: str | None = None,
                 stdin: bool = False, terminal: bool = False, log_path: str | None = None,
                 log_max_size: int = 0, log_max_files: int = 1) -> None:
        self.id, self.bundle, self.state_dir, self.runtime = id, bundle, state_dir, runtime
        self.runtime_root = runtime_root
        self.stdin, self.terminal = stdin, terminal
        self.log_path, self.log_max_size, self.log_max_files = log_path, log_max_size, log_max_files
