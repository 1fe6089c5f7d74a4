"""Domain exceptions and the single table that maps them to HTTP status codes.

Services raise these; only the API layer translates them (``HTTP_STATUS``), and the CLI prints
their message and exits non-zero. Messages name the file, feature and field where they can.

An exception carries an English ``str.format`` template (the msgid, translated by the
catalogs) and keyword values; the values the template names are its ``params``, all of them
are its machine-readable ``details``. ``key`` is the stable, specific code of the problem
(``location_outside_communities``; JSON ``code``) beside the class's ``code``
(``not_routable``; JSON ``error``)::

    raise NotRoutable(
        "location ({lon:.6f}, {lat:.6f}) is outside every community",
        key="location_outside_communities", lon=x, lat=y, field="geometry",
    )

``message`` is rendered in the language of the current request or command; ``render(locale)``
in any; ``str(exc)`` is the English text (logs, tracebacks).
"""

from __future__ import annotations

from typing import Any

from renewmap.i18n import Msg, Text, current_locale, fields, jsonable


class RenewMapError(Exception):
    """Base class: ``message`` is user-facing, ``details`` machine-readable context."""

    code = "error"

    def __init__(self, msgid: str | Msg, /, *, key: str | None = None, **details: object) -> None:
        if isinstance(msgid, Msg):  # an existing message, passed on: details add to its values
            self.msg = Msg(msgid.msgid, **{**details, **msgid.params})  # (never replace them)
        else:
            self.msg = Msg(msgid, **details)
        self.key = key or self.code
        self.details = details
        super().__init__(self.msg.render("en"))

    @property
    def msgid(self) -> str:
        return self.msg.msgid

    @property
    def params(self) -> dict[str, object]:
        """The values the message's template names."""
        names = fields(self.msg.msgid)
        return {k: v for k, v in self.msg.params.items() if k in names}

    @property
    def message(self) -> str:
        """The message in the language of the current request or command."""
        return self.msg.render(current_locale())

    def render(self, locale: str) -> str:
        return self.msg.render(locale)

    def as_json(self, locale: str) -> dict[str, Any]:
        """The API's error body: ``error`` (the class's code), ``code`` (this problem's),
        ``message`` in ``locale``, ``params`` and ``details`` (messages in them rendered)."""
        return {
            "error": self.code,
            "code": self.key,
            "message": self.render(locale),
            "params": {k: jsonable(v, locale) for k, v in self.params.items()},
            "details": {
                k: jsonable(v, locale)
                for k, v in self.details.items()
                if isinstance(v, Text | str | int | float | list | tuple | dict)
            },
        }


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


class BlobMissing(RenewMapError):
    """A row names a photo or file the blob store does not hold (the store lost it, or the
    database was restored without its blob directory or bucket)."""

    code = "blob_missing"


class BlobStorageFailed(RenewMapError):
    """The blob store (directory or S3-compatible storage) could not be reached or refused."""

    code = "blob_storage_failed"


class FontMissing(RenewMapError):
    """No font with Chinese characters to draw a printable (the server's setup)."""

    code = "font_missing"


HTTP_STATUS: dict[type[RenewMapError], int] = {
    FontMissing: 503,
    BlobMissing: 503,
    BlobStorageFailed: 503,
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
