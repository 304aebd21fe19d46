"""The supervisor's side of the shim: start one, call its control methods, attach to its stdio.

`ShimClient(socket_path).call(method, **params)` is asyncio; each concurrent call gets its own
connection (a `wait` holds one until the exit, so it never delays a `kill`). Errors come back as
`wharf.errdefs` categories; a shim that is gone raises `errdefs.Unavailable`.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sys

from wharf import errdefs
from wharf.shim.protocol import (
    ATTACH_SOCKET,
    CONTROL_SOCKET,
    EXIT_FILE,
    SHIM_PID_FILE,
    encode_message,
    message_length,
    parse_frame_header,
)

StreamPair = tuple[asyncio.StreamReader, asyncio.StreamWriter]


def control_socket(state_dir: str) -> str:
    return os.path.join(state_dir, CONTROL_SOCKET)


def attach_socket(state_dir: str) -> str:
    return os.path.join(state_dir, ATTACH_SOCKET)


def read_exit_file(state_dir: str) -> dict | None:
    """`{"exit_status", "exited_at"}` from a shim's exit.json, or None if it has not been written."""
    try:
        with open(os.path.join(state_dir, EXIT_FILE)) as file:
            return json.load(file)
    except FileNotFoundError:
        return None


def _result(answer: dict) -> dict:
    if "error" in answer:
        error = answer["error"] or {}
        raise errdefs.from_code(str(error.get("code")), str(error.get("message", "")))
    return answer.get("result") or {}


class ShimClient:
    def __init__(self, socket_path: str) -> None:
        self.socket_path = socket_path
        self._idle: list[StreamPair] = []

    async def call(self, method: str, **params: object) -> dict:
        connection = self._idle.pop() if self._idle else await self._connect()
        reader, writer = connection
        try:
            writer.write(encode_message({"method": method, "params": params}))
            await writer.drain()
            length = message_length(await reader.readexactly(4))
            answer = json.loads(await reader.readexactly(length))
        except (OSError, asyncio.IncompleteReadError, ValueError) as err:
            writer.close()
            raise errdefs.Unavailable(f"shim {self.socket_path}: {method}: connection lost") from err
        except BaseException:
            writer.close()  # cancelled mid-call: the answer would arrive out of step
            raise
        self._idle.append(connection)
        return _result(answer)

    async def _connect(self) -> StreamPair:
        try:
            return await asyncio.open_unix_connection(self.socket_path)
        except OSError as err:
            raise errdefs.Unavailable(f"shim {self.socket_path} is not answering: {err}") from err

    async def close(self) -> None:
        idle, self._idle = self._idle, []
        for _, writer in idle:
            writer.close()
            try:
                await writer.wait_closed()
            except OSError:
                pass

    async def __aenter__(self) -> ShimClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()


def call_sync(socket_path: str, method: str, timeout: float | None = 30.0, **params: object) -> dict:
    """One blocking call on its own connection (tools, tests, scripts)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        try:
            sock.connect(socket_path)
            sock.sendall(encode_message({"method": method, "params": params}))
            length = message_length(_recv_exactly(sock, 4))
            answer = json.loads(_recv_exactly(sock, length))
        except OSError as err:
            raise errdefs.Unavailable(f"shim {socket_path}: {method}: {err}") from err
    return _result(answer)


def _recv_exactly(sock: socket.socket, size: int) -> bytes:
    data = bytearray()
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise ConnectionResetError("the shim closed the connection")
        data += chunk
    return bytes(data)


async def open_attach(attach_path: str, *, stdin: bool = False, stdout: bool = True, stderr: bool = True,
                      stdin_once: bool = False) -> StreamPair:
    """Connect to attach.sock; read frames with `read_frame`, write stdin bytes to the writer."""
    try:
        reader, writer = await asyncio.open_unix_connection(attach_path)
    except OSError as err:
        raise errdefs.Unavailable(f"shim attach {attach_path}: {err}") from err
    options = {"stdin": stdin, "stdout": stdout, "stderr": stderr, "stdin_once": stdin_once}
    writer.write(json.dumps(options).encode() + b"\n")
    await writer.drain()
    return reader, writer


async def read_frame(reader: asyncio.StreamReader) -> tuple[int, bytes] | None:
    """The next (stream, payload) of an attach connection; None once the shim has closed it."""
    try:
        stream, length = parse_frame_header(await reader.readexactly(8))
        return stream, await reader.readexactly(length)
    except asyncio.IncompleteReadError:
        return None


def shim_command() -> list[str]:
    """How to run wharf-shim: this Python, isolated and without `site` (`-I -S`: no site-packages
    scan, no .pth files, a few milliseconds less per container), importing `wharf` from where this
    process found it. The shim needs nothing but the standard library and `wharf`. Its command
    line still names `wharf-shim` (as `sys.argv[1]`), so `ps` and tools find it."""
    package_parent = os.path.dirname(os.path.dirname(os.path.abspath(errdefs.__file__)))
    launcher = (f"import sys;sys.path.insert(0,{package_parent!r});"
                "from wharf.shim.main import main;sys.exit(main(sys.argv[2:]))")
    return [sys.executable, "-I", "-S", "-c", launcher, "wharf-shim"]


async def start_shim(*, id: str, bundle: str, state_dir: str, runtime: str, runtime_root: str | None = None,
                     stdin: bool = False, terminal: bool = False, log_path: str | None = None,
                     log_max_size: int = 0, log_max_files: int = 1, command: list[str] | None = None) -> str:
    """Run `wharf-shim start`; the control socket's path once the container is created.

    Raises InvalidArgument for bad arguments, AlreadyExists when a live shim holds `state_dir`,
    System with the runtime's message when `create` failed (the shim then left nothing behind).
    """
    args = [*(command or shim_command()), "start", *start_args(
        id=id, bundle=bundle, state_dir=state_dir, runtime=runtime, runtime_root=runtime_root, stdin=stdin,
        terminal=terminal, log_path=log_path, log_max_size=log_max_size, log_max_files=log_max_files)]
    process = await asyncio.create_subprocess_exec(
        *args, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await process.communicate()
    return start_outcome(process.returncode or 0, out, err, state_dir)


def start_args(*, id: str, bundle: str, state_dir: str, runtime: str, runtime_root: str | None = None,
               stdin: bool = False, terminal: bool = False, log_path: str | None = None,
               log_max_size: int = 0, log_max_files: int = 1) -> list[str]:
    """The arguments after `wharf-shim start`."""
    args = ["--id", id, "--bundle", bundle, "--state-dir", state_dir, "--runtime", runtime]
    if runtime_root:
        args += ["--runtime-root", runtime_root]
    if stdin:
        args.append("--stdin")
    if terminal:
        args.append("--terminal")
    if log_path:
        args += ["--log-path", log_path, "--log-max-size", str(log_max_size), "--log-max-files", str(log_max_files)]
    return args


def stop_unclaimed_shim(state_dir: str, timeout: float = 5.0) -> None:
    """SIGKILL the shim daemon of a start that failed (its starter was killed, or it never answered)
    and its runtime children, and wait for them: a shim finishing its create now would make a
    container nobody owns. The pid is checked against its command line (a pid may be reused)."""
    import signal
    import time

    try:
        with open(os.path.join(state_dir, SHIM_PID_FILE)) as pid_file:
            pid, group = (int(word) for word in pid_file.read().split())
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            if state_dir.encode() not in cmdline.read():
                return
    except (OSError, ValueError):
        return  # never detached, or gone already
    for kill in (lambda: os.killpg(group, signal.SIGKILL), lambda: os.kill(pid, signal.SIGKILL)):
        try:
            kill()
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + timeout
    while os.path.exists(f"/proc/{pid}") and time.monotonic() < deadline:
        time.sleep(0.01)


def start_outcome(returncode: int, out: bytes, err: bytes, state_dir: str) -> str:
    """What `wharf-shim start`'s exit status and output mean: the control socket, or the error raised."""
    message = err.decode(errors="replace").strip()
    if returncode == 0:
        return out.decode().strip() or control_socket(state_dir)
    if returncode == 2:
        raise errdefs.InvalidArgument(message.splitlines()[0] if message else "wharf-shim: bad arguments")
    if returncode == 3:
        raise errdefs.AlreadyExists(message)
    raise errdefs.System(message or f"wharf-shim start exited with status {returncode}")
