"""The staff list's keyset paging and the streamed exports (issue 19 item 9), on both databases.

Community T0001 (tests/support/places.py) gets eleven requests in grid A with known times,
statuses and supports (ties on purpose, so the id decides), one with a title a spreadsheet
would run. The exports are read a few rows at a time (``EXPORT_BATCH`` made small) and must
still hold exactly the known rows in the known order.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest
from sqlalchemy import event

from renewmap.services.access import accounts
from renewmap.services.requests import exports
from renewmap.services.requests.intake import create_request
from tests.support.places import add_test_community, pt

PASSWORD = "correct horse battery"
FORMULA = '=HYPERLINK("http://x","y")'
# title → (status, created day in November 2026 at 02:00 UTC, supports); created in this order
ROWS = [
    ("r1", "resolved", 1, 0),
    ("r2", "new", 5, 3),
    ("r3", "accepted", 2, 3),
    ("r4", "rejected", 3, 1),
    ("r5", "new", 5, 0),  # the same time as r2: the id decides
    ("r6", "in_progress", 1, 7),
    ("r7", "resolved", 4, 3),
    (FORMULA, "new", 9, 2),
    ("r9", "reopened", 7, 0),
    ("r10", "new", 5, 3),  # the same time as r2 and r5, and the same supports as r2, r3, r7
    ("r11", "resolved", 6, 0),
]
# the known orders (id breaks ties: r2 < r5 < r10 as created)
AGE = ["r6", "r3", "r2", "r5", "r10", "r9", FORMULA, "r1", "r4", "r7", "r11"]
NEWEST = [FORMULA, "r9", "r11", "r10", "r5", "r2", "r7", "r4", "r3", "r6", "r1"]
SUPPORTS = ["r6", "r3", "r7", "r2", "r10", FORMULA, "r4", "r1", "r5", "r11", "r9"]
ORDERS = {"age": AGE, "newest": NEWEST, "supports": SUPPORTS}


@pytest.fixture
def world(session):
    add_test_community(session)
    ids = {}
    for i, (title, status, day, supports) in enumerate(ROWS):
        request, _ = create_request(
            session, geom=pt(0.1 + 0.05 * i, 0.5), category="lighting", title=title
        )
        request.status, request.support_count = status, supports
        request.created_at = datetime(2026, 11, day, 2, 0, tzinfo=UTC)
        request.phone = f"1380000{i:04d}"
        ids[title] = request.id
    user = accounts.create_user(
        session, username="admin_t", password=PASSWORD, roles=[("community_admin", "T0001")]
    )
    session.flush()
    token, _ = accounts.issue_token(session, user=user, kind="api")
    return {"ids": ids, "user": user, "headers": {"Authorization": f"Bearer {token}"}}


def titles(page) -> list[str]:
    return [f["properties"]["title"] for f in page["features"]]


@pytest.mark.parametrize("sort", sorted(ORDERS))
def test_keyset_pages_walk_the_whole_list_in_order(make_client, world, sort: str) -> None:
    """Pages of 3 chained by ``after`` (the last id of the page before) give every request
    once, in the sort's known order; the total is on every page."""
    h = world["headers"]
    seen: list[str] = []
    params = {"sort": sort, "limit": 3, "community": "T0001"}
    with make_client() as c:
        page = c.get("/api/staff/requests", headers=h, params=params).json()
        while page["features"]:
            assert page["numberMatched"] == len(ROWS)
            seen += titles(page)
            after = page["features"][-1]["id"]
            page = c.get("/api/staff/requests", headers=h, params={**params, "after": after})
            assert page.status_code == 200, page.text
            page = page.json()
    assert seen == ORDERS[sort]


def test_keyset_with_a_filter_and_an_offset(make_client, world) -> None:
    h, ids = world["headers"], world["ids"]
    with make_client() as c:
        open_after_r3 = c.get(
            "/api/staff/requests",
            headers=h,
            params={"status": "open", "sort": "age", "after": ids["r3"], "limit": 2},
        ).json()
        skipped = c.get(
            "/api/staff/requests",
            headers=h,
            params={"sort": "newest", "after": ids["r11"], "offset": 2, "limit": 2},
        ).json()
        # a closed request is not in the open list: nothing to page after
        missing = c.get(
            "/api/staff/requests",
            headers=h,
            params={"status": "open", "after": ids["r1"]},
        )
        unknown = c.get("/api/staff/requests", headers=h, params={"after": 999_999})
        bad = c.get("/api/staff/requests", headers=h, params={"after": 0})
    assert titles(open_after_r3) == ["r2", "r5"] and open_after_r3["numberMatched"] == 7
    assert titles(skipped) == ["r2", "r7"]
    assert missing.status_code == 404 and missing.json()["code"] == "request_not_in_scope"
    assert unknown.status_code == 404 and unknown.json()["code"] == "request_not_in_scope"
    assert bad.status_code == 422


def count_batches(engine):
    """A list that grows by one for every SELECT of requests' rows sent to the database."""
    sent: list[str] = []

    def listen(conn, cursor, statement, parameters, context, executemany) -> None:
        select = statement.lstrip().upper().startswith("SELECT")
        rows = "FROM request" in statement and "request.title" in statement
        if select and rows and "count(" not in statement:
            sent.append(statement)

    event.listen(engine, "before_cursor_execute", listen)
    return sent, lambda: event.remove(engine, "before_cursor_execute", listen)


def test_export_records_are_read_batch_by_batch(engine, session, world) -> None:
    """The rows come from the database 4 at a time, as they are consumed: after the first
    record one batch was read; in all, ceil(11 / 4) = 3, and the records are the known ones."""
    user = accounts.principal_of(world["user"])
    sent, stop = count_batches(engine)
    try:
        records = exports.iter_records(session, principal=user, batch=4)
        first = next(records)
        after_first = len(sent)
        rest = list(records)
    finally:
        stop()
    assert after_first == 1 and len(sent) == 3
    assert [r["title"] for r in [first, *rest]] == AGE
    assert [r["supports"] for r in [first, *rest]] == [7, 3, 3, 0, 3, 0, 2, 0, 1, 3, 0]


@pytest.mark.parametrize("batch", [2, 500])
def test_streamed_exports_hold_the_known_rows(make_client, world, monkeypatch, batch) -> None:
    """CSV and XLSX read a few rows at a time (or all in one batch) carry the same known rows
    in the same order: labels from the catalogs, Shanghai time, formulas neutralised."""
    from openpyxl import load_workbook

    monkeypatch.setattr(exports, "EXPORT_BATCH", batch)
    h, ids = world["headers"], world["ids"]
    with make_client() as c:
        got = c.get("/api/staff/requests.csv", headers=h)
        x = c.get("/api/staff/requests.xlsx", headers=h)
    assert got.status_code == 200 and got.content.startswith("\ufeff".encode())
    assert got.headers["content-disposition"] == 'attachment; filename="requests.csv"'
    header, *body = list(csv.reader(io.StringIO(got.content.decode("utf-8-sig"))))
    rows = [dict(zip(header, row, strict=True)) for row in body]
    expected_titles = ["'" + t if t == FORMULA else t for t in AGE]
    assert [r["标题"] for r in rows] == expected_titles
    assert [r["编号"] for r in rows] == [str(ids[t]) for t in AGE]
    by_title = {r["标题"]: r for r in rows}
    assert (by_title["r6"]["状态"], by_title["r6"]["状态代码"]) == ("处理中", "in_progress")
    assert by_title["r6"]["支持数"] == "7" and by_title["r6"]["类别"] == "照明"
    assert by_title["r1"]["提交时间（Asia/Shanghai）"] == "2026-11-01 10:00"
    assert by_title["r1"]["电话"] == "13800000000" and by_title["r11"]["电话"] == "13800000010"
    sheet = load_workbook(io.BytesIO(x.content)).active
    assert sheet.freeze_panes == "A2"
    cells = [[c.value for c in row] for row in sheet.iter_rows()]
    assert cells[0] == header and len(cells) == len(ROWS) + 1
    for row, csv_row in zip(cells[1:], body, strict=True):
        as_text = [
            f"{v:%Y-%m-%d %H:%M}" if isinstance(v, datetime) else "" if v is None else str(v)
            for v in row
        ]
        assert as_text == csv_row
    formula_row = next(row for row in sheet.iter_rows(min_row=2) if row[0].value == ids[FORMULA])
    assert all(c.data_type != "f" for row in sheet.iter_rows() for c in row)
    assert formula_row[header.index("标题")].data_type == "s"
    assert formula_row[header.index("标题")].value == "'" + FORMULA
    assert sheet.cell(2, 1).data_type == "n"
