"""Exports and reports of the requests in a staff member's area.

CSV (UTF-8 with a byte-order mark, so Excel in Chinese opens it correctly) and XLSX of the
same rows (the monthly report's data is ``reports``; its HTML is ``renewmap.web.report``).
Every export goes through the same scope as the workspace.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, cast
from zoneinfo import ZoneInfo

from shapely.geometry import shape
from sqlalchemy.orm import Session

from renewmap import names
from renewmap.i18n import N_, t
from renewmap.services.access.accounts import Principal

if TYPE_CHECKING:
    from openpyxl.worksheet.worksheet import Worksheet
from renewmap.services.requests import handling
from renewmap.settings import DEFAULT_TIME_ZONE
from renewmap.vocabulary import CATEGORY_LABELS, STATUS_LABELS

# (record key, header msgid): labels for people, the codes beside them for machines.
COLUMNS: list[tuple[str, str]] = [
    ("id", N_("No.")),
    ("receipt_code", N_("Receipt")),
    ("created_local", N_("Submitted on ({tz})")),
    ("status_label", N_("Status")),
    ("status", N_("Status code")),
    ("overdue_label", N_("Overdue")),
    ("category_label", N_("Category")),
    ("category", N_("Category code")),
    ("title", N_("Title")),
    ("description", N_("Description")),
    ("grid_code", N_("Grid code")),
    ("grid_name", N_("Grid")),
    ("supports", N_("Supports")),
    ("nickname", N_("Nickname")),
    ("phone", N_("Phone")),
    ("lon", N_("Longitude")),
    ("lat", N_("Latitude")),
]
# A spreadsheet runs a cell that begins with one of these as a formula (or DDE).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
DEFAULT_TZ = ZoneInfo(DEFAULT_TIME_ZONE)


def local_time(value: str | datetime | None, tz: ZoneInfo) -> datetime | None:
    """A stored time (UTC, aware or naive) in the community's time zone, without tzinfo (as
    spreadsheets keep times), to the minute."""
    if value is None or value == "":
        return None
    t = datetime.fromisoformat(value) if isinstance(value, str) else value
    t = t.replace(tzinfo=UTC) if t.tzinfo is None else t
    return t.astimezone(tz).replace(tzinfo=None, second=0, microsecond=0)


def status_label(code: str | None) -> str:
    return str(names.label(STATUS_LABELS, code))


def category_label(code: str | None) -> str:
    label = CATEGORY_LABELS.get(code or "")
    return t(label[0]) if label else (code or "")


def rows(
    session: Session, *, principal: Principal, tz: ZoneInfo = DEFAULT_TZ, **filters: Any
) -> list[dict[str, Any]]:
    """Every request in the caller's area matching the filters, flat, oldest first. The codes
    and the stored UTC time (``status``, ``category``, ``overdue``, ``created_at``) for
    programs; beside them their labels in the current language and the time in ``tz``."""
    fc = handling.my_requests(session, principal=principal, limit=None, sort="age", **filters)
    out = []
    for f in fc["features"]:
        p = f["properties"]
        anchor = shape(f["geometry"]).representative_point()
        out.append(
            {
                **{k: p.get(k) for k, _ in COLUMNS},
                "created_at": p.get("created_at"),
                "created_local": local_time(p.get("created_at"), tz),
                "status_label": status_label(p["status"]),
                "overdue": bool(p["overdue"]),
                "overdue_label": t("yes") if p["overdue"] else t("no"),
                "category_label": category_label(p["category"]),
                "grid_code": (p["grid"] or {}).get("code"),
                "grid_name": (p["grid"] or {}).get("name"),
                "lon": round(anchor.x, 7),
                "lat": round(anchor.y, 7),
            }
        )
    return out


def headers(tz: ZoneInfo = DEFAULT_TZ) -> list[str]:
    """The columns' titles in the current language."""
    return [t(label, tz=tz.key) for _, label in COLUMNS]


def neutralise(value: Any) -> Any:
    """A text cell a spreadsheet would run as a formula gets a leading ``'`` (it stays text);
    numbers, times and other text are left as they are."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _cell(value: Any) -> Any:
    if isinstance(value, datetime):
        return f"{value:%Y-%m-%d %H:%M}"
    return "" if value is None else neutralise(value)


def to_csv(records: list[dict[str, Any]], *, tz: ZoneInfo = DEFAULT_TZ) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(headers(tz))
    for r in records:
        writer.writerow([_cell(r[k]) for k, _ in COLUMNS])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def to_xlsx(records: list[dict[str, Any]], *, tz: ZoneInfo = DEFAULT_TZ) -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    ws = cast("Worksheet", wb.active)  # a new workbook has one sheet, active
    ws.title = t("Requests")[:31]
    ws.append(headers(tz))
    for r in records:
        ws.append([neutralise(r[k]) for k, _ in COLUMNS])
        for cell in ws[ws.max_row]:
            if isinstance(cell.value, str):
                cell.data_type = "s"  # text, whatever it looks like
            elif isinstance(cell.value, datetime):
                cell.number_format = "yyyy-mm-dd hh:mm"
    ws.freeze_panes = "A2"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def parse_month(value: str | None) -> date | None:
    """``YYYY-MM`` → the first day of that month; None → this month."""
    if not value:
        return None
    try:
        year, month = (int(p) for p in value.split("-"))
        return date(year, month, 1)
    except ValueError:
        from renewmap.errors import InvalidInput

        raise InvalidInput(
            "month must be YYYY-MM, got '{value}'", key="month_invalid", value=value, field="month"
        ) from None
