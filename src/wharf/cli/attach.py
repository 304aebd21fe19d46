"""Pumping a hijacked attach stream between the terminal and the daemon."""

from __future__ import annotations

import os
import socket
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from wharf.client.engine import read_frames


def pump_stdin(sock: socket.socket) -> threading.Thread:
    """Copy our stdin to the container; half-close at EOF so the daemon closes its stdin."""

    def copy() -> None:
        fd = sys.stdin.fileno()
        try:
            while True:
                data = os.read(fd, 65536)
                if not data:
                    break
                sock.sendall(data)
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    thread = threading.Thread(target=copy, daemon=True)
    thread.start()
    return thread


def pump_output(sock: socket.socket, tty: bool) -> None:
    """Copy the container's output to ours until the daemon closes the stream."""
    out, err = sys.stdout.buffer, sys.stderr.buffer
    if tty:
        while True:
            data = sock.recv(65536)
            if not data:
                return
            out.write(data)
            out.flush()
    for stream, payload in read_frames(sock):
        target = err if stream == 2 else out
        target.write(payload)
        target.flush()


@contextmanager
def raw_terminal(enabled: bool) -> Iterator[None]:
    """Put our terminal in raw mode while a container's terminal is attached."""
    if not enabled or not sys.stdin.isatty():
        yield
        return
    import termios
    import tty

    fd = sys.stdin.fileno()
    saved = termios.tcgetattr(fd)
    tty.setraw(fd)
    try:
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def terminal_size() -> tuple[int, int] | None:
    try:
        size = os.get_terminal_size(sys.stdout.fileno())
    except OSError:
        return None
    return size.lines, size.columns
