"""Plant adoption (认养) and the plant's "growth ID card" (成长身份证).

A resident adopts an adoptable plant under a nickname (a phone only staff in scope see), one
adopter at a time; the adopter's device can log care (watering, pruning, fertilising, a note).
Each plant has a stable public card at ``/p/{id}`` and a printable QR code pointing to it.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from renewmap import blobs, names
from renewmap.db.guards import exclusive
from renewmap.db.models import Community, Plant, PlantAdoption, PlantCare, Site
from renewmap.db.queries.design import (
    adopted_plant_ids,
    care_log,
    current_adopters,
    current_adoption,
    plants_of_site,
)
from renewmap.db.queries.places import community_by_code, community_is_public, grids_by_ids
from renewmap.errors import Conflict, Forbidden, InvalidInput, NotFound
from renewmap.i18n import N_, Msg
from renewmap.printing import Tag
from renewmap.services.access.accounts import Principal
from renewmap.services.access.scope import scope_of
from renewmap.services.requests.photos import process_photo
from renewmap.spatial.design import species_table
from renewmap.spatial.geometry import from_db, to_geojson
from renewmap.vocabulary import Role

CARE_KINDS = ("watering", "pruning", "fertilising", "photo", "note")
MAX_NOTE = 500


def _plant(session: Session, plant_id: int) -> Plant:
    """A plant residents may reach (none of a community still being set up)."""
    plant = session.get(Plant, plant_id)
    if plant is None or not community_is_public(session, community_id=plant.community_id):
        raise NotFound("plant {id} not found", key="plant_not_found", id=plant_id, field="id")
    return plant


def adopt(
    session: Session,
    *,
    plant_id: int,
    nickname: str,
    device_hash: str,
    phone: str | None = None,
) -> dict[str, Any]:
    plant = _plant(session, plant_id)
    # many residents at once: one adopts, the others are answered at once instead of queueing
    # on the plant's row lock (and holding a connection each meanwhile)
    if not exclusive(session, f"adopt:{plant.id}"):
        raise Conflict(
            "{plant} is being adopted at this moment; try again",
            key="plant_adoption_busy",
            plant=names.plant(plant.name, plant.species),
            id=plant_id,
            field="id",
            retry_after=1,
        )
    session.refresh(plant, with_for_update=True)  # the row lock has the last word
    if not plant.adoptable:
        raise Conflict(
            "{plant} is not open for adoption",
            key="plant_not_adoptable",
            plant=names.plant(plant.name, plant.species),
            id=plant_id,
            field="id",
        )
    if current_adoption(session, plant_id=plant.id) is not None:
        raise Conflict(
            "{plant} already has an adopter",
            key="plant_already_adopted",
            plant=names.plant(plant.name, plant.species),
            id=plant_id,
            field="id",
        )
    nickname = (nickname or "").strip()
    if not nickname or len(nickname) > 40:
        raise InvalidInput(
            "a nickname of 1–40 characters is required", key="nickname_length", field="nickname"
        )
    phone = (phone or "").strip() or None
    if phone and not phone.replace(" ", "").replace("-", "").lstrip("+").isdigit():
        raise InvalidInput(
            "phone: digits only (spaces and dashes allowed)", key="phone_invalid", field="phone"
        )
    session.add(
        PlantAdoption(plant_id=plant.id, nickname=nickname, phone=phone, device_hash=device_hash)
    )
    session.flush()
    return card(session, plant_id=plant.id, device_hash=device_hash)


def require_adopter(session: Session, *, plant_id: int, device_hash: str) -> PlantAdoption:
    """The plant's current adoption, if this device is its adopter (403 otherwise)."""
    plant = _plant(session, plant_id)
    adoption = current_adoption(session, plant_id=plant.id)
    if adoption is None or not hmac.compare_digest(adoption.device_hash, device_hash):
        raise Forbidden(
            "only the plant's adopter can add to its care log", key="not_the_adopter", field="id"
        )
    return adoption


def log_care(
    session: Session,
    *,
    plant_id: int,
    device_hash: str,
    kind: str,
    note: str | None = None,
    photo: tuple[str, bytes] | None = None,
) -> dict[str, Any]:
    """Only the plant's adopter (their device) writes its care log; a photo may go with it."""
    adoption = require_adopter(session, plant_id=plant_id, device_hash=device_hash)
    plant = _plant(session, plant_id)
    if kind == "photo" and photo is None:
        raise InvalidInput("a photo entry needs its photo", key="care_photo_missing", field="file")
    if kind not in CARE_KINDS:
        raise InvalidInput(
            "kind must be one of {kinds}", key="care_kind_unknown", kinds=CARE_KINDS, field="kind"
        )
    note = (note or "").strip() or None
    if note and len(note) > MAX_NOTE:
        raise InvalidInput(
            "note is longer than {limit} characters",
            key="care_note_too_long",
            limit=MAX_NOTE,
            field="note",
        )
    processed = process_photo(photo[1], filename=photo[0]) if photo else None
    stored: dict[str, Any] = {}
    if processed is not None:  # in the blob store before the row commits
        cols = processed.store(session)
        stored = {
            "photo_key": cols["data_key"],
            "photo_size": cols["data_size"],
            "photo_width": cols["width"],
            "photo_height": cols["height"],
            "photo_thumbnail_key": cols["thumbnail_key"],
            "photo_thumbnail_size": cols["thumbnail_size"],
        }
    session.add(PlantCare(plant_id=plant.id, kind=kind, note=note, by=adoption.nickname, **stored))
    session.flush()
    return card(session, plant_id=plant.id, device_hash=device_hash)


def card(session: Session, *, plant_id: int, device_hash: str | None = None) -> dict[str, Any]:
    """The public growth ID card: species, planting date, adopter's nickname, care log, its
    site; ``mine``: the device asking (``device_hash``) is the adopter's."""
    plant = _plant(session, plant_id)
    table = species_table()
    sp = table.get(plant.species or "") or next(
        (s for s in table.values() if s.name_zh == plant.species), None
    )
    adoption = current_adoption(session, plant_id=plant.id)
    log = care_log(session, plant_id=plant.id)
    return {
        "id": plant.id,
        "code": plant.code,
        "name": plant.name,
        "species": {"name_zh": sp.name_zh, "latin": sp.latin, "seasons": sorted(sp.seasons)}
        if sp
        else {"name_zh": plant.species, "latin": None, "seasons": []},
        "layer": plant.layer or (sp.layer if sp else None),
        "planted_on": plant.planted_on.isoformat() if plant.planted_on else None,
        "adoptable": bool(plant.adoptable) and adoption is None,
        "adopter": adoption.nickname if adoption else None,
        "mine": adoption is not None
        and device_hash is not None
        and hmac.compare_digest(adoption.device_hash, device_hash),
        "site": _site_ref(session, plant),
        "community": _community_code(session, plant),
        "adopted_on": _day(adoption.adopted_at) if adoption else None,
        "care": [
            {
                "kind": c.kind,
                "note": c.note,
                "by": c.by,
                "on": _day(c.at),
                "at": _moment(c.at),  # pages show the day in the community's time zone
                "photo": f"/api/plant-care/{c.id}/photo" if c.photo_key else None,
                "thumbnail": f"/api/plant-care/{c.id}/thumbnail" if c.photo_key else None,
            }
            for c in log
        ],
    }


def _site_ref(session: Session, plant: Plant) -> dict[str, str] | None:
    site = session.get(Site, plant.site_id) if plant.site_id else None
    return {"code": site.code, "name": site.name} if site is not None else None


def _community_code(session: Session, plant: Plant) -> str | None:
    community = session.get(Community, plant.community_id)
    return community.code if community is not None else None


def display_name(card_view: dict[str, Any]) -> str:
    """What people call the plant: its name, else its species (never its code)."""
    return str(card_view["name"] or card_view["species"]["name_zh"] or "")


# --- moving an adoption to a new phone -------------------------------------------------------

TRANSFER_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # read off one screen, typed on another
TRANSFER_LENGTH = 8
TRANSFER_HOURS = 24


def transfer_code(
    session: Session, *, plant_id: int, device_hash: str, secret: str, now: datetime | None = None
) -> dict[str, Any]:
    """On the adopter's phone: a one-time code (valid ``TRANSFER_HOURS`` hours) that moves the
    adoption to another phone; a new code replaces the previous one. Only its keyed hash is
    kept."""
    plant = _plant(session, plant_id)
    adoption = current_adoption(session, plant_id=plant.id)
    if adoption is None or not hmac.compare_digest(adoption.device_hash, device_hash):
        raise Forbidden(
            "only the plant's adopter can move the adoption to another phone",
            key="not_the_adopter_transfer",
            field="id",
        )
    now = now or datetime.now(UTC)
    code = "".join(secrets.choice(TRANSFER_ALPHABET) for _ in range(TRANSFER_LENGTH))
    adoption.transfer_code_hash = _keyed(secret, code)
    adoption.transfer_expires_at = now + timedelta(hours=TRANSFER_HOURS)
    session.flush()
    return {"code": code, "expires_at": adoption.transfer_expires_at.isoformat()}


def claim(
    session: Session,
    *,
    plant_id: int,
    code: str,
    device_hash: str,
    secret: str,
    now: datetime | None = None,
) -> dict[str, Any]:
    """On the new phone: the code from the old one makes this device the adopter's (the old one
    no longer is); the code is used up."""
    plant = _plant(session, plant_id)
    session.refresh(plant, with_for_update=True)  # two phones with one code: one wins
    adoption = current_adoption(session, plant_id=plant.id)
    now = now or datetime.now(UTC)
    given = re.sub(r"[\s-]", "", code or "").upper()
    expires = adoption.transfer_expires_at if adoption is not None else None
    if expires is not None and expires.tzinfo is None:
        expires = expires.replace(tzinfo=UTC)
    if (
        adoption is None
        or adoption.transfer_code_hash is None
        or expires is None
        or expires < now
        or not hmac.compare_digest(adoption.transfer_code_hash, _keyed(secret, given))
    ):
        raise Forbidden(
            "this code does not move the adoption: ask for a new one on the adopter's phone",
            key="transfer_code_wrong",
            field="code",
        )
    adoption.device_hash = device_hash
    adoption.transfer_code_hash = None
    adoption.transfer_expires_at = None
    session.flush()
    return card(session, plant_id=plant.id, device_hash=device_hash)


def _keyed(secret: str, value: str) -> str:
    return hmac.new(secret.encode(), f"adoption:{value}".encode(), hashlib.sha256).hexdigest()


def care_photo(session: Session, *, care_id: int, thumbnail: bool = False) -> bytes:
    row = session.get(PlantCare, care_id)
    plant = session.get(Plant, row.plant_id) if row is not None else None
    if (
        row is None
        or row.photo_key is None
        or plant is None
        or not community_is_public(session, community_id=plant.community_id)
    ):
        raise NotFound(
            "care photo {id} not found", key="care_photo_not_found", id=care_id, field="id"
        )
    key = row.photo_thumbnail_key if thumbnail else row.photo_key
    if key is None:  # a photo is stored with its thumbnail
        raise NotFound(
            "care photo {id} not found", key="care_photo_not_found", id=care_id, field="id"
        )
    return blobs.get(session, key)


def adopters(
    session: Session, *, principal: Principal, community_code: str
) -> list[dict[str, Any]]:
    """Current adopters of the community's plants with their phones: for staff in scope only
    (the community's admins and designers, and grid leads for the plants in their grids)."""
    community = community_by_code(session, code=community_code)
    scope = scope_of(session, principal)
    whole = community.id in scope.community_ids or any(
        g.role == Role.DESIGNER and g.community_id == community.id for g in principal.roles
    )
    grids = [] if whole else grids_by_ids(session, ids=sorted(scope.grid_ids)).values()
    areas = [from_db(g.geom) for g in grids if g.community_id == community.id]
    if not whole and not areas:
        raise Forbidden(
            "{community} is not in your area",
            key="community_outside_scope",
            community=community.name,
            field="community",
        )
    rows = current_adopters(session, community_id=community.id)
    out = []
    for plant, a in rows:
        if not whole and not any(area.intersects(from_db(plant.geom)) for area in areas):
            continue
        out.append(
            {
                "plant": plant.id,
                "code": plant.code,
                "name": plant.name,
                "species": plant.species,
                "nickname": a.nickname,
                "phone": a.phone,
                "adopted_on": _day(a.adopted_at),
                "adopted_at": _moment(a.adopted_at),
            }
        )
    return out


def _day(t: datetime) -> str:
    return (t if t.tzinfo else t.replace(tzinfo=UTC)).date().isoformat()


def _moment(t: datetime) -> str:
    return (t if t.tzinfo else t.replace(tzinfo=UTC)).isoformat()


TAG_CAPTION = N_("Scan to adopt it or see its growth record")  # 扫码认养/查看成长档案


def tag(session: Session, *, plant_id: int, url: str, locale: str) -> Tag:
    """What the plant's printed tag says: its name, its species (Chinese and Latin), the caption
    and its card's address for the QR code."""
    view = card(session, plant_id=plant_id)
    sp = view["species"]
    species = " ".join(p for p in (sp["name_zh"], sp["latin"]) if p)
    return Tag(display_name(view), species, Msg(TAG_CAPTION).render(locale), url)


def site_plants(session: Session, *, community_code: str, site_code: str) -> list[dict[str, Any]]:
    """A site's plants for residents: name, species, whether one can still adopt it."""
    from renewmap.services.design.process import site_of

    _community, site = site_of(session, community_code=community_code, site_code=site_code)
    plants = plants_of_site(session, site_id=site.id)
    taken = adopted_plant_ids(session, plant_ids=[p.id for p in plants])
    table = species_table()
    out = []
    for p in plants:
        sp = table.get(p.species or "")
        out.append(
            {
                "id": p.id,
                "name": p.name or (sp.name_zh if sp else p.species),
                "species": sp.name_zh if sp else p.species,
                "open": bool(p.adoptable) and p.id not in taken,
                "url": f"/p/{p.id}",
                "geometry": to_geojson(from_db(p.geom)),
            }
        )
    return out
