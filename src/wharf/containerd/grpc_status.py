"""errdefs categories <-> gRPC status codes: the one place each side of the supervisor API maps errors.

The server aborts with the category's gRPC code and puts the exact errdefs code in the trailing
metadata, so the client rebuilds the very same category (several categories share a gRPC code)."""

from __future__ import annotations

import sys

import grpc

from wharf import errdefs

ERRDEFS_CODE_KEY = "wharf-errdefs-code"

_STATUS_BY_ERRDEFS: dict[str, grpc.StatusCode] = {
    errdefs.InvalidArgument.code: grpc.StatusCode.INVALID_ARGUMENT,
    errdefs.NotFound.code: grpc.StatusCode.NOT_FOUND,
    errdefs.AlreadyExists.code: grpc.StatusCode.ALREADY_EXISTS,
    errdefs.Conflict.code: grpc.StatusCode.ABORTED,
    errdefs.FailedPrecondition.code: grpc.StatusCode.FAILED_PRECONDITION,
    errdefs.NotModified.code: grpc.StatusCode.FAILED_PRECONDITION,
    errdefs.Unauthorized.code: grpc.StatusCode.UNAUTHENTICATED,
    errdefs.Forbidden.code: grpc.StatusCode.PERMISSION_DENIED,
    errdefs.Unavailable.code: grpc.StatusCode.UNAVAILABLE,
    errdefs.NotImplementedYet.code: grpc.StatusCode.UNIMPLEMENTED,
    errdefs.Cancelled.code: grpc.StatusCode.CANCELLED,
    errdefs.System.code: grpc.StatusCode.INTERNAL,
}

# For statuses that carry no errdefs code (raised by gRPC itself, e.g. the server is not there).
_ERRDEFS_BY_STATUS: dict[grpc.StatusCode, type[errdefs.WharfError]] = {
    grpc.StatusCode.INVALID_ARGUMENT: errdefs.InvalidArgument,
    grpc.StatusCode.OUT_OF_RANGE: errdefs.InvalidArgument,
    grpc.StatusCode.NOT_FOUND: errdefs.NotFound,
    grpc.StatusCode.ALREADY_EXISTS: errdefs.AlreadyExists,
    grpc.StatusCode.ABORTED: errdefs.Conflict,
    grpc.StatusCode.FAILED_PRECONDITION: errdefs.FailedPrecondition,
    grpc.StatusCode.UNAUTHENTICATED: errdefs.Unauthorized,
    grpc.StatusCode.PERMISSION_DENIED: errdefs.Forbidden,
    grpc.StatusCode.UNAVAILABLE: errdefs.Unavailable,
    grpc.StatusCode.DEADLINE_EXCEEDED: errdefs.Unavailable,
    grpc.StatusCode.UNIMPLEMENTED: errdefs.NotImplementedYet,
    grpc.StatusCode.CANCELLED: errdefs.Cancelled,
}


def status_of(err: BaseException) -> tuple[grpc.StatusCode, str, tuple[tuple[str, str], ...]]:
    """(status code, details, trailing metadata) for an error raised by a plugin."""
    code = errdefs.code_of(err)
    return _STATUS_BY_ERRDEFS.get(code, grpc.StatusCode.UNKNOWN), _describe(err), ((ERRDEFS_CODE_KEY, code),)


def _describe(err: BaseException) -> str:
    if isinstance(err, errdefs.WharfError):
        return str(err)
    # An SQLite error exists only where SQLite was imported (the supervisor): wharfd, which maps
    # errors with this module too, need not load it.
    sqlite3 = sys.modules.get("sqlite3")
    if (sqlite3 is not None and isinstance(err, sqlite3.OperationalError)
            and getattr(err, "sqlite_errorcode", 0) == sqlite3.SQLITE_FULL):
        # The metadata store on a full disk: say it as every other write on a full disk says it.
        return f"no space left on device: the metadata store cannot write ({err})"
    return f"{type(err).__name__}: {err}"


def error_of(err: grpc.aio.AioRpcError) -> errdefs.WharfError:
    """The errdefs error an RPC failure stands for."""
    for key, value in err.trailing_metadata() or ():
        if key == ERRDEFS_CODE_KEY:
            return errdefs.from_code(str(value), err.details() or "")
    category = _ERRDEFS_BY_STATUS.get(err.code(), errdefs.System)
    return category(err.details() or err.code().name)
