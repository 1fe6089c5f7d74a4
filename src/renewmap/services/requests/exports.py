"""Exports and reports of the requests in a staff member's area.

CSV (UTF-8 with a byte-order mark, so Excel in Chinese opens it correctly) and XLSX of the
same rows (the monthly report's data is ``reports``; its HTML is ``renewmap.web.report``).
Every export goes through the same scope as the workspace.
"""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import TYPE_CHECKING, Any, cast

from shapely.geometry import shape
from sqlalchemy.orm import Session

from renewmap.services.access.accounts import Principal

if TYPE_CHECKING:
    from openpyxl.worksheet.worksheet import Worksheet
from renewmap.services.requests import handling

COLUMNS = [
    ("id", "编号 id"),
    ("receipt_code", "回执 receipt"),
    ("created_at", "提交时间 created"),
    ("status", "状态 status"),
    ("overdue", "超期 overdue"),
    ("category", "类别 category"),
    ("title", "标题 title"),
    ("description", "描述 description"),
    ("grid_code", "网格 grid"),
    ("grid_name", "网格名称 grid name"),
    ("supports", "支持 supports"),
    ("nickname", "昵称 nickname"),
    ("phone", "电话 phone"),
    ("lon", "经度 lon"),
    ("lat", "纬度 lat"),
]


def rows(session: Session, *, principal: Principal, **filters: Any) -> list[dict[str, Any]]:
    """Every request in the caller's area matching the filters, flat, oldest first."""
    fc = handling.my_requests(session, principal=principal, limit=None, sort="age", **filters)
    out = []
    for f in fc["features"]:
        p = f["properties"]
        anchor = shape(f["geometry"]).representative_point()
        out.append(
            {
                **{k: p.get(k) for k, _ in COLUMNS},
                "grid_code": (p["grid"] or {}).get("code"),
                "grid_name": (p["grid"] or {}).get("name"),
                "lon": round(anchor.x, 7),
                "lat": round(anchor.y, 7),
            }
        )
    return out


def to_csv(records: list[dict[str, Any]]) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow([label for _, label in COLUMNS])
    for r in records:
        writer.writerow(["" if r[k] is None else r[k] for k, _ in COLUMNS])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def to_xlsx(records: list[dict[str, Any]]) -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    ws = cast("Worksheet", wb.active)  # a new workbook has one sheet, active
    ws.title = "requests"
    ws.append([label for _, label in COLUMNS])
    for r in records:
        ws.append([r[k] for k, _ in COLUMNS])
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

        raise InvalidInput(f"month must be YYYY-MM, got '{value}'", field="month") from None
