"""Exports and reports of the requests in a staff member's area.

CSV (UTF-8 with a byte-order mark, so Excel in Chinese opens it correctly) and XLSX of the
same rows; a printable HTML report per grid for the monthly meeting (the map inlined, so the
file works on its own, offline). Every export goes through the same scope as the workspace.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from typing import Any

import geopandas as gpd
from shapely.geometry import shape
from sqlalchemy.orm import Session

from renewmap.services.access.accounts import Principal
from renewmap.services.requests import handling
from renewmap.vocabulary import is_open

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
    ws = wb.active
    ws.title = "requests"
    ws.append([label for _, label in COLUMNS])
    for r in records:
        ws.append([r[k] for k, _ in COLUMNS])
    ws.freeze_panes = "A2"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def grid_report_html(
    session: Session,
    *,
    principal: Principal,
    community_code: str,
    grid_code: str,
    month: date | None = None,
) -> str:
    """A printable page for one grid's monthly meeting: map, figures, the open requests."""
    from html import escape

    from renewmap.maps import community_map
    from renewmap.services.places.layers import community_layers

    month = month or datetime.now(UTC).date().replace(day=1)
    records = rows(session, principal=principal, grid_code=grid_code, community_code=community_code)
    layers = community_layers(
        session,
        community_code=community_code,
        kinds=("community", "grid", "building", "path", "green"),
    )
    grid = layers["grid"][layers["grid"]["code"] == grid_code]
    if len(records):
        frame = gpd.GeoDataFrame(
            [
                {"title": r["title"], "grid_code": r["grid_code"], "status": r["status"]}
                for r in records
            ],
            geometry=gpd.points_from_xy([r["lon"] for r in records], [r["lat"] for r in records]),
            crs=4326,
        )
        layers["request"] = frame
    m = community_map(layers, assets="inline")
    if len(grid):
        minx, miny, maxx, maxy = grid.total_bounds
        m.fit_bounds([[miny, minx], [maxy, maxx]])
    start = datetime(month.year, month.month, 1, tzinfo=UTC)
    open_ = [r for r in records if is_open(r["status"])]
    new_this_month = [
        r for r in records if r["created_at"] and r["created_at"] >= start.isoformat()
    ]
    overdue = [r for r in open_ if r["overdue"]]
    grid_name = grid["name"].iloc[0] if len(grid) else grid_code
    table = "".join(
        f"<tr><td>{r['id']}</td><td>{escape(str(r['created_at'] or '')[:10])}</td>"
        f"<td>{escape(r['status'])}{' ⚠' if r['overdue'] else ''}</td>"
        f"<td>{escape(r['category'])}</td><td>{escape(r['title'])}</td>"
        f"<td>{r['supports']}</td></tr>"
        for r in open_
    )
    figures = (
        f"<ul><li>未办结 open: <b>{len(open_)}</b></li><li>超期 overdue: <b>{len(overdue)}</b></li>"
        f"<li>本月新增 new this month: <b>{len(new_this_month)}</b></li>"
        f"<li>全部 all: <b>{len(records)}</b></li></ul>"
    )
    map_html = m.get_root().render()
    return f"""<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<title>{escape(str(grid_name))} · {month:%Y-%m} 月度报告</title>
<style>body{{font:14px sans-serif;margin:16px}} table{{border-collapse:collapse;width:100%}}
td,th{{border:1px solid #999;padding:4px}} iframe{{width:100%;height:480px;border:1px solid #999}}
@media print{{iframe{{height:420px}}}}</style></head><body>
<h1>{escape(str(grid_name))} · {month:%Y年%m月} 诉求报告</h1>
<p>{escape(community_code)} · 生成于 {datetime.now(UTC):%Y-%m-%d %H:%M} UTC</p>
{figures}
<iframe title="地图 map" srcdoc="{escape(map_html)}"></iframe>
<h2>未办结诉求 open requests</h2>
<table><tr><th>编号</th><th>提交</th><th>状态</th><th>类别</th><th>标题</th><th>支持</th></tr>
{table or '<tr><td colspan="6">—</td></tr>'}</table></body></html>"""


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
