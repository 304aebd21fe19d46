"""Running the OCI runtime binary (runc's command line: runc, crun, wharf-runc).

Commands are spawned with posix_spawn (no `subprocess`: it costs the shim a megabyte; wharf-runc itself
may run in a fork, `wharf.shim.runtime_fork`) and waited for by pid, so they never race with the
shim's reaper, which only runs between handlers.
"""

from __future__ import annotations

import json
import os
import select

from wharf import errdefs
from wharf.shim.launch import spawn_runtime


def _category(message: str) -> type[errdefs.WharfError]:
    # The runtimes share runc's wording; this is the one place that reads it.
    lowered = message.lower()
    if "does not exist" in lowered or "not found" in lowered:
        return errdefs.NotFound
    if "not running" in lowered or "not paused" in lowered or "is paused" in lowered or "already" in lowered:
        return errdefs.FailedPrecondition
    return errdefs.System


def error_text(raw: bytes, returncode: int) -> str:
    """The runtime's message from its stderr: runc prints a logrus line and the bare error."""
    lines = [line.strip() for line in raw.decode(errors="replace").splitlines() if line.strip()]
    plain = [line for line in lines if not line.startswith("time=")]
    text = (plain or lines or [f"runtime exited with status {returncode}"])[-1]
    if text.startswith("time=") and ' msg="' in text:
        text = text.split(' msg="', 1)[1].rsplit('"', 1)[0]
    return text


class Runtime:
    def __init__(self, binary: str, root: str | None) -> None:
        self.binary = binary
        self.root = root

    def argv(self, *args: str) -> list[str]:
        return [self.binary, *(["--root", self.root] if self.root else []), *args]

    def spawn(self, args: list[str], stdin: int, stdout: int, stderr: int) -> int:
        return spawn_runtime(self.argv(*args), stdin, stdout, stderr)

    def run(self, *args: str) -> bytes:
        """Run a short command to its end; its stdout, or the category of its error raised."""
        null = os.open(os.devnull, os.O_RDWR | os.O_CLOEXEC)
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        try:
            pid = self.spawn(list(args), null, out_w, err_w)
        finally:
            os.close(null)
            os.close(out_w)
            os.close(err_w)
        try:
            out, err = _read_to_end(out_r, err_r)
        finally:
            os.close(out_r)
            os.close(err_r)
        returncode = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
        if returncode != 0:
            message = error_text(err or out, returncode)
            raise _category(message)(f"{os.path.basename(self.binary)} {args[0]}: {message}")
        return out

    def update(self, container_id: str, resources: dict, scratch_dir: str) -> None:
        """`update --resources FILE ID` (runc's form, which crun and wharf-runc take too): new
        cgroup limits for a running container, given as the spec's linux.resources object."""
        path = os.path.join(scratch_dir, "update-resources.json")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        with open(fd, "w") as file:
            json.dump(resources, file)
        try:
            self.run("update", "--resources", path, container_id)
        finally:
            os.unlink(path)


def _read_to_end(*fds: int) -> list[bytes]:
    chunks: dict[int, list[bytes]] = {fd: [] for fd in fds}
    poller = select.poll()
    for fd in fds:
        poller.register(fd, select.POLLIN)
    open_fds = set(fds)
    while open_fds:
        for fd, _ in poller.poll():
            data = os.read(fd, 65536)
            if data:
                chunks[fd].append(data)
            else:
                poller.unregister(fd)
                open_fds.discard(fd)
    return [b"".join(chunks[fd]) for fd in fds]
