"""Wire formats of the shim, shared by the daemon and its clients (no imports beyond the stdlib).

Control socket (`shim.sock`): every message is a 4-byte big-endian length and a JSON object.
Requests are `{"method": M, "params": {...}}`; answers `{"result": {...}}` or
`{"error": {"code": C, "message": S}}` with C a `wharf.errdefs` code.

Attach socket (`attach.sock`): the client sends one JSON line of options, then raw stdin bytes;
the shim sends frames `[stream, 0, 0, 0, uint32 BE length] + payload` (Docker's stdcopy format).
"""

from __future__ import annotations

CONTROL_SOCKET = "shim.sock"
ATTACH_SOCKET = "attach.sock"
CONSOLE_SOCKET = "console.sock"
EXIT_FILE = "exit.json"
PID_FILE = "init.pid"
LOG_FILE = "shim.log"
SHIM_PID_FILE = "shim.pid"
"""`<pid> <process group>` of the shim daemon, written as soon as it is detached."""

STDOUT = 1
STDERR = 2

MAX_MESSAGE = 16 << 20
"""Largest control message accepted; anything bigger is a broken or hostile peer."""


def encode_message(message: dict) -> bytes:
    import json  # here, not at the top: `wharf-shim start` reads the names above before it needs JSON

    body = json.dumps(message, separators=(",", ":")).encode()
    return len(body).to_bytes(4, "big") + body


def message_length(header: bytes) -> int:
    length = int.from_bytes(header, "big")
    if length > MAX_MESSAGE:
        raise ValueError(f"control message of {length} bytes is too large")
    return length


def encode_frame(stream: int, payload: bytes) -> bytes:
    return bytes((stream, 0, 0, 0)) + len(payload).to_bytes(4, "big") + payload


def parse_frame_header(header: bytes) -> tuple[int, int]:
    """(stream, payload length) of an 8-byte attach frame header."""
    return header[0], int.from_bytes(header[4:8], "big")
