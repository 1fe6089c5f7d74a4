"""A community's meetings and proposals as CSV and XLSX for the staff in scope.

Headers in the reader's language, codes beside labels for programs, and every text cell that a
spreadsheet would run as a formula neutralised (``services.requests.exports.neutralise``).
"""

from __future__ import annotations

import csv
import io
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy.orm import Session

from renewmap.i18n import N_, t
from renewmap.services.access.accounts import Principal
from renewmap.services.records import meetings, proposals
from renewmap.services.requests.exports import neutralise

if TYPE_CHECKING:
    from openpyxl.worksheet.worksheet import Worksheet

MEETING_COLUMNS = [
    ("held_on", N_("Date")),
    ("kind_label", N_("Kind of meeting")),
    ("kind", N_("Kind code")),
    ("title", N_("Title")),
    ("place", N_("Place")),
    ("parties", N_("Parties")),
    ("participants", N_("Attendances")),
    ("attendees", N_("Attendees")),
    ("decisions", N_("Decisions")),
    ("minutes", N_("Minutes")),
    ("linked", N_("Discussed")),
]
PROPOSAL_COLUMNS = [
    ("number", N_("Proposal no.")),
    ("submitted_on", N_("Submitted on")),
    ("title", N_("Title")),
    ("body", N_("Proposal")),
    ("proposer_kind_label", N_("Proposed by")),
    ("proposer_name", N_("Proposer")),
    ("proposer_phone", N_("Phone")),
    ("public_label", N_("Public")),
    ("status_label", N_("Status")),
    ("status", N_("Status code")),
    ("site", N_("Site")),
    ("decline_reason", N_("Reason declined")),
]
SEP = "; "


def meeting_table(
    session: Session, *, principal: Principal, community_code: str
) -> tuple[str, list[tuple[str, str]], list[dict[str, Any]]]:
    data = meetings.register(session, principal=principal, community_code=community_code)
    out = []
    for m in data["meetings"]:
        out.append(
            {
                **m,
                "parties": SEP.join(p["label"] for p in m["parties"]),
                "attendees": SEP.join(
                    f"{a['role_label']} {a['name'] or ''} ×{a['count']}".replace("  ", " ")
                    for a in m["attendees"]
                ),
                "linked": SEP.join(
                    [r["title"] for r in m["requests"]]
                    + [p["title"] for p in m["proposals"]]
                    + [s["name"] or s["code"] for s in m["sites"]]
                ),
            }
        )
    return t("Meetings"), MEETING_COLUMNS, out


def proposal_table(
    session: Session, *, principal: Principal, community_code: str
) -> tuple[str, list[tuple[str, str]], list[dict[str, Any]]]:
    data = proposals.staff_list(session, principal=principal, community_code=community_code)
    out = [
        {
            **p,
            "public_label": t("Yes") if p["public"] else t("No"),
            "site": (p["site"]["name"] or p["site"]["code"]) if p["site"] else None,
        }
        for p in data["proposals"]
    ]
    return t("Proposals"), PROPOSAL_COLUMNS, out


def to_csv(columns: list[tuple[str, str]], rows: list[dict[str, Any]]) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow([t(label) for _, label in columns])
    for r in rows:
        writer.writerow(["" if r[k] is None else neutralise(r[k]) for k, _ in columns])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def to_xlsx(title: str, columns: list[tuple[str, str]], rows: list[dict[str, Any]]) -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    ws = cast("Worksheet", wb.active)
    ws.title = title[:31]
    ws.append([t(label) for _, label in columns])
    for r in rows:
        ws.append([neutralise(r[k]) for k, _ in columns])
        for cell in ws[ws.max_row]:
            if isinstance(cell.value, str):
                cell.data_type = "s"  # text, whatever it looks like
    ws.freeze_panes = "A2"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
