"""The one place where error categories become HTTP statuses (moby's httpstatus package)."""

from __future__ import annotations

from wharf import errdefs

_STATUS_BY_CATEGORY: tuple[tuple[type[errdefs.WharfError], int], ...] = (
    (errdefs.InvalidArgument, 400),
    (errdefs.NotFound, 404),
    (errdefs.AlreadyExists, 409),
    (errdefs.Conflict, 409),  # FailedPrecondition is a Conflict too
    (errdefs.NotModified, 304),
    (errdefs.Unauthorized, 401),
    (errdefs.Forbidden, 403),
    (errdefs.Unavailable, 503),
    (errdefs.NotImplementedYet, 501),
)


def status_of(err: BaseException) -> int:
    """The HTTP status for an error: its category's, else 500 (a real fault)."""
    for category, status in _STATUS_BY_CATEGORY:
        if isinstance(err, category):
            return status
    return 500
