"""The processes a shim holds: the container's init, and execs in it. Their stdio and exits.

A process is launched by one runtime command (`create` for the init, `exec --detach` for an exec)
given the process's stdio: pipes passed through, or a pty whose master arrives on the console
socket. Then the shim is the process's parent (child subreaper) and learns of its exit from
waitpid. An exit is final once the output is drained (or after DRAIN_TIMEOUT, when something
outside the container's pid namespace still holds the pipes): then waiters and attach clients are
finished, and for the init, exit.json is written and the log closed.
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Callable

from wharf import errdefs
from wharf.shim.jsonlog import JSONFileLog
from wharf.shim.launch import PipedLaunch, exit_code, init_create_args
from wharf.shim.loop import EventLoop
from wharf.shim.options import ShimOptions
from wharf.shim.protocol import CONSOLE_SOCKET, EXIT_FILE, PID_FILE, STDERR, STDOUT
from wharf.shim.runtime import Runtime, error_text
from wharf.shim.stdio import AttachClient, Output, OutputReader, StdinWriter

DRAIN_TIMEOUT = 2.0
CONSOLE_TIMEOUT = 10.0

CREATED, RUNNING, PAUSED, STOPPED = "created", "running", "paused", "stopped"


__all__ = ["ShimOptions", "InitProcess", "ExecProcess", "Process", "Exit", "exit_code"]


class Exit:
    __slots__ = ("status", "at")

    def __init__(self, status: int, at: int) -> None:
        self.status = status
        """128 + signal when killed by a signal."""
        self.at = at
        """Nanoseconds since the epoch."""


class Process:
    def __init__(self, loop: EventLoop, runtime: Runtime, state_dir: str, *, stdin: bool, terminal: bool,
                 log: JSONFileLog | None = None) -> None:
        self.loop = loop
        self.runtime = runtime
        self.state_dir = state_dir
        self.wants_stdin = stdin
        self.terminal = terminal
        self.status = CREATED
        self.pid = 0
        self.exit: Exit | None = None
        """Set once the exit is final (output drained)."""
        self.output = Output(log)
        self.attach_clients: set[AttachClient] = set()
        self.stdin: StdinWriter | None = None
        self._reaped: Exit | None = None
        self._readers: list[OutputReader] = []
        self._exit_callbacks: list[Callable[[Exit], None]] = []
        self._drain_timer: int | None = None

    @property
    def finished(self) -> bool:
        return self.exit is not None

    @property
    def reaped(self) -> bool:
        return self._reaped is not None

    def terminal_fd(self) -> int:
        """The pty master while it is open, else -1."""
        if not self.terminal or not self._readers:
            return -1
        return self._readers[0].fd

    # --- launching ------------------------------------------------------------------------------

    def _launch(self, args: list[str], pid_file: str, started: PipedLaunch | None = None) -> None:
        """Run the runtime command that starts this process with its stdio (or finish `started`,
        that command already running with pipes); read its pid. On failure, raise the
        runtime's message with nothing of the stdio left open."""
        try:
            if self.terminal:
                self._launch_with_terminal(args)
            else:
                self._launch_with_pipes(args, started)
            with open(pid_file) as file:
                self.pid = int(file.read().strip())
        except (OSError, ValueError) as err:
            self._close_stdio()
            raise errdefs.System(f"starting the process: {err}") from err
        except BaseException:
            self._close_stdio()
            raise

    def _run_runtime(self, args: list[str], stdin: int, stdout: int, stderr: int) -> int:
        pid = self.runtime.spawn(args, stdin, stdout, stderr)
        return exit_code(os.waitpid(pid, 0)[1])

    def _launch_with_pipes(self, args: list[str], started: PipedLaunch | None = None) -> None:
        launch = started or PipedLaunch(self.runtime.argv(*args), self.wants_stdin)
        try:
            returncode = launch.wait()
        except BaseException:
            launch.close()
            raise
        out_r, err_r, stdin_w = launch.out_r, launch.err_r, launch.stdin_w
        early_out, early_err = _read_available(out_r), _read_available(err_r)
        if returncode != 0:
            # With stdio passed through, the runtime's error went down the process's stderr.
            launch.close()
            raise errdefs.System(error_text(early_err or early_out, returncode))
        self._readers = [OutputReader(self.loop, out_r, STDOUT, self.output, self._output_closed),
                         OutputReader(self.loop, err_r, STDERR, self.output, self._output_closed)]
        if stdin_w >= 0:
            self._set_stdin(StdinWriter(self.loop, stdin_w))
        self._readers[0].feed(early_out)
        self._readers[1].feed(early_err)

    def _launch_with_terminal(self, args: list[str]) -> None:
        console_path = os.path.join(self.state_dir, CONSOLE_SOCKET)
        console = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        null = os.open(os.devnull, os.O_RDWR | os.O_CLOEXEC)
        capture_r, capture_w = os.pipe()
        try:
            _unlink(console_path)
            console.bind(console_path)
            console.listen(1)
            try:
                returncode = self._run_runtime([*args[:-1], "--console-socket", console_path, args[-1]],
                                               null, capture_w, capture_w)
            finally:
                os.close(capture_w)
            message = _read_available(capture_r)
            if returncode != 0:
                raise errdefs.System(error_text(message, returncode))
            master = _receive_master(console)
        finally:
            os.close(null)
            os.close(capture_r)
            console.close()
            _unlink(console_path)
        self._readers = [OutputReader(self.loop, master, STDOUT, self.output, self._output_closed)]
        if self.wants_stdin:
            # A dup, so that the writer's registration in the loop is its own.
            self._set_stdin(StdinWriter(self.loop, os.dup(master), close_with_eot=True))

    def _set_stdin(self, writer: StdinWriter) -> None:
        self.stdin = writer
        writer.on_drained = self._stdin_drained

    def _stdin_drained(self) -> None:
        for client in list(self.attach_clients):
            client.resume_reading()

    # --- exit -----------------------------------------------------------------------------------

    def on_exit(self, callback: Callable[[Exit], None]) -> None:
        """Call `callback` once the exit is final (at once if it is)."""
        if self.exit is not None:
            callback(self.exit)
        else:
            self._exit_callbacks.append(callback)

    def reaped_with(self, wait_status: int) -> None:
        """The reaper saw the process exit."""
        if self._reaped is not None:
            return
        self._reaped = Exit(exit_code(wait_status), time.time_ns())
        if self.stdin is not None:
            self.stdin.abort()
        if all(not reader.open for reader in self._readers):
            self._finalize()
        else:
            self._drain_timer = self.loop.call_later(DRAIN_TIMEOUT, self._finalize)

    def _output_closed(self) -> None:
        if self._reaped is not None and all(not reader.open for reader in self._readers):
            self._finalize()

    def _finalize(self) -> None:
        if self.exit is not None or self._reaped is None:
            return
        if self._drain_timer is not None:
            self.loop.cancel(self._drain_timer)
        self._close_stdio()
        self.exit = self._reaped
        self.status = STOPPED
        self._exited(self.exit)
        for client in list(self.attach_clients):
            client.finish()
        callbacks, self._exit_callbacks = self._exit_callbacks, []
        for callback in callbacks:
            callback(self.exit)

    def _exited(self, exit: Exit) -> None:
        """What a kind of process records of its final exit."""

    def take_available_output(self) -> None:
        """Log what the process wrote already (e.g. while `runtime start` ran), so a client that
        asks for the logs once start is acknowledged finds it."""
        for reader in self._readers:
            reader.take_available()

    def _close_stdio(self) -> None:
        for reader in self._readers:
            reader.drain_and_close()
        if self.stdin is not None:
            self.stdin.abort()


class InitProcess(Process):
    """The container's init: `runtime create`, then `start`; its exit ends the container."""

    def __init__(self, loop: EventLoop, options: ShimOptions) -> None:
        log = None
        if options.log_path:
            log = JSONFileLog(options.log_path, options.log_max_size, options.log_max_files)
        super().__init__(loop, Runtime(options.runtime, options.runtime_root), options.state_dir,
                         stdin=options.stdin, terminal=options.terminal, log=log)
        self.options = options

    def create(self, started: PipedLaunch | None = None) -> None:
        """Run `runtime create` (or finish `started`: that command, already running with pipes);
        raise the runtime's error (nothing is left behind) on failure."""
        pid_file = os.path.join(self.state_dir, PID_FILE)
        try:
            self._launch(init_create_args(self.options.bundle, pid_file, self.options.id), pid_file, started)
        except BaseException:
            if os.path.exists(pid_file):
                # The runtime did create it (only then: the id might be someone else's container).
                self.force_delete()
            if self.output.log is not None:
                self.output.log.close()
            raise

    def force_delete(self) -> None:
        try:
            self.runtime.run("delete", "--force", self.options.id)
        except (errdefs.WharfError, OSError):
            pass

    def _exited(self, exit: Exit) -> None:
        if self.output.log is not None:
            self.output.log.close()
        _write_atomically(os.path.join(self.state_dir, EXIT_FILE), {"exit_status": exit.status,
                                                                     "exited_at": exit.at})


class ExecProcess(Process):
    """An extra process in the running container (`docker exec`): `runtime exec --detach`.

    Its output goes to attach clients only (Docker does not log exec output)."""

    def __init__(self, init: InitProcess, exec_id: str, spec: dict, *, stdin: bool, terminal: bool) -> None:
        super().__init__(init.loop, init.runtime, init.state_dir, stdin=stdin, terminal=terminal)
        self.exec_id = exec_id
        self.container_id = init.options.id
        self.spec = spec
        self._files = os.path.join(self.state_dir, "exec")

    def start(self) -> None:
        try:
            os.mkdir(self._files, 0o700)
        except FileExistsError:
            pass
        spec_file = os.path.join(self._files, f"{self.exec_id}.json")
        pid_file = os.path.join(self._files, f"{self.exec_id}.pid")
        # Read once by the runtime we start next, and removed after: neither a temporary file
        # nor an fsync (a crash before the start leaves a file no one will read).
        fd = os.open(spec_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        try:
            os.write(fd, json.dumps(self.spec).encode())
        finally:
            os.close(fd)
        try:
            self._launch(["exec", "--detach", "--process", spec_file, "--pid-file", pid_file, self.container_id],
                         pid_file)
        except BaseException:
            self.remove_files()
            raise
        self.status = RUNNING

    def kill(self, signal: int) -> None:
        # The runtime's kill reaches the init only; an exec is our own child.
        if self.reaped:
            raise errdefs.NotFound("process already finished")
        os.kill(self.pid, signal)

    def remove_files(self) -> None:
        for suffix in (".json", ".pid"):
            _unlink(os.path.join(self._files, f"{self.exec_id}{suffix}"))


def _receive_master(console: socket.socket) -> int:
    console.settimeout(CONSOLE_TIMEOUT)
    try:
        conn, _ = console.accept()
        with conn:
            conn.settimeout(CONSOLE_TIMEOUT)
            _, fds, _, _ = socket.recv_fds(conn, 4096, 1)
    except OSError as err:
        raise errdefs.System(f"receiving the pty master on the console socket: {err}") from err
    if not fds:
        raise errdefs.System("the runtime sent no pty master on the console socket")
    return fds[0]


def _read_available(fd: int) -> bytes:
    os.set_blocking(fd, False)
    chunks = []
    try:
        while chunk := os.read(fd, 65536):
            chunks.append(chunk)
    except BlockingIOError:
        pass
    return b"".join(chunks)


def _write_atomically(path: str, content: dict) -> None:
    temporary = f"{path}.tmp"
    with open(temporary, "w") as file:
        json.dump(content, file)
        file.flush()
        os.fsync(file.fileno())
    os.replace(temporary, path)


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
