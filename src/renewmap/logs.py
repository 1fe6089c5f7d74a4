"""Application logs: one line per event, JSON objects in production (``RENEWMAP_LOG_FORMAT``),
each carrying the id of the request it belongs to.

A request's id comes from a trusted proxy's ``X-Request-ID`` (nginx: ``$request_id``) when it
looks like one, else it is made here; it is sent back in ``X-Request-ID`` and written on every
line logged while the request runs (``api.observe`` logs one line per request). Threads the
request runs in (sync endpoints) see it too: FastAPI copies the context into them.
"""

from __future__ import annotations

import contextvars
import json
import logging
import time
from datetime import UTC, datetime
from typing import Any

from renewmap.settings import Settings

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")

# what a record carries besides the message (the rest of logging's attributes are left out)
_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message",
    "asctime",
    "color_message",
    "request_id",
}


class RequestIdFilter(logging.Filter):
    """Puts the current request's id on every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC), level, logger, message, request id, extras."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "pid": record.process,  # which worker (renewmap serve --workers N)
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                out[key] = (
                    value if isinstance(value, str | int | float | bool | None) else str(value)
                )
        if record.exc_info:
            out["error"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")
        self.converter = time.gmtime


def log_format(settings: Settings) -> str:
    if settings.log_format != "auto":
        return settings.log_format
    return "text" if settings.env == "dev" else "json"


def log_config(settings: Settings) -> dict[str, Any]:
    """``logging.config.dictConfig`` of the app's processes (uvicorn's loggers included)."""
    formatter = JsonFormatter if log_format(settings) == "json" else TextFormatter
    level = settings.log_level.upper()
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": RequestIdFilter}},
        "formatters": {"default": {"()": formatter}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",
                "formatter": "default",
                "filters": ["request_id"],
            }
        },
        "loggers": {
            "renewmap": {"level": level},
            "uvicorn": {"level": level},
            "uvicorn.error": {"level": level},
            "uvicorn.access": {"level": "WARNING"},
        },
        "root": {"handlers": ["stderr"], "level": level},
    }
