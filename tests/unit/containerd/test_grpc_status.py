"""errdefs categories cross the gRPC boundary and come back as the very same category."""

import grpc
import pytest

from wharf import errdefs
from wharf.containerd.grpc_status import error_of, status_of

CATEGORIES = [
    errdefs.InvalidArgument,
    errdefs.NotFound,
    errdefs.AlreadyExists,
    errdefs.Conflict,
    errdefs.FailedPrecondition,
    errdefs.NotModified,
    errdefs.Unauthorized,
    errdefs.Forbidden,
    errdefs.Unavailable,
    errdefs.NotImplementedYet,
    errdefs.Cancelled,
    errdefs.System,
]


def _wire(err: BaseException) -> grpc.aio.AioRpcError:
    code, details, trailing = status_of(err)
    return grpc.aio.AioRpcError(code, grpc.aio.Metadata(), grpc.aio.Metadata(*trailing), details)


@pytest.mark.parametrize("category", CATEGORIES)
def test_category_round_trips_exactly(category: type[errdefs.WharfError]) -> None:
    back = error_of(_wire(category("container x: boom")))
    assert type(back) is category
    assert str(back) == "container x: boom"


def test_uncategorised_error_is_system() -> None:
    back = error_of(_wire(RuntimeError("oops")))
    assert type(back) is errdefs.System
    assert "oops" in str(back)


def test_status_without_errdefs_code_maps_by_grpc_code() -> None:
    err = grpc.aio.AioRpcError(grpc.StatusCode.UNAVAILABLE, grpc.aio.Metadata(), grpc.aio.Metadata(), "connect failed")
    assert type(error_of(err)) is errdefs.Unavailable
    err = grpc.aio.AioRpcError(grpc.StatusCode.NOT_FOUND, grpc.aio.Metadata(), grpc.aio.Metadata(), "gone")
    assert type(error_of(err)) is errdefs.NotFound


def test_not_found_uses_grpc_not_found() -> None:
    assert status_of(errdefs.NotFound("x"))[0] == grpc.StatusCode.NOT_FOUND
