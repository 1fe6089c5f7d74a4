"""A site's money and materials on both databases (issue 18 item 4): budget, sources with
amounts, spending, donated materials and pledges recorded by staff; the public disclosure
(居务公开) with exact sums and nobody named; scope."""

from __future__ import annotations

import pytest

from tests.support.records import records_world

MONEY = "/api/records/communities/T0001/sites/S1/money"
LINES = [
    {"kind": "budget", "amount": "50000", "day": "2025-03-01"},
    {"kind": "income", "source": "subdistrict_grant", "amount": "30000", "day": "2025-03-10"},
    {
        "kind": "income",
        "source": "crowdfunding",
        "amount": "8650.50",
        "day": "2025-04-01",
        "contributor": "篮球场众筹群",
    },
    {"kind": "income", "source": "self_funded", "amount": "1200", "day": "2025-04-03"},
    {"kind": "spending", "item": "种植池 · 灌木", "amount": "12345.67", "day": "2025-05-01"},
    {"kind": "spending", "item": "=座椅", "amount": "2000", "day": "2025-05-02"},
    {
        "kind": "material",
        "item": "透水砖",
        "quantity": 120,
        "unit": "块",
        "day": "2025-04-20",
        "contributor": "张师傅",
        "contact": "13900000002",
    },
    {
        "kind": "pledge",
        "source": "crowdfunding",
        "amount": "500",
        "day": "2025-04-02",
        "contributor": "赵先生",
        "contact": "13900000003",
    },
    {"kind": "pledge", "source": "crowdfunding", "amount": "300.30", "day": "2025-04-02"},
]


@pytest.fixture
def world(make_client, session):
    headers, request_id = records_world(session)
    return make_client(), headers, request_id


def test_money_and_the_public_disclosure(world) -> None:
    c, h, _ = world
    for line in LINES:
        r = c.post(MONEY, headers=h["admin"], json=line)
        assert r.status_code == 201, r.text
    staff = c.get(MONEY, headers=h["lead_a"]).json()
    assert staff["budget_fen"] == 5_000_000
    assert staff["income_fen"] == 3_985_050  # 30000 + 8650.50 + 1200
    assert staff["spent_fen"] == 1_434_567  # 12345.67 + 2000
    assert staff["balance_fen"] == 3_985_050 - 1_434_567
    assert (staff["pledges"], staff["pledged_fen"]) == (2, 80_030)
    assert [s["label"] for s in staff["sources"]] == ["街道拨款", "众筹", "居民自筹"]
    assert {x["contact"] for x in staff["lines"]} >= {"13900000002", "13900000003"}
    public = c.get("/api/sites/T0001/S1/disclosure")
    assert public.status_code == 200
    body = public.json()
    assert (body["income_fen"], body["spent_fen"], body["pledges"]) == (3_985_050, 1_434_567, 2)
    assert all(x["kind"] != "pledge" for x in body["lines"])
    for secret in ("13900000002", "赵先生", "张师傅", "篮球场众筹群", "contributor"):
        assert secret not in public.text
    page = c.get("/c/T0001/sites/S1/disclosure")
    assert page.status_code == 200
    for shown in ("居务公开", "39,850.50", "12,345.67", "透水砖", "2 笔认捐，共 800.30 元"):
        assert shown in page.text, shown
    for secret in ("13900000002", "赵先生", "张师傅"):
        assert secret not in page.text
    # correction: a line deleted by its community's keeper only
    line_id = staff["lines"][0]["id"]
    assert c.delete(f"/api/records/money/{line_id}", headers=h["admin2"]).status_code == 404
    assert c.delete(f"/api/records/money/{line_id}", headers=h["lead_a"]).status_code == 403
    assert c.delete(f"/api/records/money/{line_id}", headers=h["admin"]).status_code == 204
    assert c.get(MONEY, headers=h["admin"]).json()["budget_fen"] == 0


@pytest.mark.parametrize(
    ("line", "status", "code"),
    [
        ({"kind": "gift", "amount": "1", "day": "2025-01-01"}, 422, "record_code_unknown"),
        ({"kind": "income", "amount": "1", "day": "2025-01-01"}, 422, "record_code_unknown"),
        ({"kind": "spending", "amount": "1", "day": "2025-01-01"}, 422, "fund_item_missing"),
        ({"kind": "budget", "day": "2025-01-01"}, 422, "fund_amount_invalid"),
        ({"kind": "budget", "amount": "1.005", "day": "2025-01-01"}, 422, "fund_amount_decimals"),
        ({"kind": "budget", "amount": "1e12", "day": "2025-01-01"}, 422, None),
        ({"kind": "material", "item": "砖", "day": "2025-01-01"}, 422, "fund_quantity_missing"),
        ({"kind": "budget", "amount": "1", "day": "01/02/2025"}, 422, "date_invalid"),
    ],
)
def test_a_bad_line_is_refused_and_writes_nothing(world, line, status, code) -> None:
    c, h, _ = world
    r = c.post(MONEY, headers=h["admin"], json=line)
    assert r.status_code == status, r.text
    if code:
        assert r.json()["code"] == code
    assert c.get(MONEY, headers=h["admin"]).json()["lines"] == []


def test_money_scope(world) -> None:
    c, h, _ = world
    assert c.get(MONEY, headers=h["admin2"]).status_code == 404
    assert c.post(MONEY, headers=h["admin2"], json=LINES[0]).status_code == 404
    assert c.post(MONEY, headers=h["designer"], json=LINES[0]).status_code == 403
    assert c.get(MONEY).status_code == 401
    assert c.get("/api/sites/T0001/S9/disclosure").status_code == 404
