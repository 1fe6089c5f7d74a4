"""Residents' suggestions: post (routed, with photos), find nearby, browse, support, comment,
and follow by receipt code with a private token.

Personal data (phone, hidden nicknames) never leaves this module in a public view.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, timedelta
from typing import Any

from shapely.geometry.base import BaseGeometry
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from renewmap import blobs, names
from renewmap.db.guards import exclusive
from renewmap.db.models import (
    Community,
    Organisation,
    Request,
    RequestComment,
    RequestEvent,
    RequestPhoto,
    RequestSupport,
    Site,
)
from renewmap.db.queries.places import (
    community_by_code,
    community_is_public,
    find_grid,
    grids_by_ids,
    public_community_by_code,
    sites_coded,
)
from renewmap.db.queries.requests import (
    PUBLIC_SORTS,
    comment_counts,
    photos_by_request,
    photos_of,
    public_request_cells,
    public_request_points,
    public_requests,
    receipt_code_taken,
    request_by_receipt,
    request_photo,
    requests_by_ids,
    support_exists,
    supported_by,
    visible_comments,
    visible_request_points_near,
)
from renewmap.errors import Conflict, Forbidden, InvalidInput, NotFound
from renewmap.services.design import drafts, process
from renewmap.services.places.routing import Owner, route_geometry
from renewmap.services.requests import notify, progress, questions
from renewmap.services.requests.expectation import Expectation, expected_acceptance
from renewmap.services.requests.intake import create_request
from renewmap.services.requests.photos import MAX_PHOTOS, process_photos
from renewmap.spatial.crs import metres_to_degrees, to_metric, utm_epsg
from renewmap.spatial.geometry import check_geometry, check_routable, from_db, to_geojson
from renewmap.spatial.routing import DEFAULT_SNAP_M, Rule
from renewmap.vocabulary import CATEGORIES, OPEN_STATUSES, EventKind, Status

RECEIPT_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # no 0/O, 1/I/L: read aloud on the phone
MAX_NICKNAME = 40
MAX_COMMENT = 1000
NEARBY_RADIUS_M = 50.0
_PHONE = re.compile(r"^\+?[0-9][0-9 \-]{4,19}$")


def keyed_hash(secret: str, value: str) -> str:
    return hmac.new(secret.encode(), value.encode(), hashlib.sha256).hexdigest()


def _new_receipt_code(session: Session) -> str:
    for _ in range(20):
        code = "RM" + "".join(secrets.choice(RECEIPT_ALPHABET) for _ in range(6))
        if not receipt_code_taken(session, code=code):
            return code
    raise Conflict("could not allocate a receipt code; try again", key="receipt_code_busy")


def _clean_nickname(nickname: str | None) -> str | None:
    nickname = (nickname or "").strip()
    if len(nickname) > MAX_NICKNAME:
        raise InvalidInput(
            "nickname is longer than {limit} characters",
            key="nickname_too_long",
            limit=MAX_NICKNAME,
            field="nickname",
        )
    return nickname or None


def _clean_phone(phone: str | None) -> str | None:
    phone = (phone or "").strip()
    if phone and not _PHONE.match(phone):
        raise InvalidInput(
            "phone must be 5–20 digits (spaces, dashes and a leading + allowed)",
            key="phone_invalid_format",
            field="phone",
        )
    return phone or None


@dataclass
class Created:
    request: Request
    owner: Owner
    token: str
    channels: list[str]  # how the resident will be told of progress
    expected: Expectation  # how long acceptance may take


def create_suggestion(
    session: Session,
    *,
    secret: str,
    geom: BaseGeometry,
    category: str,
    title: str,
    description: str | None = None,
    photos: Sequence[tuple[str, bytes]] = (),
    nickname: str | None = None,
    show_nickname: bool = False,
    phone: str | None = None,
    snap_m: float = DEFAULT_SNAP_M,
    base_url: str | None = None,
    site_code: str | None = None,
    source: str = "resident",
    actor: str | None = None,
    email: str | None = None,
    notify_me: bool = False,
    offered: tuple[str, ...] = (),
    locale: str = "zh_CN",
    overdue_days: int = 3,
    answers: Mapping[str, Sequence[str]] | None = None,
) -> Created:
    """Validate everything first (photos included), then route and store in one go; the
    owner's notifications go into the outbox in the same transaction. With ``site_code`` the
    suggestion is for that site's survey (it must be open and the pin at the site).
    ``source``/``actor``: how it came in (an Open311 client posts on a resident's behalf).
    ``notify_me``: the resident consents to be told of progress by SMS (``phone``) or e-mail
    (``email``) among the ``offered`` channels, in ``locale``, with links from ``base_url``.
    ``answers``: to the category's questions (code → values), checked (the required ones
    too) and stored with the request; None: the questions were not asked."""
    site = survey_site(session, site_code=site_code, geom=geom) if site_code else None
    if len(photos) > MAX_PHOTOS:
        raise InvalidInput(
            "at most {limit} photos, got {n}",
            key="too_many_photos",
            limit=MAX_PHOTOS,
            n=len(photos),
            field="photos",
        )
    nickname = _clean_nickname(nickname)
    phone = _clean_phone(phone)
    email = progress.clean_email(email)
    channels = progress.check_consent(agreed=notify_me, phone=phone, email=email, offered=offered)
    # None: the form asked nothing
    checked = (
        questions.check_answers(category, answers)
        if answers is not None and category in CATEGORIES
        else {}
    )
    processed = process_photos(photos)
    check_geometry(geom, where="geometry")
    check_routable(geom, where="geometry")
    owner = route_geometry(session, geom, snap_m=snap_m)
    if checked and owner.community_id is not None:  # the building must be one of its own
        questions.check_building(session, checked, owner.community_id)
    request, owner = create_request(
        session,
        geom=geom,
        category=category,
        title=title,
        description=description,
        source=source,
        snap_m=snap_m,
        actor=actor,
        owner=owner,
    )
    request.attributes = checked or None
    request.receipt_code = _new_receipt_code(session)
    token = progress.follow_token(secret, request.receipt_code)
    request.follow_token_hash = keyed_hash(secret, token)
    request.nickname = nickname
    request.show_nickname = bool(show_nickname and nickname)
    request.phone = phone
    request.site_id = site.id if site is not None else None
    progress.record_consent(
        request, channels=channels, email=email, locale=locale, base=base_url or ""
    )
    for i, p in enumerate(processed):
        session.add(
            RequestPhoto(
                request_id=request.id,
                position=i,
                **p.store(session),
            )
        )
    session.flush()
    notify.enqueue(session, request=request, reason="new", base_url=base_url)
    expected = expected_acceptance(
        session,
        community_id=request.community_id or 0,
        grid_id=request.grid_id,
        overdue_days=overdue_days,
    )
    return Created(request, owner, token, channels, expected)


def preview(
    session: Session,
    *,
    community_code: str,
    geom: BaseGeometry,
    snap_m: float = DEFAULT_SNAP_M,
    overdue_days: int = 3,
) -> dict[str, Any]:
    """Before posting: who will handle a suggestion placed at ``geom`` (the very routing a
    post gets), how long it can expect to wait for acceptance, and whether the place lies
    outside the community whose page the resident is on (``outside``: beyond its boundary but
    within the snap distance; ``elsewhere``: in another community). Farther than the snap
    distance from every community is NotRoutable (422), as a post would be."""
    check_geometry(geom, where="geometry")
    check_routable(geom, where="geometry")
    community = public_community_by_code(session, code=community_code)
    owner = route_geometry(session, geom, snap_m=snap_m)
    expected = expected_acceptance(
        session,
        community_id=owner.community_id or community.id,
        grid_id=owner.grid_id,
        overdue_days=overdue_days,
    )
    return {
        "owner": owner,
        "message": owner.message(),
        "outside": owner.rule == Rule.SNAPPED.value,
        "elsewhere": owner.community_id != community.id,
        "expected": expected.as_dict(),
    }


SITE_TOLERANCE_M = 20.0


def survey_site(session: Session, *, site_code: str, geom: BaseGeometry) -> Site:
    """The site with this code at the pin, if its survey is open (409 otherwise)."""
    near = metres_to_degrees(SITE_TOLERANCE_M, geom.centroid.y)
    candidates = sites_coded(session, code=site_code)
    site = next((s for s in candidates if from_db(s.geom).dwithin(geom, near)), None)
    if site is None:
        raise InvalidInput(
            "the pin is not at site '{site}' (more than {limit:.0f} m away)",
            key="pin_not_at_site",
            site=site_code,
            limit=SITE_TOLERANCE_M,
            field="site",
        )
    process.require_action(site, "suggest")
    return site


def _visible(session: Session, request_id: int) -> Request:
    request = session.get(Request, request_id)
    if (
        request is None
        or request.hidden
        or not community_is_public(session, community_id=request.community_id)
    ):
        raise NotFound(
            "suggestion {id} not found", key="suggestion_not_found", id=request_id, field="id"
        )
    return request


def _views(session: Session, requests: Sequence[Request]) -> list[dict[str, Any]]:
    """Public views of many suggestions with a fixed number of queries (no N+1)."""
    ids = [r.id for r in requests]
    photos = photos_by_request(session, request_ids=ids)
    grids = grids_by_ids(
        session, ids=sorted({r.grid_id for r in requests if r.grid_id is not None})
    )
    counts = comment_counts(session, request_ids=ids)
    adopted = drafts.adopted_in(session, request_ids=ids)
    return [
        _view(r, photos.get(r.id, []), grids.get(r.grid_id) if r.grid_id else None, counts)
        | {"adopted_in": adopted.get(r.id, [])}
        for r in requests
    ]


def _view(
    request: Request, photos: Sequence[Any], grid: Any, comment_counts: dict[int, int]
) -> dict[str, Any]:
    """What anyone may see of a suggestion: never the phone, the nickname only if allowed."""
    return {
        "id": request.id,
        "category": request.category,
        "title": request.title,
        "description": request.description,
        "status": request.status,
        "created_at": request.created_at.isoformat() if request.created_at else None,
        "grid": {"code": grid.code, "name": grid.name} if grid else None,
        "rule": request.route_rule,
        "supports": request.support_count or 0,
        "comments": comment_counts.get(request.id, 0),
        "nickname": request.nickname if request.show_nickname else None,
        "photos": [
            {
                "url": f"/api/photos/{p.id}",
                "thumbnail": f"/api/photos/{p.id}/thumbnail",
                "width": p.width,
                "height": p.height,
                "kind": p.kind,  # the resident's, or "after": staff's with a reply or the fix
            }
            for p in photos
        ],
    }


def public_view(session: Session, request: Request) -> dict[str, Any]:
    """The public view of one suggestion."""
    return _views(session, [request])[0]


def features(session: Session, requests: Sequence[Request]) -> list[dict[str, Any]]:
    """GeoJSON features of suggestions, as anyone may see them."""
    return [
        {
            "type": "Feature",
            "id": r.id,
            "geometry": to_geojson(from_db(r.geom)),
            "properties": view,
        }
        for r, view in zip(requests, _views(session, requests), strict=True)
    ]


def get_public(session: Session, *, request_id: int) -> dict[str, Any]:
    return features(session, [_visible(session, request_id)])[0]


MAX_SEARCH = 100  # characters of a title search


def browse(
    session: Session,
    *,
    community_code: str,
    category: str | None = None,
    status: str | None = None,
    grid_code: str | None = None,
    bounds: tuple[float, float, float, float] | None = None,
    q: str | None = None,
    sort: str = "newest",
    near: tuple[float, float] | None = None,
    device: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> dict[str, Any]:
    """One page of visible suggestions as a GeoJSON FeatureCollection with the total: newest,
    most supported or nearest to ``near`` first; ``q``: words of the title. With ``device``
    (the keyed hash of a resident's device cookie) each says whether that device gave it +1."""
    if sort not in PUBLIC_SORTS:
        raise InvalidInput(
            "sort must be one of {sorts}", key="sort_unknown", sorts=PUBLIC_SORTS, field="sort"
        )
    if sort == "nearest" and near is None:
        raise InvalidInput(
            "sort=nearest needs the point to measure from (near=lon,lat)",
            key="sort_nearest_needs_point",
            field="near",
        )
    text = (q or "").strip()
    if len(text) > MAX_SEARCH:
        raise InvalidInput(
            "the search is longer than {limit} characters",
            key="search_too_long",
            limit=MAX_SEARCH,
            field="q",
        )
    community = community_by_code(session, code=community_code)
    grid_id = _grid_id(session, community.id, grid_code, community_code)
    rows, total = public_requests(
        session,
        community_id=community.id,
        category=category,
        status=status,
        grid_id=grid_id,
        bounds=bounds,
        text=text or None,
        sort=sort,
        near=near,
        limit=limit,
        offset=offset,
    )
    found = features(session, rows)
    if device is not None:
        mine = supported_by(session, request_ids=[r.id for r in rows], supporter_hash=device)
        for f in found:
            f["properties"]["supported"] = f["id"] in mine
    return {
        "type": "FeatureCollection",
        "features": found,
        "numberMatched": total,
        "numberReturned": len(rows),
        "offset": offset,
        "limit": limit,
    }


MAP_POINTS_MAX = 1000  # above this many in view, the map gets counts per cell instead
CLUSTER_PX = 64  # cell size on screen


def cell_degrees(zoom: float, px: int = CLUSTER_PX) -> float:
    """Width in degrees of ``px`` screen pixels at a web-map zoom level (256 px tiles)."""
    width: float = 360.0 / (256.0 * 2.0**zoom) * px
    return width


def _grid_id(session: Session, community_id: int, grid_code: str | None, code: str) -> int | None:
    if not grid_code:
        return None
    grid = find_grid(session, community_id=community_id, code=grid_code)
    if grid is None:
        raise NotFound(
            "grid '{grid}' not found in {community}",
            key="grid_not_found",
            grid=grid_code,
            community=code,
            field="grid",
        )
    return grid.id


def map_layer(
    session: Session,
    *,
    community_code: str,
    zoom: float,
    category: str | None = None,
    status: str | None = None,
    grid_code: str | None = None,
    bounds: tuple[float, float, float, float] | None = None,
    max_points: int = MAP_POINTS_MAX,
) -> dict[str, Any]:
    """What the map draws for a view: every matching suggestion as a point when there are few,
    else counts per screen cell, so 100,000 suggestions never travel to a phone.

    The list beside the map is paged separately (:func:`browse`); both use the same filters.
    """
    community = community_by_code(session, code=community_code)
    filters: dict[str, Any] = {
        "community_id": community.id,
        "category": category,
        "status": status,
        "grid_id": _grid_id(session, community.id, grid_code, community_code),
        "bounds": bounds,
    }
    rows = public_request_points(session, limit=max_points + 1, **filters)
    if len(rows) <= max_points:
        return {
            "mode": "points",
            "numberMatched": len(rows),
            "points": [
                {
                    "id": r[0],
                    "lon": round(float(r[1]), 7),
                    "lat": round(float(r[2]), 7),
                    "title": r[3],
                    "category": r[4],
                    "status": r[5],
                }
                for r in rows
            ],
            "cells": [],
        }
    cells = public_request_cells(session, cell=cell_degrees(zoom), **filters)
    return {
        "mode": "cells",
        "numberMatched": sum(int(c[0]) for c in cells),
        "points": [],
        "cells": [
            {
                "count": int(c[0]),
                "lon": round(float(c[1]), 7),
                "lat": round(float(c[2]), 7),
                "bbox": [round(float(v), 7) for v in c[3:7]],
                "id": int(c[7]) if int(c[0]) == 1 else None,
            }
            for c in cells
        ],
    }


def nearby(
    session: Session,
    *,
    lon: float,
    lat: float,
    category: str | None = None,
    radius_m: float = NEARBY_RADIUS_M,
    limit: int = 10,
) -> list[dict[str, Any]]:
    """Visible suggestions within ``radius_m`` metres, nearest first (to offer a +1)."""
    import math

    import shapely

    point = shapely.Point(lon, lat)
    margin = metres_to_degrees(radius_m, lat)
    bounds = (lon - margin, lat - margin, lon + margin, lat + margin)
    # the database picks the candidates, nearest first (a flat-earth distance, within 1 % over a
    # few hundred metres); the exact distances are measured on those few in metres
    ky = 111_320.0
    kx = ky * math.cos(math.radians(lat))
    candidates = visible_request_points_near(
        session,
        bounds=bounds,
        lon=lon,
        lat=lat,
        metres_per_degree=(kx, ky),
        within_m=radius_m * 1.01 + 1.0,
        category=category,
        limit=2 * limit + 20,
    )
    epsg = utm_epsg(lon, lat)
    here = to_metric(point, epsg)
    found = []
    for rid, x, y in candidates:
        d = here.distance(to_metric(shapely.Point(x, y), epsg))
        if d <= radius_m:
            found.append((d, rid))
    found.sort()
    nearest = found[:limit]
    rows = requests_by_ids(session, ids=[rid for _, rid in nearest])
    kept = [(d, rid, rows[rid]) for d, rid in nearest]
    out = features(session, [r for _, _, r in kept])
    for (d, _, _), f in zip(kept, out, strict=True):
        f["properties"]["distance_m"] = round(d, 1)
    return out


def support(session: Session, *, request_id: int, supporter: str) -> int:
    """+1 from one device (``supporter``: its keyed hash); a second +1 from the same device is
    a 409."""
    request = _visible(session, request_id)
    duplicate = Conflict(
        "this device already supports this suggestion", key="already_supported", field="support"
    )
    # The same +1 sent many times at once: one is counted, the others are answered at once
    # (on PostgreSQL they would otherwise queue on the first one's unique key).
    if not exclusive(session, f"support:{request.id}:{supporter}"):
        raise duplicate
    if support_exists(session, request_id=request.id, supporter_hash=supporter):
        raise duplicate
    try:
        with session.begin_nested():  # the unique index has the last word
            session.add(RequestSupport(request_id=request.id, supporter_hash=supporter))
    except IntegrityError:
        raise duplicate from None
    # counted in SQL, so concurrent +1s from different devices are not lost
    request.support_count = Request.support_count + 1
    session.flush()
    session.refresh(request, ["support_count"])
    return int(request.support_count)


def comment(
    session: Session, *, request_id: int, body: str, nickname: str | None = None
) -> dict[str, Any]:
    request = _visible(session, request_id)
    body = (body or "").strip()
    if not body:
        raise InvalidInput("the comment is empty", key="comment_empty", field="body")
    if len(body) > MAX_COMMENT:
        raise InvalidInput(
            "the comment is longer than {limit} characters",
            key="comment_too_long",
            limit=MAX_COMMENT,
            field="body",
        )
    c = RequestComment(request_id=request.id, body=body, nickname=_clean_nickname(nickname))
    session.add(c)
    session.flush()
    return _comment_view(c)


def _comment_view(c: RequestComment) -> dict[str, Any]:
    return {
        "id": c.id,
        "body": c.body,
        "nickname": c.nickname,
        "created_at": c.created_at.isoformat() if c.created_at else None,
    }


def comments(session: Session, *, request_id: int) -> list[dict[str, Any]]:
    _visible(session, request_id)
    return [_comment_view(c) for c in visible_comments(session, request_id=request_id)]


def _by_receipt(session: Session, *, code: str, token: str, secret: str) -> Request:
    request = request_by_receipt(session, code=code.strip().upper())
    if request is None or not request.follow_token_hash:
        raise NotFound(
            "receipt '{code}' not found", key="receipt_not_found", code=code, field="code"
        )
    if not hmac.compare_digest(request.follow_token_hash, keyed_hash(secret, token or "")):
        raise Forbidden(
            "this link's token does not match the receipt", key="follow_token_wrong", field="token"
        )
    return request


def check_receipt(session: Session, *, code: str, token: str, secret: str) -> None:
    """404 for an unknown receipt, 403 for a token that does not match it."""
    _by_receipt(session, code=code, token=token, secret=secret)


def follow(session: Session, *, code: str, token: str, secret: str) -> dict[str, Any]:
    """The resident's private view: status, public history, own contact details, where it is,
    and whether (and how) they are told of progress."""
    request = _by_receipt(session, code=code, token=token, secret=secret)
    view = public_view(session, request)
    view["receipt_code"] = request.receipt_code
    view["hidden"] = request.hidden
    view["your_nickname"] = request.nickname
    view["your_phone"] = request.phone
    view["your_email"] = request.contact_email
    view["history"] = public_history(request, photos_of(session, request_id=request.id))
    view["property"] = property_status(session, request)
    view["geometry"] = to_geojson(from_db(request.geom))
    view["community"] = (
        community.code
        if (community := session.get(Community, request.community_id)) is not None
        else None
    )
    view["notify"] = progress.channels_of(request)
    view["reopen_until"] = reopen_until(request)
    return view


def follow_path(session: Session, *, code: str, token: str, secret: str) -> str:
    """The private follow link's path of a receipt, for its QR code (the token must match)."""
    request = _by_receipt(session, code=code, token=token, secret=secret)
    return f"/r/{request.receipt_code}?t={token}"


def reopen_until(request: Request) -> str | None:
    """Until when a resolved request may be reopened (ISO time), else None."""
    from renewmap.services.requests.workflow import REOPEN_DAYS

    if request.status != Status.RESOLVED or request.resolved_at is None:
        return None
    resolved = request.resolved_at
    resolved = resolved if resolved.tzinfo else resolved.replace(tzinfo=UTC)
    return (resolved + timedelta(days=REOPEN_DAYS)).isoformat()


def stop_link(session: Session, *, code: str, secret: str, stop: str) -> str | None:
    """Check a stop link (403 if it does not match the receipt); the community's code."""
    request = request_by_receipt(session, code=code.strip().upper())
    if request is None:
        raise NotFound(
            "receipt '{code}' not found", key="receipt_not_found", code=code, field="code"
        )
    if not progress.check_stop_token(secret, request.receipt_code or "", stop):
        raise Forbidden(
            "this stop link does not match the receipt", key="stop_token_wrong", field="s"
        )
    community = session.get(Community, request.community_id) if request.community_id else None
    return community.code if community is not None else None


def stop_messages(
    session: Session, *, code: str, secret: str, stop: str = "", token: str = ""
) -> dict[str, Any]:
    """The resident withdraws consent to progress messages, with the stop link's token
    (``stop``, no sign-in) or their follow link's (``token``). Stopping twice is fine."""
    request = request_by_receipt(session, code=code.strip().upper())
    if request is None:
        raise NotFound(
            "receipt '{code}' not found", key="receipt_not_found", code=code, field="code"
        )
    if stop:
        if not progress.check_stop_token(secret, request.receipt_code or "", stop):
            raise Forbidden(
                "this stop link does not match the receipt", key="stop_token_wrong", field="s"
            )
    else:
        request = _by_receipt(session, code=code, token=token, secret=secret)
    cancelled = progress.stop(session, request=request)
    return {"receipt_code": request.receipt_code, "stopped": True, "cancelled": cancelled}


def reopen(session: Session, *, code: str, token: str, secret: str, note: str) -> dict[str, Any]:
    """Through the private link: a resolved request that is not fixed goes back to its grid."""
    from renewmap.services.requests.workflow import reopen as reopen_request

    request = _by_receipt(session, code=code, token=token, secret=secret)
    reopen_request(session, request=request, note=note)
    notify.enqueue(session, request=request, reason="reopened")
    return follow(session, code=code, token=token, secret=secret)


# History entries whose data the resident reads: handed to the property company (with the
# day it is to be done by), and a deliberation (四议共答: day, parties, attendees, question,
# decision). Nothing else of an entry's data is public.
PUBLIC_DETAILS: dict[str, tuple[str, ...]] = {
    EventKind.ASSIGN_PROPERTY: ("due",),
    EventKind.DELIBERATION: ("held_on", "parties", "attendees", "question", "decision"),
}


def public_history(request: Request, photos: Sequence[Any] = ()) -> list[dict[str, Any]]:
    """What the resident may read of a request's history: replies, reasons, status changes,
    the property company's due day, deliberations, the "after" photos of a step; never
    staff's internal notes or who on the staff did it."""
    after: dict[int, list[dict[str, Any]]] = {}
    for p in photos:
        if p.kind == "after" and p.event_id is not None:
            after.setdefault(p.event_id, []).append(
                {"url": f"/api/photos/{p.id}", "thumbnail": f"/api/photos/{p.id}/thumbnail"}
            )
    out = []
    for e in request.events:
        if not e.public or e.kind == EventKind.NOTE:
            continue
        item: dict[str, Any] = {
            "kind": e.kind,
            "label": str(names.label(names.EVENT_LABELS, e.kind)),
            "at": e.at.isoformat() if e.at else None,
            "note": e.note,
            "by": (e.data or {}).get("by"),
        }
        keys = PUBLIC_DETAILS.get(e.kind)
        if keys:
            item["details"] = {k: (e.data or {}).get(k) for k in keys}
        if e.id in after:
            item["photos"] = after[e.id]
        out.append(item)
    return out


def property_status(session: Session, request: Request) -> dict[str, Any] | None:
    """While the property company has it: whose it is and by when (已交物业处理，预计 … 前完成)."""
    if request.assigned_org_id is None or request.assigned_done_at is not None:
        return None
    if request.status not in OPEN_STATUSES:
        return None
    org = session.get(Organisation, request.assigned_org_id)
    return {
        "org": org.name if org is not None else None,
        "due": request.assigned_due.isoformat() if request.assigned_due else None,
    }


def add_details(
    session: Session,
    *,
    code: str,
    token: str,
    secret: str,
    text: str | None = None,
    photos: Sequence[tuple[str, bytes]] = (),
) -> dict[str, Any]:
    """More words or photos from the resident, through the private link."""
    request = _by_receipt(session, code=code, token=token, secret=secret)
    text = (text or "").strip()
    if not text and not photos:
        raise InvalidInput(
            "send some text or at least one photo", key="details_empty", field="text"
        )
    if len(text) > MAX_COMMENT:
        raise InvalidInput(
            "text is longer than {limit} characters",
            key="details_too_long",
            limit=MAX_COMMENT,
            field="text",
        )
    existing = sum(p.kind != "after" for p in photos_of(session, request_id=request.id))
    if existing + len(photos) > MAX_PHOTOS:
        raise InvalidInput(
            "at most {limit} photos per suggestion ({n} already attached)",
            key="too_many_photos_attached",
            limit=MAX_PHOTOS,
            n=existing,
            field="photos",
        )
    processed = process_photos(photos)
    for i, p in enumerate(processed):
        session.add(
            RequestPhoto(
                request_id=request.id,
                position=existing + i,
                **p.store(session),
            )
        )
    request.events.append(
        RequestEvent(
            kind=EventKind.DETAILS_ADDED,
            actor="resident",
            note=text or None,
            data={"photos": len(processed)},
        )
    )
    session.flush()
    return follow(session, code=code, token=token, secret=secret)


def photo_bytes(session: Session, *, photo_id: int, thumbnail: bool = False) -> tuple[bytes, str]:
    p = request_photo(session, photo_id=photo_id)
    if p is None:
        raise NotFound("photo {id} not found", key="photo_not_found", id=photo_id, field="id")
    request = session.get(Request, p.request_id)
    if (
        request is None
        or request.hidden
        or not community_is_public(session, community_id=request.community_id)
    ):
        raise NotFound("photo {id} not found", key="photo_not_found", id=photo_id, field="id")
    return blobs.get(session, p.thumbnail_key if thumbnail else p.data_key), p.content_type
