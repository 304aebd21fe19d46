"""Error categories shared by every Wharf component.

Errors are classified by behaviour, not by origin. Each process boundary maps the
category to its wire code exactly once (HTTP status in wharfd, gRPC status in the
supervisor, an error code string in the shim protocol) and back again on the other
side, so code never inspects messages to decide what happened.

This module imports nothing of Wharf.
"""


class WharfError(Exception):
    """Base of every categorised error. `code` is the category's stable wire name."""

    code = "unknown"


class InvalidArgument(WharfError, ValueError):
    code = "invalid_argument"


class NotFound(WharfError, LookupError):
    code = "not_found"


class AlreadyExists(WharfError):
    code = "already_exists"


class Conflict(WharfError):
    """The request conflicts with the object's current state (e.g. removing a running container)."""

    code = "conflict"


class FailedPrecondition(Conflict):
    code = "failed_precondition"


class NotModified(WharfError):
    """Nothing to do: the object is already in the requested state (HTTP 304)."""

    code = "not_modified"


class Unauthorized(WharfError):
    code = "unauthorized"


class Forbidden(WharfError, PermissionError):
    code = "forbidden"


class Unavailable(WharfError):
    code = "unavailable"


class NotImplementedYet(WharfError, NotImplementedError):
    code = "not_implemented"


class Cancelled(WharfError):
    code = "cancelled"


class System(WharfError):
    """A real fault of ours or of the host."""

    code = "system"


_BY_CODE: dict[str, type[WharfError]] = {
    cls.code: cls
    for cls in (
        InvalidArgument,
        NotFound,
        AlreadyExists,
        Conflict,
        FailedPrecondition,
        NotModified,
        Unauthorized,
        Forbidden,
        Unavailable,
        NotImplementedYet,
        Cancelled,
        System,
    )
}


def from_code(code: str, message: str) -> WharfError:
    """Rebuild a categorised error from its wire name (unknown names become System)."""
    return _BY_CODE.get(code, System)(message)


def code_of(err: BaseException) -> str:
    return err.code if isinstance(err, WharfError) else System.code
