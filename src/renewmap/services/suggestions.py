"""Residents' suggestions: post (routed, with photos), find nearby, browse, support, comment,
and follow by receipt code with a private token.

Personal data (phone, hidden nicknames) never leaves this module in a public view.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from shapely.geometry.base import BaseGeometry
from sqlalchemy.orm import Session

from renewmap.db import queries
from renewmap.db.models import Request, RequestComment, RequestEvent, RequestPhoto, RequestSupport
from renewmap.errors import Conflict, Forbidden, InvalidInput, NotFound
from renewmap.services.photos import MAX_PHOTOS, process_photo
from renewmap.services.requests import create_request
from renewmap.services.routing import Owner
from renewmap.spatial.crs import metres_to_degrees, to_metric, utm_epsg
from renewmap.spatial.geometry import from_db, to_geojson
from renewmap.spatial.routing import DEFAULT_SNAP_M

RECEIPT_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # no 0/O, 1/I/L: read aloud on the phone
MAX_NICKNAME = 40
MAX_COMMENT = 1000
NEARBY_RADIUS_M = 50.0
PUBLIC_EVENTS = ("created", "routed", "rerouted", "status", "reply", "details_added")
_PHONE = re.compile(r"^\+?[0-9][0-9 \-]{4,19}$")


def keyed_hash(secret: str, value: str) -> str:
    return hmac.new(secret.encode(), value.encode(), hashlib.sha256).hexdigest()


def _new_receipt_code(session: Session) -> str:
    for _ in range(20):
        code = "RM" + "".join(secrets.choice(RECEIPT_ALPHABET) for _ in range(6))
        if not queries.receipt_code_taken(session, code=code):
            return code
    raise Conflict("could not allocate a receipt code; try again")


def _clean_nickname(nickname: str | None) -> str | None:
    nickname = (nickname or "").strip()
    if len(nickname) > MAX_NICKNAME:
        raise InvalidInput(f"nickname is longer than {MAX_NICKNAME} characters", field="nickname")
    return nickname or None


def _clean_phone(phone: str | None) -> str | None:
    phone = (phone or "").strip()
    if phone and not _PHONE.match(phone):
        raise InvalidInput(
            "phone must be 5–20 digits (spaces, dashes and a leading + allowed)", field="phone"
        )
    return phone or None


@dataclass
class Created:
    request: Request
    owner: Owner
    token: str


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
) -> Created:
    """Validate everything first (photos included), then route and store in one go."""
    if len(photos) > MAX_PHOTOS:
        raise InvalidInput(f"at most {MAX_PHOTOS} photos, got {len(photos)}", field="photos")
    nickname = _clean_nickname(nickname)
    phone = _clean_phone(phone)
    processed = [process_photo(raw, filename=name) for name, raw in photos]
    request, owner = create_request(
        session,
        geom=geom,
        category=category,
        title=title,
        description=description,
        source="resident",
        snap_m=snap_m,
    )
    token = secrets.token_urlsafe(18)
    request.receipt_code = _new_receipt_code(session)
    request.follow_token_hash = keyed_hash(secret, token)
    request.nickname = nickname
    request.show_nickname = bool(show_nickname and nickname)
    request.phone = phone
    for i, p in enumerate(processed):
        session.add(
            RequestPhoto(
                request_id=request.id,
                position=i,
                content_type=p.content_type,
                width=p.width,
                height=p.height,
                data=p.data,
                thumbnail=p.thumbnail,
            )
        )
    session.flush()
    return Created(request, owner, token)


def _visible(session: Session, request_id: int) -> Request:
    request = session.get(Request, request_id)
    if request is None or request.hidden:
        raise NotFound(f"suggestion {request_id} not found", field="id")
    return request


def public_view(
    session: Session, request: Request, *, comments: int | None = None
) -> dict[str, Any]:
    """What anyone may see of a suggestion: never the phone, the nickname only if allowed."""
    photos = queries.photos_of(session, request_id=request.id)
    grid = None
    if request.grid_id is not None:
        grid = queries.grids_by_ids(session, ids=[request.grid_id]).get(request.grid_id)
    if comments is None:
        comments = queries.comment_counts(session, request_ids=[request.id]).get(request.id, 0)
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
        "comments": comments,
        "nickname": request.nickname if request.show_nickname else None,
        "photos": [
            {
                "url": f"/api/photos/{p.id}",
                "thumbnail": f"/api/photos/{p.id}/thumbnail",
                "width": p.width,
                "height": p.height,
            }
            for p in photos
        ],
    }


def feature(session: Session, request: Request, **kw: Any) -> dict[str, Any]:
    return {
        "type": "Feature",
        "id": request.id,
        "geometry": to_geojson(from_db(request.geom)),
        "properties": public_view(session, request, **kw),
    }


def get_public(session: Session, *, request_id: int) -> dict[str, Any]:
    return feature(session, _visible(session, request_id))


def browse(
    session: Session,
    *,
    community_code: str,
    category: str | None = None,
    status: str | None = None,
    grid_code: str | None = None,
    bounds: tuple[float, float, float, float] | None = None,
    limit: int = 100,
    offset: int = 0,
) -> dict[str, Any]:
    """One page of visible suggestions as a GeoJSON FeatureCollection with the total."""
    community = queries.community_by_code(session, code=community_code)
    grid_id = None
    if grid_code:
        grid = queries.grid_by_code(session, community_id=community.id, code=grid_code)
        if grid is None:
            raise NotFound(f"grid '{grid_code}' not found in {community_code}", field="grid")
        grid_id = grid.id
    rows, total = queries.public_requests(
        session,
        community_id=community.id,
        category=category,
        status=status,
        grid_id=grid_id,
        bounds=bounds,
        limit=limit,
        offset=offset,
    )
    counts = queries.comment_counts(session, request_ids=[r.id for r in rows])
    return {
        "type": "FeatureCollection",
        "features": [feature(session, r, comments=counts.get(r.id, 0)) for r in rows],
        "numberMatched": total,
        "numberReturned": len(rows),
        "offset": offset,
        "limit": limit,
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
    import shapely

    point = shapely.Point(lon, lat)
    margin = metres_to_degrees(radius_m, lat)
    bounds = (lon - margin, lat - margin, lon + margin, lat + margin)
    epsg = utm_epsg(lon, lat)
    here = to_metric(point, epsg)
    found = []
    for r in queries.visible_requests_near(session, bounds=bounds, category=category):
        d = here.distance(to_metric(from_db(r.geom), epsg))
        if d <= radius_m:
            found.append((d, r.id, r))
    found.sort(key=lambda t: (t[0], t[1]))
    out = []
    for d, _, r in found[:limit]:
        f = feature(session, r)
        f["properties"]["distance_m"] = round(d, 1)
        out.append(f)
    return out


def support(session: Session, *, request_id: int, device_id: str, secret: str) -> int:
    """+1 from one device; a second +1 from the same device is a 409."""
    request = _visible(session, request_id)
    supporter = keyed_hash(secret, device_id)
    if queries.support_exists(session, request_id=request.id, supporter_hash=supporter):
        raise Conflict("this device already supports this suggestion", field="support")
    session.add(RequestSupport(request_id=request.id, supporter_hash=supporter))
    request.support_count = (request.support_count or 0) + 1
    session.flush()
    return request.support_count


def comment(
    session: Session, *, request_id: int, body: str, nickname: str | None = None
) -> dict[str, Any]:
    request = _visible(session, request_id)
    body = (body or "").strip()
    if not body:
        raise InvalidInput("comment text is required", field="body")
    if len(body) > MAX_COMMENT:
        raise InvalidInput(f"comment is longer than {MAX_COMMENT} characters", field="body")
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
    return [_comment_view(c) for c in queries.visible_comments(session, request_id=request_id)]


def _by_receipt(session: Session, *, code: str, token: str, secret: str) -> Request:
    request = queries.request_by_receipt(session, code=code.strip().upper())
    if request is None or not request.follow_token_hash:
        raise NotFound(f"receipt '{code}' not found", field="code")
    if not hmac.compare_digest(request.follow_token_hash, keyed_hash(secret, token or "")):
        raise Forbidden("this link's token does not match the receipt", field="token")
    return request


def follow(session: Session, *, code: str, token: str, secret: str) -> dict[str, Any]:
    """The resident's private view: status, public history, own contact details."""
    request = _by_receipt(session, code=code, token=token, secret=secret)
    view = public_view(session, request)
    view["receipt_code"] = request.receipt_code
    view["hidden"] = request.hidden
    view["your_nickname"] = request.nickname
    view["your_phone"] = request.phone
    view["history"] = [
        {"kind": e.kind, "at": e.at.isoformat() if e.at else None, "note": e.note}
        for e in request.events
        if e.kind in PUBLIC_EVENTS
    ]
    return view


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
        raise InvalidInput("send some text or at least one photo", field="text")
    if len(text) > MAX_COMMENT:
        raise InvalidInput(f"text is longer than {MAX_COMMENT} characters", field="text")
    existing = len(queries.photos_of(session, request_id=request.id))
    if existing + len(photos) > MAX_PHOTOS:
        raise InvalidInput(
            f"at most {MAX_PHOTOS} photos per suggestion ({existing} already attached)",
            field="photos",
        )
    processed = [process_photo(raw, filename=name) for name, raw in photos]
    for i, p in enumerate(processed):
        session.add(
            RequestPhoto(
                request_id=request.id,
                position=existing + i,
                content_type=p.content_type,
                width=p.width,
                height=p.height,
                data=p.data,
                thumbnail=p.thumbnail,
            )
        )
    request.events.append(
        RequestEvent(
            kind="details_added",
            actor="resident",
            note=text or None,
            data={"photos": len(processed)},
        )
    )
    session.flush()
    return follow(session, code=code, token=token, secret=secret)


def photo_bytes(session: Session, *, photo_id: int, thumbnail: bool = False) -> tuple[bytes, str]:
    p = queries.photo(session, photo_id=photo_id)
    if p is None:
        raise NotFound(f"photo {photo_id} not found")
    request = session.get(Request, p.request_id)
    if request is None or request.hidden:
        raise NotFound(f"photo {photo_id} not found")
    return (p.thumbnail if thumbnail else p.data), p.content_type
