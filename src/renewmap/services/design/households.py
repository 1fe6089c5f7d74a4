"""征询单: the household consultation of a site.

Staff choose the site's catchment (its buildings and, for each, how many households, or,
where the stairwells (单元) are known, how many in each) and print one form per household:
the household's name (7号楼 第12户, 7号楼2单元 第3户), a one-time code and a QR code that
opens the site's page with the code filled in. The code is kept only as a keyed hash. The
first phone that enters it holds it: from there the household votes once for a draft and may
change its vote until the consultation closes; the same code on another phone is refused. A
household that voted counts as answered; staff see the turnout by building. A form that was
lost is reissued (the old code stops working); a household that has answered keeps its form
and its vote.

Where a site has forms, only households vote; where it has none, the phones' votes are
informal and said to be so (services.design.consultation).
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import shapely
from sqlalchemy.orm import Session

from renewmap import names
from renewmap.db.models import Building, Community, DesignDraft, HouseholdCode, Site
from renewmap.db.queries.places import buildings_of_community
from renewmap.db.queries.process import (
    find_stage,
    household_by_hash,
    households_of_site,
    public_drafts,
)
from renewmap.errors import Conflict, InvalidInput, NotFound
from renewmap.i18n import Msg
from renewmap.services.access.accounts import Principal
from renewmap.services.design import process
from renewmap.services.requests.suggestions import keyed_hash
from renewmap.spatial.crs import to_metric
from renewmap.spatial.geometry import from_db
from renewmap.vocabulary import metric_epsg

# No 0/O, 1/I/L: a code read off paper and typed on a phone is typed right.
ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 8  # 31^8 ≈ 8.5·10^11: guessing is hopeless at the rate limit
CATCHMENT_M = 300.0  # buildings proposed for the forms: within this distance of the site
MAX_HOUSEHOLDS = 2000  # of one building
MAX_STAIRWELLS = 50  # of one building
MAX_FORMS = 5000  # printed at once
CODE_SHAPE = re.compile(rf"^[{ALPHABET}]{{{CODE_LENGTH}}}$")


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def shown(code: str) -> str:
    """As printed: ABCD-EFGH."""
    return f"{code[:4]}-{code[4:]}"


def normalise(text: str) -> str:
    """A code as typed (spaces, dashes, lower case) as stored; a precise 422 otherwise."""
    code = re.sub(r"[\s\-_]", "", text or "").upper()
    if not CODE_SHAPE.match(code):
        raise InvalidInput(
            "a household code has {length} letters and digits, like 7K2M-9P4Q "
            "(printed on your household's form)",
            key="household_code_malformed",
            length=CODE_LENGTH,
            field="code",
        )
    return code


def code_hash(secret: str, code: str) -> str:
    return keyed_hash(secret, f"household:{code}")


def household_label(row: HouseholdCode) -> Msg:
    """How people name the household: 7号楼 第12户 (with its stairwell when known)."""
    building = names.building(row.building)
    if row.stairwell:
        return Msg(
            "{building}, stairwell {stairwell}, household {n}",
            building=building,
            stairwell=row.stairwell,
            n=row.household,
        )
    return Msg("{building} household {n}", building=building, n=row.household)


def _building_name(b: Building) -> str | None:
    """A building as people name it (its number, else its name or code)."""
    return b.number or b.name or b.code


def _consultation_open(site: Site) -> None:
    over = process.STAGES.index("consultation")
    if site.stage in process.STAGES and process.STAGES.index(site.stage) > over:
        raise Conflict(
            "the consultation of {site} is over: forms can no longer be issued",
            key="consultation_over_no_forms",
            site=site.name or site.code,
            field="stage",
        )


# --- staff: the catchment, the forms, the turnout ------------------------------------------------


def catchment(
    session: Session,
    *,
    principal: Principal,
    community_code: str,
    site_code: str,
    radius_m: float = CATCHMENT_M,
) -> dict[str, Any]:
    """The buildings within ``radius_m`` of the site (straight line), nearest first, with their
    households and the forms already issued and answered for each."""
    community, site = process.site_of(session, community_code=community_code, site_code=site_code)
    process.require_process_runner(session, principal, community)
    outline = from_db(site.geom)
    epsg = metric_epsg(community.metric_epsg, outline)
    site_m = to_metric(outline, epsg)
    issued = _by_building(session, site)
    rows = []
    for b in buildings_of_community(session, community_id=community.id):
        name = _building_name(b)
        if name is None:
            continue  # a building nobody can name cannot be printed on a form
        distance = float(shapely.distance(site_m, to_metric(from_db(b.geom), epsg)))
        counts = issued.get(name, {"issued": 0, "answered": 0})
        if distance > radius_m and not counts["issued"]:
            continue
        rows.append(
            {
                "building": name,
                "households": b.households,
                "distance_m": round(distance, 1),
                **counts,
            }
        )
    rows.sort(key=lambda r: (r["distance_m"], r["building"]))
    return {"site": site.code, "radius_m": radius_m, "buildings": rows}


def _by_building(session: Session, site: Site) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for row in households_of_site(session, site_id=site.id):
        counts = out.setdefault(row.building, {"issued": 0, "answered": 0})
        counts["issued"] += 1
        counts["answered"] += row.voted_at is not None
    return out


@dataclass(frozen=True)
class Form:
    """One household's form, in words, ready to print (``sheets.household_forms_pdf``)."""

    title: str
    household: str
    code: str  # as printed (ABCD-EFGH)
    url: str  # the QR code: the site's page with the code
    lines: tuple[str, ...]  # instructions
    choices: tuple[str, ...]  # the drafts (a box to tick on paper)
    footer: str


def issue(
    session: Session,
    *,
    principal: Principal,
    secret: str,
    base_url: str,
    community_code: str,
    site_code: str,
    buildings: list[dict[str, Any]],
    reissue: bool = False,
    locale: str = "zh_CN",
) -> tuple[list[Form], dict[str, Any]]:
    """New forms for the households of ``buildings`` (``[{"building": "7号楼", "households":
    120}]``; households default to the building's count; ``"stairwells": [12, 12, 10]`` gives
    the households of each stairwell instead, numbered within it) that have none yet, or, with
    ``reissue``, also for those whose form was not answered (their old code stops working).
    Returns the forms to print (their codes exist only there) and a summary."""
    community, site = process.site_of(session, community_code=community_code, site_code=site_code)
    process.require_process_runner(session, principal, community)
    _consultation_open(site)
    session.refresh(site, with_for_update=True)  # two staff printing at once: one at a time
    if not buildings:
        raise InvalidInput(
            "choose at least one building", key="forms_no_building", field="buildings"
        )
    named = {
        _building_name(b): b for b in buildings_of_community(session, community_id=community.id)
    }
    existing: dict[tuple[str, str | None, str], HouseholdCode] = {
        (r.building, r.stairwell, r.household): r
        for r in households_of_site(session, site_id=site.id)
    }
    wanted: list[tuple[Building, str | None, int]] = []
    for i, item in enumerate(buildings, start=1):
        name = str(item.get("building") or "").strip()
        b = named.get(name)
        if b is None:
            raise NotFound(
                "building “{building}” (item {n}) is not in {community}",
                key="forms_building_not_found",
                building=name,
                n=i,
                community=community.name,
                field="buildings",
            )
        stairwells = item.get("stairwells") or []
        if stairwells:
            if len(stairwells) > MAX_STAIRWELLS or not all(
                isinstance(k, int) and 1 <= k <= MAX_HOUSEHOLDS for k in stairwells
            ):
                raise InvalidInput(
                    "{building}: give the households of each stairwell (1 to {limit} each, at "
                    "most {most} stairwells)",
                    key="forms_stairwells",
                    building=names.building(name),
                    limit=MAX_HOUSEHOLDS,
                    most=MAX_STAIRWELLS,
                    field="buildings",
                )
            wanted.extend((b, str(s), k) for s, k in enumerate(stairwells, start=1))
            continue
        n = item.get("households") or b.households
        if not isinstance(n, int) or not 1 <= n <= MAX_HOUSEHOLDS:
            raise InvalidInput(
                "{building}: how many households? (1 to {limit}; it has no count on record)",
                key="forms_households_count",
                building=names.building(name),
                limit=MAX_HOUSEHOLDS,
                field="buildings",
            )
        wanted.append((b, None, n))
    now = datetime.now(UTC)
    fresh: list[tuple[HouseholdCode, str]] = []
    for b, stairwell, n in wanted:
        name = _building_name(b) or ""
        for k in range(1, n + 1):
            old = existing.get((name, stairwell, str(k)))
            if old is not None and (old.voted_at is not None or not reissue):
                continue  # has a form (answered ones are never replaced)
            if old is not None:
                old.revoked_at = now
            code = new_code()
            row = HouseholdCode(
                site_id=site.id,
                building_id=b.id,
                building=name,
                stairwell=stairwell,
                household=str(k),
                code_hash=code_hash(secret, code),
                issued_by=principal.actor,
            )
            session.add(row)
            fresh.append((row, code))
    if len(fresh) > MAX_FORMS:
        raise InvalidInput(
            "{n} forms at once is too many: print at most {limit} at a time",
            key="forms_too_many",
            n=len(fresh),
            limit=MAX_FORMS,
            field="buildings",
        )
    if not fresh:
        raise Conflict(
            "every household of these buildings already has a form (reissue replaces the "
            "ones not answered yet)",
            key="forms_all_issued",
            field="buildings",
        )
    session.flush()
    forms = [_form(session, community, site, row, code, base_url, locale) for row, code in fresh]
    return forms, {"issued": len(fresh), "reissued": reissue}


def _form(
    session: Session,
    community: Community,
    site: Site,
    row: HouseholdCode,
    code: str,
    base_url: str,
    locale: str,
) -> Form:
    url = f"{base_url.rstrip('/')}/c/{quote(community.code)}/sites/{quote(site.code)}#k={code}"
    stage = find_stage(session, site_id=site.id, stage="consultation")
    until = stage.ends_on.isoformat() if stage and stage.ends_on else None
    drafts = public_drafts(session, site_id=site.id)
    return Form(
        title=Msg("{site}: household consultation form", site=site.name).render(locale),
        household=household_label(row).render(locale),
        code=shown(code),
        url=url,
        lines=(
            Msg(
                "{community} asks every household which design of {site} it prefers.",
                community=community.name,
                site=site.name,
            ).render(locale),
            Msg("1. Scan the QR code with a phone (or open the address under it).").render(locale),
            Msg("2. Enter the code above if the page asks for it.").render(locale),
            Msg(
                "3. Choose one draft and confirm. One vote per household; you may change it "
                "until the consultation closes."
            ).render(locale),
            Msg("The consultation closes on {day}.", day=until).render(locale) if until else "",
            Msg(
                "No phone? Tick one draft below and hand the form to the residents' committee: "
                "staff enter it with your code."
            ).render(locale),
        ),
        choices=tuple(_choice(d, locale) for d in drafts),
        footer=Msg("Keep the code to yourself: the first phone that uses it holds it.").render(
            locale
        ),
    )


def _choice(draft: DesignDraft, locale: str) -> str:
    """A draft on the paper form: its number and name (and the start of its description)."""
    if draft.description:
        return Msg(
            "Draft {n}: {name} — {description}",
            n=draft.number,
            name=draft.name,
            description=draft.description[:120],
        ).render(locale)
    return Msg("Draft {n}: {name}", n=draft.number, name=draft.name).render(locale)


def turnout(
    session: Session, *, principal: Principal, community_code: str, site_code: str
) -> dict[str, Any]:
    """Forms issued and answered, by building and in all (staff; results stay closed)."""
    community, site = process.site_of(session, community_code=community_code, site_code=site_code)
    process.require_process_runner(session, principal, community)
    counts = _by_building(session, site)
    rows = [
        {"building": name, **c, "share": round(c["answered"] / c["issued"], 4)}
        for name, c in sorted(counts.items())
    ]
    issued = sum(c["issued"] for c in counts.values())
    answered = sum(c["answered"] for c in counts.values())
    return {
        "site": site.code,
        "issued": issued,
        "answered": answered,
        "share": round(answered / issued, 4) if issued else None,
        "buildings": rows,
    }


# --- residents: the code on a phone ------------------------------------------------------------


def has_forms(session: Session, *, site: Site) -> bool:
    return bool(households_of_site(session, site_id=site.id))


def claim(
    session: Session, *, secret: str, site: Site, code: str, device_hash: str
) -> HouseholdCode:
    """The household whose form carries ``code`` at this site, held by this phone from now on.
    404 for a code that is not one of the site's (the caller counts those: guessing is rate
    limited); 409 for a code another phone holds."""
    row = household_by_hash(session, code_hash=code_hash(secret, normalise(code)))
    if row is None or row.site_id != site.id or row.revoked_at is not None:
        raise NotFound(
            "no household form of {site} has this code; check the code on your form (a "
            "reissued form's old code no longer works)",
            key="household_code_unknown",
            site=site.name or site.code,
            field="code",
        )
    session.refresh(row, with_for_update=True)
    if row.device_hash is not None and row.device_hash != device_hash:
        raise Conflict(
            "this household's code has already been used on another phone; it works on one "
            "phone only. If that was not your household, ask the residents' committee for a "
            "new form",
            key="household_code_taken",
            field="code",
        )
    if row.device_hash is None:
        row.device_hash = device_hash
        session.flush()
    return row


def household_view(session: Session, row: HouseholdCode, locale: str) -> dict[str, Any]:
    """What a phone that holds a household's code is told: which household, and its vote."""
    voted = None
    if row.draft_id is not None:
        draft = session.get(DesignDraft, row.draft_id)
        voted = draft.number if draft else None
    return {"household": household_label(row).render(locale), "my_vote": voted}
