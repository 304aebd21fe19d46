"""Pseudo-terminals opened through a given /dev/ptmx (the container's own devpts) and fd passing."""

from __future__ import annotations

import array
import fcntl
import os
import struct

TIOCSPTLCK = 0x40045431
TIOCGPTN = 0x80045430
TIOCSCTTY = 0x540E


def open_pty(ptmx: str = "/dev/ptmx") -> tuple[int, str]:
    """Open a new pty master and return (master_fd, slave path)."""
    master = os.open(ptmx, os.O_RDWR | os.O_NOCTTY | os.O_CLOEXEC)
    try:
        fcntl.ioctl(master, TIOCSPTLCK, struct.pack("i", 0))
        number = array.array("i", [0])
        fcntl.ioctl(master, TIOCGPTN, number, True)
    except OSError:
        os.close(master)
        raise
    return master, f"/dev/pts/{number[0]}"


def set_controlling_terminal(fd: int) -> None:
    fcntl.ioctl(fd, TIOCSCTTY, 0)
