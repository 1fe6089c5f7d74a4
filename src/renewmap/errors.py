"""Domain exceptions and the single table that maps them to HTTP status codes.

Services raise these; only the API layer translates them (``HTTP_STATUS``), and the CLI prints
their message and exits non-zero. Messages name the file, feature and field where they can.
"""

from __future__ import annotations


class RenewMapError(Exception):
    """Base class: ``message`` is user-facing, ``details`` machine-readable context."""

    code = "error"

    def __init__(self, message: str, **details: object) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class NotFound(RenewMapError):
    code = "not_found"


class InvalidGeometry(RenewMapError):
    code = "invalid_geometry"


class InvalidInput(RenewMapError):
    code = "invalid_input"


class CRSError(RenewMapError):
    code = "crs_error"


class NotRoutable(RenewMapError):
    """The location lies outside every community and beyond the snap distance."""

    code = "not_routable"


class ImportFailed(RenewMapError):
    code = "import_failed"


class Conflict(RenewMapError):
    code = "conflict"


class SpatialBackendMissing(RenewMapError):
    code = "spatial_backend_missing"


class Unauthenticated(RenewMapError):
    """No valid credentials (sign in, or send a bearer token)."""

    code = "unauthenticated"


class Forbidden(RenewMapError):
    code = "forbidden"


class RateLimited(RenewMapError):
    code = "rate_limited"


class DatabaseUnavailable(RenewMapError):
    code = "database_unavailable"


class SchemaOutdated(RenewMapError):
    """The database is not at the code's schema revision (``renewmap db upgrade``)."""

    code = "schema_outdated"


class ReadTooLong(RenewMapError):
    """A public read cut off by its time budget (``RENEWMAP_PUBLIC_READ_TIMEOUT_MS``)."""

    code = "read_timeout"


class PayloadTooLarge(RenewMapError):
    code = "payload_too_large"


class InvalidHost(RenewMapError):
    """The ``Host`` header names a host this server does not answer for."""

    code = "invalid_host"


class MethodNotAllowed(RenewMapError):
    code = "method_not_allowed"


class NotAcceptable(RenewMapError):
    """The client's ``Accept`` header allows none of the media types an endpoint serves."""

    code = "not_acceptable"


class OutputFailed(RenewMapError):
    """An output file could not be written (permissions, missing directory, disk full)."""

    code = "output_failed"


HTTP_STATUS: dict[type[RenewMapError], int] = {
    NotFound: 404,
    InvalidGeometry: 422,
    InvalidInput: 422,
    CRSError: 422,
    NotRoutable: 422,
    ImportFailed: 422,
    Conflict: 409,
    SpatialBackendMissing: 503,
    DatabaseUnavailable: 503,
    ReadTooLong: 503,
    SchemaOutdated: 503,
    Unauthenticated: 401,
    Forbidden: 403,
    MethodNotAllowed: 405,
    NotAcceptable: 406,
    RateLimited: 429,
    PayloadTooLarge: 413,
    InvalidHost: 400,
    OutputFailed: 500,
    RenewMapError: 400,
}


def http_status_for(exc: RenewMapError) -> int:
    """Most specific status in ``HTTP_STATUS`` for this exception."""
    for cls in type(exc).__mro__:
        if cls in HTTP_STATUS:
            return HTTP_STATUS[cls]
    return 400
