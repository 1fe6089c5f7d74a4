"""Money and materials of a micro-renewal site: its budget, the sources with their amounts
(街道拨款, 基金会, 众筹, 居民自筹, 义卖/捐款), spending against the bill of quantities, donated
materials, and residents' crowdfunding pledges as staff record them (no payment is processed).

The public disclosure (居务公开) shows sources, spending and materials with their sums; who gave
(names, phones) stays with the staff in scope. Amounts are kept in fen, so sums are exact.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from renewmap.db.models import FundLine, Site
from renewmap.db.queries.places import community_by_code, find_site
from renewmap.db.queries.records import find_fund_line, fund_lines_of_site
from renewmap.errors import InvalidInput, NotFound
from renewmap.i18n import Msg
from renewmap.services.access.accounts import Principal
from renewmap.services.records import access
from renewmap.services.records.common import check_code, label, parse_day
from renewmap.services.records.terms import FUND_KINDS, FUND_SOURCES

MAX_YUAN = Decimal("100000000")  # 1亿: more than any micro-renewal site
WITH_SOURCE = ("income", "pledge")
WITH_AMOUNT = ("budget", "income", "spending", "pledge")


def _site(session: Session, community_id: int, code: str, community_name: str) -> Site:
    site = find_site(session, community_id=community_id, code=code)
    if site is None:
        raise NotFound(
            "site '{site}' not found in {community}",
            key="site_not_found",
            site=code,
            community=community_name,
            field="site",
        )
    return site


def _fen(amount: Decimal | None, kind: str) -> int | None:
    if kind not in WITH_AMOUNT:
        return None
    if amount is None or not Decimal("0.01") <= amount <= MAX_YUAN:
        raise InvalidInput(
            "amount: a {kind} needs an amount of 0.01 to {limit} yuan",
            key="fund_amount_invalid",
            kind=Msg(FUND_KINDS[kind]),
            limit=int(MAX_YUAN),
            field="amount",
        )
    if amount != amount.quantize(Decimal("0.01")):
        raise InvalidInput(
            "amount: at most two decimals (fen)", key="fund_amount_decimals", field="amount"
        )
    return int(amount * 100)


def _line_view(row: FundLine, *, staff: bool) -> dict[str, Any]:
    view = {
        "id": row.id,
        "kind": row.kind,
        "kind_label": label(FUND_KINDS, row.kind),
        "source": row.source,
        "source_label": label(FUND_SOURCES, row.source),
        "item": row.item,
        "amount_fen": row.amount_fen,
        "quantity": row.quantity,
        "unit": row.unit,
        "day": row.day.isoformat(),
    }
    if staff:
        view |= {"contributor": row.contributor, "contact": row.contact}
    return view


def _summary(rows: list[FundLine]) -> dict[str, Any]:
    def total(kind: str) -> int:
        return sum(r.amount_fen or 0 for r in rows if r.kind == kind)

    by_source = {
        code: sum(r.amount_fen or 0 for r in rows if r.kind == "income" and r.source == code)
        for code in FUND_SOURCES
    }
    income, spent = total("income"), total("spending")
    return {
        "budget_fen": total("budget"),
        "income_fen": income,
        "spent_fen": spent,
        "balance_fen": income - spent,
        "pledged_fen": total("pledge"),
        "pledges": sum(1 for r in rows if r.kind == "pledge"),
        "sources": [
            {"source": code, "label": label(FUND_SOURCES, code), "amount_fen": amount}
            for code, amount in by_source.items()
            if amount
        ],
    }


def staff_view(
    session: Session, *, principal: Principal, community_code: str, site_code: str
) -> dict[str, Any]:
    """Every line of the site with who gave (staff in scope)."""
    community = access.readable_community(session, principal=principal, code=community_code)
    site = _site(session, community.id, site_code, community.name)
    rows = list(fund_lines_of_site(session, site_id=site.id))
    return {
        "site": {"code": site.code, "name": site.name},
        "lines": [_line_view(r, staff=True) for r in rows],
        **_summary(rows),
    }


def disclosure(session: Session, *, community_code: str, site_code: str) -> dict[str, Any]:
    """居务公开: the site's sources, spending and donated materials, and their sums; pledges
    counted and summed; nobody named."""
    community = community_by_code(session, code=community_code)
    site = _site(session, community.id, site_code, community.name)
    rows = list(fund_lines_of_site(session, site_id=site.id))
    return {
        "community": {"code": community.code, "name": community.name},
        "site": {"code": site.code, "name": site.name},
        "lines": [_line_view(r, staff=False) for r in rows if r.kind != "pledge"],
        **_summary(rows),
    }


def record(
    session: Session,
    *,
    principal: Principal,
    community_code: str,
    site_code: str,
    data: dict[str, Any],
) -> dict[str, Any]:
    """Record one line (all checked first)."""
    community = access.kept_community(session, principal=principal, code=community_code)
    site = _site(session, community.id, site_code, community.name)
    kind = check_code(data["kind"], FUND_KINDS, field="kind")
    source = data.get("source") or None
    if kind in WITH_SOURCE:
        check_code(source or "", FUND_SOURCES, field="source")
    else:
        source = None
    item = (data.get("item") or "").strip() or None
    if kind in ("spending", "material") and item is None:
        raise InvalidInput(
            "item: name what was bought or given (a line of the bill of quantities)",
            key="fund_item_missing",
            field="item",
        )
    quantity = data.get("quantity")
    if kind == "material" and (quantity is None or not 0 < float(quantity) <= 1e9):
        raise InvalidInput(
            "quantity: donated material needs a quantity above 0",
            key="fund_quantity_missing",
            field="quantity",
        )
    day = parse_day(data["day"], field="day")
    assert day is not None
    row = FundLine(
        community_id=community.id,
        site_id=site.id,
        kind=kind,
        source=source,
        item=item,
        amount_fen=_fen(data.get("amount"), kind),
        quantity=float(quantity) if kind == "material" and quantity is not None else None,
        unit=((data.get("unit") or "").strip() or None) if kind == "material" else None,
        contributor=(data.get("contributor") or "").strip() or None,
        contact=(data.get("contact") or "").strip() or None,
        day=day,
        created_by=principal.actor,
    )
    session.add(row)
    session.flush()
    return staff_view(
        session, principal=principal, community_code=community_code, site_code=site_code
    )


def remove(session: Session, *, principal: Principal, line_id: int) -> None:
    """Delete a line entered by mistake."""
    row = find_fund_line(session, line_id=line_id)
    if row is None:
        raise NotFound(
            "money line {id} not found", key="fund_line_not_found", id=line_id, field="id"
        )
    try:
        access.require_keeper_of(session, principal=principal, community_id=row.community_id)
    except NotFound:
        raise NotFound(
            "money line {id} not found", key="fund_line_not_found", id=line_id, field="id"
        ) from None
    session.delete(row)
    session.flush()
