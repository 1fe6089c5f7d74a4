"""Pages of the participation records: residents' list of public proposals, a site's public
disclosure (居务公开), the conventions and the events (with sign-up); the staff's records page
(counts, meetings, proposals, people and teams, conventions, events, points, money).

Templates ``resident/proposals.html``, ``resident/disclosure.html``,
``resident/conventions.html``, ``resident/events.html`` and ``staff/records.html``; the staff
page's script is ``static/js/records.js``, which reads and writes through the scoped records
API; the events page's is ``static/js/events.js`` (sign-up).
"""

from __future__ import annotations

from typing import Any

from renewmap.services.records.terms import (
    ATTENDEE_ROLES,
    CONVENTION_SCOPES,
    EVENT_KINDS,
    FUND_KINDS,
    FUND_SOURCES,
    MEETING_KINDS,
    PARTIES,
    PARTNER_KINDS,
    PERSON_ROLES,
    POINTS_KINDS,
    PROPOSAL_STATUSES,
    PROPOSER_KINDS,
)
from renewmap.web.render import render, script_catalog


def _labels(locale: str, table: dict[str, str]) -> dict[str, str]:
    from renewmap.i18n import gettext

    return {code: gettext(locale, msgid) for code, msgid in table.items()}


def proposals_page(
    data: dict[str, Any], *, locale: str, nonce: str, plan: dict[str, Any] | None = None
) -> str:
    """The public proposals as a list and, with the community's ``plan``, on its map (the
    module ``proposals.js`` draws those with a place; their words go in as text)."""
    from renewmap.i18n import gettext

    config = {
        "community": data["community"]["code"],
        "plan": plan,
        "proposals": [
            {
                "number": p["number"],
                "label": gettext(locale, "Proposal {number}").format(number=p["number"]),
                "title": p["title"],
                "status": p["status"],
                "status_label": p["status_label"],
                "geometry": p["geometry"],
            }
            for p in data["proposals"]
            if p["geometry"] is not None
        ],
    }
    vectorgrid = plan is not None and any("tiles" in x for x in plan["layers"].values())
    return render(
        "resident/proposals.html",
        locale=locale,
        nonce=nonce,
        data=data,
        config=config,
        vectorgrid=vectorgrid,
    )


def disclosure_page(data: dict[str, Any], *, locale: str, nonce: str) -> str:
    return render(
        "resident/disclosure.html", locale=locale, nonce=nonce, data=data, sources=FUND_SOURCES
    )


def conventions_page(data: dict[str, Any], *, locale: str, nonce: str) -> str:
    config = {
        "community": data["community"]["code"],
        "locale": locale,
        "t": script_catalog(locale, "conventions"),
    }
    return render("resident/conventions.html", locale=locale, nonce=nonce, data=data, config=config)


def events_page(data: dict[str, Any], *, locale: str, nonce: str, today: str) -> str:
    config = {
        "community": data["community"]["code"],
        "locale": locale,
        "t": script_catalog(locale, "events"),
    }
    return render(
        "resident/events.html", locale=locale, nonce=nonce, data=data, today=today, config=config
    )


def records_page(
    *,
    community: dict[str, str],
    communities: list[dict[str, str]],
    sites: list[dict[str, Any]],
    keeper: bool,
    locale: str,
    nonce: str,
    time_zone: str,
) -> str:
    config = {
        "community": community,
        "locale": locale,
        "keeper": keeper,
        "sites": [{"code": s["code"], "name": s["name"]} for s in sites],
        "t": script_catalog(locale, "records"),
        "labels": {
            "kinds": _labels(locale, MEETING_KINDS),
            "parties": _labels(locale, PARTIES),
            "roles": _labels(locale, ATTENDEE_ROLES),
            "statuses": _labels(locale, PROPOSAL_STATUSES),
            "proposers": _labels(locale, PROPOSER_KINDS),
            "fund_kinds": _labels(locale, FUND_KINDS),
            "sources": _labels(locale, FUND_SOURCES),
            "person_roles": _labels(locale, PERSON_ROLES),
            "partner_kinds": _labels(locale, PARTNER_KINDS),
            "convention_scopes": _labels(locale, CONVENTION_SCOPES),
            "event_kinds": _labels(locale, EVENT_KINDS),
            "points_kinds": _labels(locale, POINTS_KINDS),
        },
    }
    return render(
        "staff/records.html",
        locale=locale,
        nonce=nonce,
        time_zone=time_zone,
        community=community,
        communities=communities,
        config=config,
    )
