"""Exports and reports of the requests in a staff member's area.

CSV (UTF-8 with a byte-order mark, so Excel in Chinese opens it correctly) and XLSX of the
same rows (the monthly report's data is ``reports``; its HTML is ``renewmap.web.report``).
Every export goes through the same scope as the workspace.
"""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime
from typing import IO, Any, BinaryIO, cast
from zoneinfo import ZoneInfo

from shapely.geometry import shape
from sqlalchemy.orm import Session

from renewmap import names
from renewmap.i18n import N_, t
from renewmap.services.access.accounts import Principal
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
EXPORT_BATCH = 500  # rows read from the database at a time
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


def _record(feature: dict[str, Any], tz: ZoneInfo) -> dict[str, Any]:
    p = feature["properties"]
    anchor = shape(feature["geometry"]).representative_point()
    return {
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


def iter_records(
    session: Session,
    *,
    principal: Principal,
    tz: ZoneInfo = DEFAULT_TZ,
    batch: int | None = None,
    **filters: Any,
) -> Iterator[dict[str, Any]]:
    """Every request in the caller's area matching the filters, flat, oldest first, read from
    the database ``batch`` rows at a time (the filters and the scope are checked at once, before
    the first row). The codes and the stored UTC time (``status``, ``category``, ``overdue``,
    ``created_at``) for programs; beside them their labels in the current language and the
    time in ``tz``."""
    features = handling.iter_my_requests(
        session,
        principal=principal,
        sort="age",
        batch=batch or EXPORT_BATCH,
        time_zone=tz.key,
        **filters,
    )
    return (_record(f, tz) for f in features)


def rows(
    session: Session, *, principal: Principal, tz: ZoneInfo = DEFAULT_TZ, **filters: Any
) -> list[dict[str, Any]]:
    """``iter_records`` as a list (the monthly report, small)."""
    return list(iter_records(session, principal=principal, tz=tz, **filters))


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


def write_csv(
    records: Iterable[dict[str, Any]], out: BinaryIO, *, tz: ZoneInfo = DEFAULT_TZ
) -> None:
    """CSV (UTF-8 with a byte-order mark) into ``out``, each row written as it comes."""
    text_out = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=True)
    try:
        text_out.write("\ufeff")
        writer = csv.writer(text_out)
        writer.writerow(headers(tz))
        for r in records:
            writer.writerow([_cell(r[k]) for k, _ in COLUMNS])
        text_out.flush()
    finally:
        text_out.detach()  # leave ``out`` open for the caller


def write_xlsx(
    records: Iterable[dict[str, Any]], out: BinaryIO, *, tz: ZoneInfo = DEFAULT_TZ
) -> None:
    """An XLSX workbook into ``out``: openpyxl's write-only mode puts each row into the sheet's
    file as it comes, so memory does not grow with the rows. Text cells stay text whatever
    they look like, times carry a date format."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(t("Requests")[:31])
    ws.freeze_panes = "A2"
    ws.append(headers(tz))
    for r in records:
        cells = []
        for k, _ in COLUMNS:
            cell = WriteOnlyCell(ws, value=neutralise(r[k]))
            if isinstance(cell.value, str):
                cell.data_type = "s"  # text, whatever it looks like
            elif isinstance(cell.value, datetime):
                cell.number_format = "yyyy-mm-dd hh:mm"
            cells.append(cell)
        ws.append(cells)
    wb.save(out)


def to_csv(records: Iterable[dict[str, Any]], *, tz: ZoneInfo = DEFAULT_TZ) -> bytes:
    buf = io.BytesIO()
    write_csv(records, buf, tz=tz)
    return buf.getvalue()


def to_xlsx(records: Iterable[dict[str, Any]], *, tz: ZoneInfo = DEFAULT_TZ) -> bytes:
    buf = io.BytesIO()
    write_xlsx(records, buf, tz=tz)
    return buf.getvalue()


SPOOL_BYTES = 1 << 20  # an export bigger than this goes to a temporary file, not memory
CHUNK_BYTES = 1 << 16


def export_file(
    kind: str, records: Iterable[dict[str, Any]], *, tz: ZoneInfo = DEFAULT_TZ
) -> IO[bytes]:
    """The whole export written (``kind``: csv or xlsx) into a temporary file that stays in
    memory up to ``SPOOL_BYTES`` and is on disk beyond, rewound: the rows never all sit in
    memory, and a failure shows before the first byte is sent."""
    out = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 (returned open)
    try:
        (write_csv if kind == "csv" else write_xlsx)(records, cast("BinaryIO", out), tz=tz)
    except BaseException:
        out.close()
        raise
    out.seek(0)
    return cast("IO[bytes]", out)


def chunks(file: IO[bytes]) -> Iterator[bytes]:
    """The file's bytes in pieces (a streamed response's body); closes it at the end."""
    with file:
        while piece := file.read(CHUNK_BYTES):
            yield piece


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
