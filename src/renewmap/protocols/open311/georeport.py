"""Open311 GeoReport v2 (http://wiki.open311.org/GeoReport_v2): the use cases behind
``/open311/v2/``.

Third-party apps post service requests on a resident's behalf with a key their community's
admin issued; a posted request is routed, stored and announced exactly like a resident's
suggestion (it lands in the owning grid lead's workspace). Anyone may read requests, but only
what the residents' map shows: never the phone, e-mail or names, never hidden requests.

A jurisdiction is a community, named by its code (``jurisdiction_id``); omitted, every
community. Services are the request categories; some have extra fields (attributes) that a
client must answer. Everything returns plain dicts in the standard's field names; the API layer
renders them as JSON or XML.
"""

from __future__ import annotations

import hashlib
import math
import re
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from renewmap.db.models import ApiKey, Community
from renewmap.db.queries import open311 as q
from renewmap.db.queries.places import PUBLISHED, community_by_code, find_community
from renewmap.errors import Conflict, Forbidden, InvalidInput, NotFound, RateLimited
from renewmap.i18n import Msg, gettext
from renewmap.services.access import accounts
from renewmap.services.places.routing import Owner, route_geometry
from renewmap.services.requests import questions
from renewmap.services.requests.intake import MAX_DESCRIPTION, MAX_TITLE
from renewmap.services.requests.suggestions import create_suggestion
from renewmap.spatial.geometry import parse_geojson
from renewmap.spatial.routing import DEFAULT_SNAP_M
from renewmap.vocabulary import (
    BUILDING_QUESTION,
    CATEGORIES,
    CATEGORY_LABELS,
    CATEGORY_QUESTIONS,
    CLOSED_STATUSES,
    MAX_ID,
    OPEN_STATUSES,
    EventKind,
    Status,
    is_open,
)

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
# When the services or their definitions last changed (the discovery document's changeset):
# bump it with SERVICES or ATTRIBUTES so that clients refresh what they cache.
CHANGESET = "2026-12-01T00:00:00+00:00"
FORMATS = ("text/xml", "application/json")
DEFAULT_WINDOW = timedelta(days=90)
MAX_REQUESTS = 1000
# Public history entries whose note explains the current status (status_notes).
NOTE_KINDS = (
    EventKind.REPLY,
    EventKind.RESOLVE,
    EventKind.REJECT,
    EventKind.REOPEN,
    EventKind.PROPERTY_DONE,
    EventKind.DELIBERATION,
)
KEY_PREFIX = "rm311_"
MAX_CLIENT = 100
MAX_MEDIA_URL = 500
MAX_EMAIL = 200
MAX_NAME = 100
TITLE_CHARS = 60  # a title derived from the description: its first line, this long at most
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_SPACED_OFFSET = re.compile(r"T[\d:.]+ \d{2}:\d{2}$")


# Group (msgid) and description (msgid) of each service; names are the categories' labels.
SERVICES: dict[str, tuple[str, str]] = {
    "greenery": ("Environment", "Planting beds, lawns, trees and flower beds of the compound"),
    "paths": ("Public space", "Paths, steps and paving"),
    "lighting": ("Facilities and utilities", "Lamps that are out, places that are too dark"),
    "ebike_parking": ("Facilities and utilities", "E-bike sheds, parking and charging points"),
    "fitness_play": ("Public space", "Fitness equipment and play areas"),
    "pets": ("Environment", "Pet waste, noise and stray animals"),
    "sanitation": ("Environment", "Rubbish, cleaning and waste sorting"),
    "safety_fire": ("Safety", "Fire safety and other hazards"),
    "pipes_drainage": ("Facilities and utilities", "Water pipes, drains and rainwater"),
    "overhead_wires": ("Facilities and utilities", "Overhead spider-web wires and cables"),
    "accessibility": ("Public space", "Ramps, handrails and barrier-free access"),
    "stairwell": (
        "Facilities and utilities",
        "Stairwells and stairs: their lights, doors and walls",
    ),
    "lifts": ("Facilities and utilities", "Adding a lift to an old building, lifts out of order"),
    "car_parking": ("Public space", "Car parking spaces, and cars parked where they block"),
    "water": ("Environment", "Ponds and lakes and their shores, such as the Swan Lake"),
    "other": ("Other", "Anything else about the shared space"),
}

# A service's attributes are its category's questions, asked the same way of residents on the
# residents' page (vocabulary.CATEGORY_QUESTIONS).
ATTRIBUTES = CATEGORY_QUESTIONS
_BUILDING_ATTR = BUILDING_QUESTION


# The other user-facing texts (msgids).
NOTICE = "Will be handled by {who}"  # zh_CN as the routing message: 将由 … 处理
DUPLICATE = "Duplicate of request {id}"
CONTACT = "Ask your community's residents' committee for help with this API"
KEY_SERVICE = "API keys are issued per client by a community admin (renewmap apikey add)"
MESSAGES = (NOTICE, DUPLICATE, CONTACT, KEY_SERVICE)


def msgids() -> set[str]:
    """Every msgid this module shows (service groups, descriptions, attributes, messages)."""
    found = set(MESSAGES)
    for group, description in SERVICES.values():
        found |= {group, description}
    for attributes in ATTRIBUTES.values():
        for a in attributes:
            found |= {a.description} | {v.name for v in a.values}
            if a.hint:
                found.add(a.hint)
    return found


def service_name(locale: str, code: str) -> str:
    label = CATEGORY_LABELS.get(code)
    return gettext(locale, label[0]) if label else code


def iso(dt: datetime | None) -> str | None:
    """W3C date-time with its offset (the standard requires one): UTC, whole seconds."""
    if dt is None:
        return None
    aware = dt if dt.tzinfo else dt.replace(tzinfo=UTC)  # SQLite hands back naive UTC
    return aware.astimezone(UTC).replace(microsecond=0).isoformat()


def open_or_closed(status: str) -> str:
    return "open" if is_open(status) else "closed"


# --- jurisdictions and keys ----------------------------------------------------------------


def jurisdiction(session: Session, jurisdiction_id: str | None) -> Community | None:
    """The community named by ``jurisdiction_id``; None when omitted (every community)."""
    if jurisdiction_id is None or not jurisdiction_id.strip():
        return None
    community = find_community(session, code=jurisdiction_id.strip())
    if community is None or community.state != PUBLISHED:  # one in setup is nobody's yet
        raise NotFound(
            "jurisdiction_id '{jurisdiction_id}' not found: use a community code such as "
            "310109010026",
            key="open311_jurisdiction_unknown",
            jurisdiction_id=jurisdiction_id,
            field="jurisdiction_id",
        )
    return community


@dataclass(frozen=True)
class IssuedKey:
    key: str  # shown once
    id: int
    client: str
    community: str


def issue_key(session: Session, *, community_code: str, client: str, actor: str) -> IssuedKey:
    """A new key for one client of one community; the key is returned once, only its hash is
    kept. One active key per client: revoke the old one first."""
    community = community_by_code(session, code=community_code)
    client = (client or "").strip()
    if not client or len(client) > MAX_CLIENT:
        raise InvalidInput(
            "client name: 1–{limit} characters",
            key="apikey_client_name",
            limit=MAX_CLIENT,
            field="name",
        )
    if q.active_key_of_client(session, community_id=community.id, client=client) is not None:
        raise Conflict(
            "client '{client}' already has an active key in {community}; revoke it first",
            key="apikey_exists",
            client=client,
            community=community_code,
            field="name",
        )
    key = KEY_PREFIX + secrets.token_urlsafe(24)
    row = ApiKey(
        community_id=community.id,
        client=client,
        key_hash=accounts.token_hash(key),
        created_by=actor,
    )
    session.add(row)
    session.flush()
    return IssuedKey(key, row.id, client, community.code)


def list_keys(session: Session, *, community_code: str | None = None) -> list[dict[str, Any]]:
    """Keys (never their secrets) with client, community and state."""
    community_id = None
    if community_code:
        community_id = community_by_code(session, code=community_code).id
    return [
        {
            "id": k.id,
            "community": code,
            "client": k.client,
            "created_at": iso(k.created_at),
            "created_by": k.created_by,
            "revoked_at": iso(k.revoked_at),
        }
        for k, code in q.api_keys(session, community_id=community_id)
    ]


def revoke_key(session: Session, *, community_code: str, client: str) -> int:
    """Revoke a client's active key (its next request is a 403); returns the key's id."""
    community = community_by_code(session, code=community_code)
    key = q.active_key_of_client(session, community_id=community.id, client=client)
    if key is None:
        raise NotFound(
            "client '{client}' has no active key in {community}",
            key="apikey_not_found",
            client=client,
            community=community_code,
            field="name",
        )
    key.revoked_at = datetime.now(UTC)
    session.flush()
    return key.id


def authenticate_key(session: Session, *, api_key: str | None) -> ApiKey:
    """The active key, or Forbidden (GeoReport answers 403 for a missing or invalid key)."""
    if not api_key or not api_key.strip():
        raise Forbidden(
            "api_key was not provided; ask your community admin for one", key="apikey_missing"
        )
    key = q.api_key_by_hash(session, key_hash=accounts.token_hash(api_key.strip()))
    if key is None:
        raise Forbidden("api_key is invalid", key="apikey_invalid")
    if key.revoked_at is not None:
        raise Forbidden(
            "api_key has been revoked; ask your community admin for a new one",
            key="apikey_revoked",
        )
    return key


# --- discovery and services ------------------------------------------------------------------


def discovery(*, base_url: str, locale: str) -> dict[str, Any]:
    """The Service Discovery document: where the endpoint is and how to get a key."""
    return {
        "changeset": CHANGESET,
        "contact": gettext(locale, CONTACT),
        "key_service": gettext(locale, KEY_SERVICE),
        "endpoints": [
            {
                "specification": SPECIFICATION,
                "url": base_url,
                "changeset": CHANGESET,
                "type": "production",
                "formats": list(FORMATS),
            }
        ],
    }


def services(session: Session, *, jurisdiction_id: str | None, locale: str) -> list[dict]:
    """Every service (category), named in ``locale``; ``metadata`` when it has attributes."""
    jurisdiction(session, jurisdiction_id)
    out = []
    for code in CATEGORIES:
        group, description = SERVICES[code]
        out.append(
            {
                "service_code": code,
                "service_name": service_name(locale, code),
                "description": gettext(locale, description),
                "metadata": code in ATTRIBUTES,
                "type": "realtime",
                "group": gettext(locale, group),
            }
        )
    return out


def _service(code: str | None) -> str:
    code = (code or "").strip()
    if code not in CATEGORIES:
        raise NotFound(
            "service_code '{code}' not found; use one of {codes}",
            key="open311_service_unknown",
            code=code,
            codes=CATEGORIES,
            field="service_code",
        )
    return code


def service_definition(
    session: Session, *, service_code: str, jurisdiction_id: str | None, locale: str
) -> dict[str, Any]:
    """A service's attributes (an empty list when it has none)."""
    jurisdiction(session, jurisdiction_id)
    code = _service(service_code)
    return {
        "service_code": code,
        "attributes": [
            {
                "variable": True,
                "code": a.code,
                "datatype": a.datatype,
                "required": a.required,
                "datatype_description": gettext(locale, a.hint) if a.hint else None,
                "order": i,
                "description": gettext(locale, a.description),
                "values": [{"key": v.key, "name": gettext(locale, v.name)} for v in a.values],
            }
            for i, a in enumerate(ATTRIBUTES.get(code, ()), start=1)
        ],
    }


# --- posting a request -----------------------------------------------------------------------


@dataclass(frozen=True)
class NewRequest:
    """The POST's fields as sent (strings); ``attributes``: code → values."""

    service_code: str | None = None
    lat: str | None = None
    long: str | None = None
    address_string: str | None = None
    description: str | None = None
    media_url: str | None = None
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None
    attributes: Mapping[str, Sequence[str]] | None = None


def _coordinate(text: str | None, name: str, limit: float) -> float:
    try:
        value = float((text or "").strip())
    except ValueError:
        raise InvalidInput(
            "{field} must be a number (WGS84 degrees)", key="open311_coordinate_nan", field=name
        ) from None
    if not math.isfinite(value) or abs(value) > limit:
        raise InvalidInput(
            "{field} must be between -{limit:g} and {limit:g}",
            key="open311_coordinate_range",
            limit=limit,
            field=name,
        )
    return value


def _location(new: NewRequest) -> Any:
    if not (new.lat or "").strip() or not (new.long or "").strip():
        if new.address_string:
            raise InvalidInput(
                "lat and long are required (address_string cannot be located here)",
                key="open311_location_address_only",
                field="lat",
            )
        raise InvalidInput("lat and long are required", key="open311_location_missing", field="lat")
    lat = _coordinate(new.lat, "lat", 90)
    lon = _coordinate(new.long, "long", 180)
    return parse_geojson({"type": "Point", "coordinates": [lon, lat]}, where="lat/long")


# The answers to a service's attributes are checked as the residents' page's are.
check_attributes = questions.check_answers
_check_building = questions.check_building


def _optional(text: str | None, name: str, limit: int) -> str | None:
    text = (text or "").strip()
    if len(text) > limit:
        raise InvalidInput(
            "{field} is longer than {limit} characters",
            key="open311_text_too_long",
            limit=limit,
            field=name,
        )
    return text or None


def _contact(new: NewRequest) -> tuple[str | None, str | None, str | None]:
    """media_url, e-mail and name, checked (the phone is checked with the suggestion)."""
    media_url = _optional(new.media_url, "media_url", MAX_MEDIA_URL)
    if media_url and not media_url.startswith(("http://", "https://")):
        raise InvalidInput(
            "media_url must be an http(s) URL", key="open311_media_url", field="media_url"
        )
    email = _optional(new.email, "email", MAX_EMAIL)
    if email and not _EMAIL.match(email):
        raise InvalidInput("email is not an e-mail address", key="open311_email", field="email")
    name = " ".join(
        n for n in (_optional(new.first_name, "first_name", MAX_NAME), new.last_name) if n
    ).strip()
    if len(name) > MAX_NAME:
        raise InvalidInput(
            "first_name and last_name: {limit} characters at most",
            key="open311_name_too_long",
            limit=MAX_NAME,
            field="last_name",
        )
    return media_url, email, name or None


def _title(description: str | None, service_code: str, locale: str) -> str:
    """The first line of the description, shortened; else the service's name."""
    first = next((line.strip() for line in (description or "").splitlines() if line.strip()), "")
    if not first:
        return service_name(locale, service_code)
    limit = min(TITLE_CHARS, MAX_TITLE)
    return first if len(first) <= limit else first[: limit - 1].rstrip() + "…"


def agency(grid_name: str | None, branch_name: str | None, community_name: str | None) -> str:
    """Who handles it: the grid and its party branch (or the community and its general
    branch for a place in no grid)."""
    return " · ".join(n for n in ((grid_name or community_name), branch_name) if n)


def _owner_agency(owner: Owner) -> str:
    place = owner.grid or owner.community
    branch = owner.branch if owner.grid else owner.general_branch
    return agency(place.name if place else None, branch.name if branch else None, None)


def create(
    session: Session,
    *,
    api_key: str | None,
    jurisdiction_id: str | None,
    new: NewRequest,
    secret: str,
    locale: str,
    rate_limit: Callable[[str], None],
    snap_m: float = DEFAULT_SNAP_M,
    base_url: str | None = None,
) -> dict[str, Any]:
    """Check everything (key, rate, service, location, attributes, contact), then store the
    request as a resident's suggestion from this client: routed, announced to its owner.

    ``rate_limit(client)`` raises RateLimited when the key has posted too much. It is counted
    before the key is looked up, by the key's hash, so a wrong key counts like a right one."""
    try:
        if api_key:  # a missing key is refused just below; a wrong one counts like a right one
            rate_limit("key:" + hashlib.sha256(api_key.encode()).hexdigest()[:24])
    except RateLimited as exc:
        retry = exc.details.get("retry_after", 60)
        raise RateLimited(
            "too many service requests with this api_key; try again in {retry_after} s",
            key="open311_rate_limited",
            retry_after=retry,
        ) from None
    key = authenticate_key(session, api_key=api_key)
    community = jurisdiction(session, jurisdiction_id)
    if community is not None and community.id != key.community_id:
        raise Forbidden(
            "this api_key is not valid for jurisdiction_id '{jurisdiction_id}'",
            key="apikey_wrong_jurisdiction",
            jurisdiction_id=community.code,
        )
    code = (new.service_code or "").strip()
    if not code:
        raise InvalidInput(
            "service_code was not provided", key="open311_service_missing", field="service_code"
        )
    if code not in CATEGORIES:
        raise InvalidInput(
            "service_code '{code}' not found; use one of {codes}",
            key="open311_service_invalid",
            code=code,
            codes=CATEGORIES,
            field="service_code",
        )
    geom = _location(new)
    answers = check_attributes(code, new.attributes or {})
    description = (new.description or "").strip() or None
    if description and len(description) > MAX_DESCRIPTION:
        raise InvalidInput(
            "description is longer than {limit} characters",
            key="description_too_long",
            limit=MAX_DESCRIPTION,
            field="description",
        )
    media_url, email, name = _contact(new)
    owner = route_geometry(session, geom, snap_m=snap_m)
    if owner.community_id != key.community_id:
        raise Forbidden(
            "this api_key posts to its own community only; the location lies in {where}",
            key="apikey_other_community",
            where=owner.community.code if owner.community else Msg("no community"),
        )
    _check_building(session, answers, key.community_id)
    created = create_suggestion(
        session,
        secret=secret,
        geom=geom,
        category=code,
        title=_title(description, code, locale),
        description=description,
        phone=new.phone,
        snap_m=snap_m,
        base_url=base_url,
        source="open311",
        actor=f"Open311: {key.client}",
    )
    request = created.request
    request.api_key_id = key.id
    request.attributes = answers or None
    request.media_url = media_url
    request.contact_email = email
    request.contact_name = name
    for event in request.events:
        if event.kind == EventKind.CREATED:  # the history names the client app that posted it
            event.data = {"open311_client": key.client, "api_key_id": key.id}
    session.flush()
    who = _owner_agency(created.owner)
    return {
        "service_request_id": str(request.id),
        "service_notice": gettext(locale, NOTICE, who=who),
        "token": request.receipt_code,
    }


# --- reading requests ------------------------------------------------------------------------


def _date(text: str | None, name: str) -> datetime | None:
    text = (text or "").strip()
    if not text:
        return None
    if _SPACED_OFFSET.search(text):  # an unencoded "+" in a query string arrives as a space
        text = text[:-6] + "+" + text[-5:]
    try:
        value = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        raise InvalidInput(
            "{field} must be a W3C date-time such as 2026-11-01T00:00:00+08:00",
            key="open311_date_invalid",
            field=name,
        ) from None
    if value.tzinfo is None:
        raise InvalidInput(
            "{field} needs a timezone (Z or ±HH:MM)", key="open311_date_no_timezone", field=name
        )
    return value.astimezone(UTC)


def _window(
    start_date: str | None, end_date: str | None, now: datetime
) -> tuple[datetime, datetime]:
    """The standard's window: the last 90 days by default, never more than 90 days."""
    start, end = _date(start_date, "start_date"), _date(end_date, "end_date")
    if start is None and end is None:
        return now - DEFAULT_WINDOW, now
    if start is None:
        assert end is not None
        return end - DEFAULT_WINDOW, end
    if end is None:
        return start, start + DEFAULT_WINDOW
    if end < start:
        raise InvalidInput(
            "end_date is before start_date", key="open311_dates_reversed", field="end_date"
        )
    if end - start > DEFAULT_WINDOW:
        raise InvalidInput(
            "start_date to end_date may not span more than 90 days",
            key="open311_window_too_long",
            field="end_date",
        )
    return start, end


def _listed(text: str | None, name: str, allowed: Sequence[str]) -> list[str]:
    items = [t.strip() for t in (text or "").split(",") if t.strip()]
    bad = [t for t in items if t not in allowed]
    if bad:
        raise InvalidInput(
            "{field} '{value}' is not one of {allowed}",
            key="open311_value_not_allowed",
            value=bad[0],
            allowed=tuple(allowed),
            field=name,
        )
    return items


def _ids(text: str) -> list[int]:
    ids = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        if not (part.isascii() and part.isdigit()):
            raise InvalidInput(
                "service_request_id '{value}' is not a request id (comma-separated numbers)",
                key="open311_request_id_invalid",
                value=part,
                field="service_request_id",
            )
        if int(part) <= MAX_ID:
            ids.append(int(part))
    if len(ids) > MAX_REQUESTS:
        raise InvalidInput(
            "at most {limit} service_request_id",
            key="open311_too_many_ids",
            limit=MAX_REQUESTS,
            field="service_request_id",
        )
    return ids


def _views(session: Session, rows: Sequence[Any], locale: str) -> list[dict[str, Any]]:
    notes = q.latest_public_notes(session, request_ids=[r.id for r in rows], kinds=NOTE_KINDS)
    out = []
    for r in rows:
        who = agency(r.grid_name, r.branch_name, r.community_name)
        status_notes = notes.get(r.id)
        if r.status == Status.DUPLICATE and r.duplicate_of_id:
            status_notes = gettext(locale, DUPLICATE, id=r.duplicate_of_id)
        out.append(
            {
                "service_request_id": str(r.id),
                "status": open_or_closed(r.status),
                "status_notes": status_notes,
                "service_name": service_name(locale, r.category),
                "service_code": r.category,
                "description": r.description,
                "agency_responsible": who or None,
                "service_notice": gettext(locale, NOTICE, who=who) if who else None,
                "requested_datetime": iso(r.created_at),
                "updated_datetime": iso(r.updated_at or r.created_at),
                "expected_datetime": None,
                "address": ", ".join(n for n in (r.grid_name, r.community_name) if n) or None,
                "address_id": None,
                "zipcode": None,
                "lat": round(float(r.y), 7),
                "long": round(float(r.x), 7),
                "media_url": r.media_url,
            }
        )
    return out


def list_requests(
    session: Session,
    *,
    jurisdiction_id: str | None,
    service_request_id: str | None = None,
    service_code: str | None = None,
    start_date: str | None = None,
    end_date: str | None = None,
    status: str | None = None,
    locale: str,
    now: datetime | None = None,
) -> list[dict[str, Any]]:
    """Visible requests, newest first, at most 1000: by ids (which override every other
    filter), or by service, status and a window of at most 90 days (the last 90 by default)."""
    community = jurisdiction(session, jurisdiction_id)
    community_id = community.id if community else None
    if service_request_id and service_request_id.strip():
        rows = q.public_requests(
            session,
            ids=_ids(service_request_id),
            community_id=community_id,
            limit=MAX_REQUESTS,
        )
        return _views(session, rows, locale)
    categories = _listed(service_code, "service_code", CATEGORIES)
    wanted = _listed(status, "status", ("open", "closed"))
    statuses = [s for w in set(wanted) for s in (OPEN_STATUSES if w == "open" else CLOSED_STATUSES)]
    start, end = _window(start_date, end_date, now or datetime.now(UTC))
    rows = q.public_requests(
        session,
        community_id=community_id,
        categories=categories,
        statuses=sorted(statuses),
        start=start,
        end=end,
        limit=MAX_REQUESTS,
    )
    return _views(session, rows, locale)


def get_request(
    session: Session, *, service_request_id: str, jurisdiction_id: str | None, locale: str
) -> list[dict[str, Any]]:
    """One visible request, as a one-element list (the standard's shape)."""
    community = jurisdiction(session, jurisdiction_id)
    text = (service_request_id or "").strip()
    rows: Sequence[Any] = []
    if text.isascii() and text.isdigit() and int(text) <= MAX_ID:
        rows = q.public_requests(
            session,
            ids=[int(text)],
            community_id=community.id if community else None,
            limit=1,
        )
    if not rows:
        raise NotFound(
            "service_request_id '{value}' not found",
            key="open311_request_not_found",
            value=text,
            field="service_request_id",
        )
    return _views(session, rows, locale)


def resolve_token(
    session: Session, *, token: str, jurisdiction_id: str | None
) -> list[dict[str, Any]]:
    """The request id behind a token (the receipt code a POST returned)."""
    community = jurisdiction(session, jurisdiction_id)
    text = (token or "").strip().upper()
    row = q.visible_request_by_receipt(session, code=text) if text else None
    if row is None or (community is not None and row.community_id != community.id):
        raise NotFound(
            "token '{token}' not found", key="open311_token_not_found", token=token, field="token"
        )
    return [{"service_request_id": str(row.id), "token": text}]
