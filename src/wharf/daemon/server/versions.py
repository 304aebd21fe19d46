"""Engine API versions this daemon serves."""

from __future__ import annotations

from wharf import errdefs

MIN_API_VERSION = "1.24"
MAX_API_VERSION = "1.51"
ENGINE_VERSION = "0.1.0"
SERVER_HEADER = f"Wharf/{ENGINE_VERSION} (linux)"


def parse_version(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in text.split("."))
    except ValueError:
        raise errdefs.InvalidArgument(f"invalid API version: {text}") from None


def check_version(requested: str) -> str:
    """Return `requested` if served, else InvalidArgument with Docker's messages."""
    version = parse_version(requested)
    if version < parse_version(MIN_API_VERSION):
        raise errdefs.InvalidArgument(
            f"client version {requested} is too old. Minimum supported API version is "
            f"{MIN_API_VERSION}, please upgrade your client to a newer version"
        )
    if version > parse_version(MAX_API_VERSION):
        raise errdefs.InvalidArgument(
            f"client version {requested} is too new. Maximum supported API version is {MAX_API_VERSION}"
        )
    return requested


def at_least(request_version: str, minimum: str) -> bool:
    return parse_version(request_version) >= parse_version(minimum)
