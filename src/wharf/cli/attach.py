"""Streaming between our terminal and a container's: raw mode, resize, detach keys, signal proxy.

`Session.run()` pumps stdin to the hijacked connection (a thread) and the connection to our
stdout/stderr (the calling thread) until the daemon closes the stream or the user types the
detach keys (ctrl-p ctrl-q by default), which the CLI recognises itself.
"""

from __future__ import annotations

import _socket
import os
import signal
import sys
import threading

from wharf.client.engine import read_frames

TYPE_CHECKING = False
if TYPE_CHECKING:
    import socket
    from collections.abc import Callable

    from wharf.cli.flags import Args
    from wharf.client import EngineClient

DEFAULT_DETACH_KEYS = "ctrl-p,ctrl-q"
# signals a non-tty `run`/`attach` passes on to the container (docker's --sig-proxy)
PROXIED_SIGNALS = ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGWINCH")


def parse_detach_keys(text: str | None) -> bytes:
    """'ctrl-p,ctrl-q' → b'\\x10\\x11' (docker's term.ToBytes: ctrl-a..z, ctrl-@ ctrl-[ …, or a letter)."""
    keys = bytearray()
    for key in (text or DEFAULT_DETACH_KEYS).split(","):
        key = key.strip().lower()
        if key.startswith("ctrl-") and len(key) == 6:
            char = key[5]
            if "a" <= char <= "z":
                keys.append(ord(char) - ord("a") + 1)
            elif char in "@[\\]^_":
                keys.append("@[\\]^_".index(char) + (0 if char == "@" else 26))
            else:
                raise ValueError(f"Unknown character: '{key}'")
        elif len(key) == 1:
            keys.append(ord(key))
        else:
            raise ValueError(f"Unknown character: '{key}'")
    return bytes(keys)


class Session:
    """One attached stream: `sock` is the hijacked connection."""

    def __init__(self, sock: socket.socket, tty: bool, stdin: bool, detach_keys: bytes,
                 resize: Callable[[int, int], None] | None = None,
                 forward_signal: Callable[[str], None] | None = None) -> None:
        self.sock, self.tty, self.stdin = sock, tty, stdin
        self.detach_keys = detach_keys
        self.resize = resize
        self.forward_signal = forward_signal
        self.detached = False

    def run(self) -> None:
        with raw_terminal(self.tty and self.stdin), self._resizing(), self._proxying():
            if self.stdin:
                self._start_stdin_pump()
            try:
                self._pump_output()
            except OSError:
                if not self.detached:
                    raise

    def _resizing(self) -> _Restore:
        if not (self.tty and self.resize and sys.stdout.isatty()):
            return _Restore(lambda: None)

        def send_size(*_: object) -> None:
            size = terminal_size()
            if size and self.resize:
                try:
                    self.resize(*size)
                except Exception:  # noqa: BLE001 - a lost resize must not end the session
                    pass

        send_size()
        previous = signal.signal(signal.SIGWINCH, send_size)
        return _Restore(lambda: signal.signal(signal.SIGWINCH, previous))

    def _proxying(self) -> _Restore:
        if self.tty or not self.forward_signal or threading.current_thread() is not threading.main_thread():
            return _Restore(lambda: None)
        forward = self.forward_signal
        saved = {}

        def handler(number: int, _frame: object) -> None:
            threading.Thread(target=forward, args=(signal.Signals(number).name,), daemon=True).start()

        for name in PROXIED_SIGNALS:
            number = getattr(signal, name)
            saved[number] = signal.signal(number, handler)

        def restore() -> None:
            for number, previous in saved.items():
                signal.signal(number, previous)

        return _Restore(restore)

    def _start_stdin_pump(self) -> None:
        def copy() -> None:
            fd = sys.stdin.fileno()
            matched = 0
            try:
                while True:
                    data = os.read(fd, 65536)
                    if not data:
                        break
                    if self.tty and self.detach_keys:
                        out = bytearray()
                        for byte in data:
                            if byte == self.detach_keys[matched]:
                                matched += 1
                                if matched == len(self.detach_keys):
                                    self.detached = True
                                    self.sock.shutdown(_socket.SHUT_RDWR)
                                    return
                                continue
                            if matched:  # a partial sequence that was not one: send it on
                                out += self.detach_keys[:matched]
                                matched = 0
                            out.append(byte)
                        data = bytes(out)
                    if data:
                        self.sock.sendall(data)
                self.sock.shutdown(_socket.SHUT_WR)
            except OSError:
                pass

        threading.Thread(target=copy, daemon=True).start()

    def _pump_output(self) -> None:
        out, err = sys.stdout.buffer, sys.stderr.buffer
        if self.tty:
            while data := self.sock.recv(65536):
                out.write(data)
                out.flush()
            return
        for stream, payload in read_frames(self.sock):
            target = err if stream == 2 else out
            target.write(payload)
            target.flush()


class _Restore:
    """A context manager that runs `undo` on exit."""

    def __init__(self, undo: Callable[[], object]) -> None:
        self.undo = undo

    def __enter__(self) -> None:
        return None

    def __exit__(self, *_: object) -> None:
        self.undo()


class raw_terminal:  # noqa: N801 - used as a context manager, like contextlib's
    """Our terminal in raw mode while a container's terminal is attached."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled and sys.stdin.isatty()
        self.saved: list[object] | None = None

    def __enter__(self) -> None:
        if self.enabled:
            import termios
            import tty

            self.saved = termios.tcgetattr(sys.stdin.fileno())
            tty.setraw(sys.stdin.fileno())

    def __exit__(self, *_: object) -> None:
        if self.saved is not None:
            import termios

            termios.tcsetattr(sys.stdin.fileno(), termios.TCSADRAIN, self.saved)


def terminal_size() -> tuple[int, int] | None:
    """(rows, columns) of our terminal, or None when stdout is not one."""
    try:
        size = os.get_terminal_size(sys.stdout.fileno())
    except OSError:
        return None
    return size.lines, size.columns


def attach(client: EngineClient, args: Args) -> int:
    """`wharf attach CONTAINER`: our stdio to the running container's until it exits or we detach."""
    from wharf import errdefs
    from wharf.client.engine import quote_ref

    ref = quote_ref(args.args[0])
    info = client.call("GET", f"/containers/{ref}/json")
    state = info.get("State") or {}
    if not state.get("Running"):
        raise errdefs.Conflict("You cannot attach to a stopped container, start it first")
    if state.get("Paused"):
        raise errdefs.Conflict("You cannot attach to a paused container, unpause it first")
    config = info.get("Config") or {}
    tty = bool(config.get("Tty"))
    use_stdin = bool(config.get("OpenStdin")) and not args.no_stdin
    sock = client.hijack(f"/containers/{ref}/attach",
                         {"stream": True, "stdin": use_stdin, "stdout": True, "stderr": True,
                          "detachKeys": args.detach_keys or None})
    session = Session(
        sock, tty, use_stdin, parse_detach_keys(args.detach_keys),
        resize=lambda h, w: client.call("POST", f"/containers/{ref}/resize", {"h": h, "w": w}),
        forward_signal=(lambda name: client.call("POST", f"/containers/{ref}/kill", {"signal": name}))
        if args.sig_proxy else None,
    )
    session.run()
    sock.close()
    if session.detached:
        sys.stderr.write("read escape sequence\n")
        return 0
    result = client.call("POST", f"/containers/{ref}/wait")
    return int((result or {}).get("StatusCode", 0))
