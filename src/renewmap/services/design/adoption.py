"""Plant adoption (认养) and the plant's "growth ID card" (成长身份证).

A resident adopts an adoptable plant under a nickname (a phone only staff in scope see), one
adopter at a time; the adopter's device can log care (watering, pruning, fertilising, a note).
Each plant has a stable public card at ``/p/{id}`` and a printable QR code pointing to it.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from renewmap import names
from renewmap.db.guards import exclusive
from renewmap.db.models import Plant, PlantAdoption, PlantCare
from renewmap.db.queries.design import (
    adopted_plant_ids,
    care_log,
    current_adopters,
    current_adoption,
    plants_of_site,
)
from renewmap.db.queries.places import community_by_code, grids_by_ids
from renewmap.errors import Conflict, Forbidden, InvalidInput, NotFound
from renewmap.services.access.accounts import Principal
from renewmap.services.access.scope import scope_of
from renewmap.services.requests.photos import process_photo
from renewmap.spatial.design import species_table
from renewmap.spatial.geometry import from_db, to_geojson
from renewmap.vocabulary import Role

CARE_KINDS = ("watering", "pruning", "fertilising", "photo", "note")
MAX_NOTE = 500


def _plant(session: Session, plant_id: int) -> Plant:
    plant = session.get(Plant, plant_id)
    if plant is None:
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
    return card(session, plant_id=plant.id)


def require_adopter(session: Session, *, plant_id: int, device_hash: str) -> PlantAdoption:
    """The plant's current adoption, if this device is its adopter (403 otherwise)."""
    plant = _plant(session, plant_id)
    adoption = current_adoption(session, plant_id=plant.id)
    if adoption is None or adoption.device_hash != device_hash:
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
    session.add(
        PlantCare(
            plant_id=plant.id,
            kind=kind,
            note=note,
            by=adoption.nickname,
            photo=processed.data if processed else None,
            photo_thumbnail=processed.thumbnail if processed else None,
        )
    )
    session.flush()
    return card(session, plant_id=plant.id)


def card(session: Session, *, plant_id: int) -> dict[str, Any]:
    """The public growth ID card: species, planting date, adopter's nickname, care log."""
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
        "adopted_on": _day(adoption.adopted_at) if adoption else None,
        "care": [
            {
                "kind": c.kind,
                "note": c.note,
                "by": c.by,
                "on": _day(c.at),
                "at": _moment(c.at),  # pages show the day in the community's time zone
                "photo": f"/api/plant-care/{c.id}/photo" if c.photo else None,
                "thumbnail": f"/api/plant-care/{c.id}/thumbnail" if c.photo else None,
            }
            for c in log
        ],
    }


def care_photo(session: Session, *, care_id: int, thumbnail: bool = False) -> bytes:
    row = session.get(PlantCare, care_id)
    if row is None or row.photo is None:
        raise NotFound(
            "care photo {id} not found", key="care_photo_not_found", id=care_id, field="id"
        )
    data = row.photo_thumbnail if thumbnail else row.photo
    if data is None:  # a photo is stored with its thumbnail
        raise NotFound(
            "care photo {id} not found", key="care_photo_not_found", id=care_id, field="id"
        )
    return data


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


def qr(url: str, *, kind: str) -> tuple[bytes, str]:
    """A QR code of the card's URL, PNG (for screens) or SVG (for print shops)."""
    import segno

    code = segno.make(url, error="m")
    out = io.BytesIO()
    if kind == "svg":
        code.save(out, kind="svg", scale=8, border=4)
        return out.getvalue(), "image/svg+xml"
    code.save(out, kind="png", scale=8, border=4)
    return out.getvalue(), "image/png"


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
