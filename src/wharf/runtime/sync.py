"""The parent/child protocol of `create`: typed JSON messages over a SOCK_SEQPACKET socketpair.

    create (parent P)            bootstrap (child C)              init (grandchild G)
    ---------------------------------------------------------------------------------------
    state dir, exec.fifo,
    cgroup dirs + limits
    fork into the v2 cgroup ──▶ writes 0 to each v1 `tasks`
                                (cgroups.SelfJoin)
                                setns(joined namespaces)
                                [unshare(user ns)
          ◀── {"type":"userns","pid":C} ──
    write uid_map, gid_map
          ── {"type":"mapped"} ─────▶  setresuid(0)]
                                unshare(new namespaces)
                                fork ─────────────────────────▶ (pid 1 of the new pid ns,
                                                                 in C's cgroups)
          ◀── {"type":"pid","pid":G} ── exit 0                  [waits for "go"
    waitpid(C)                                                   when oomScoreAdj is set]
    [write G's oom_score_adj,
          ── {"type":"go"} ──────────────────────────────────▶] cgroup ns, mounts, /dev, console
                                                                (pty master → --console-socket),
                                                                pivot_root, hostname, sysctl,
                                                                masked/ro paths, rlimits, finds
                                                                the executable
          ◀── {"type":"ready"} ─────────────────────────────── (or {"type":"error","message":M})
    write state.json, pid file,
    exit 0                                                      blocks opening exec.fifo
    `start` opens exec.fifo ──────────────────────────────────▶ writes "0"; user, caps, nnp,
                                                                close fds, execve
"""

from __future__ import annotations

import _socket as socket  # `socket` builds enums at import: milliseconds on every call

from wharf import errdefs
from wharf.runtime import jsonlite as json

TYPE_CHECKING = False  # importing typing costs milliseconds on every run
if TYPE_CHECKING:
    from typing import Any

MAX_MESSAGE = 65536


def pair() -> tuple[socket.socket, socket.socket]:
    """(parent end, child end); both close-on-exec."""
    return socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET | socket.SOCK_CLOEXEC)


def send(sock: socket.socket, kind: str, **fields: Any) -> None:
    try:
        sock.send(json.dumps({"type": kind, **fields}).encode())
    except (BrokenPipeError, ConnectionResetError):
        # The peer is gone: it may have left its error behind for us; receive() raises it.
        receive(sock)
        raise errdefs.System("container init exited unexpectedly") from None


def receive(sock: socket.socket) -> dict[str, Any]:
    """The next message; an EOF (every peer gone) raises System."""
    data = sock.recv(MAX_MESSAGE)
    if not data:
        raise errdefs.System("container init exited before it was set up")
    message: dict[str, Any] = json.loads(data)
    if message.get("type") == "error":
        raise errdefs.System(message.get("message") or "container init failed")
    return message


def expect(sock: socket.socket, kind: str) -> dict[str, Any]:
    message = receive(sock)
    if message.get("type") != kind:
        raise errdefs.System(f"container init protocol: expected {kind!r}, got {message.get('type')!r}")
    return message
