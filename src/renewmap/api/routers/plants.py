"""Plant adoption and growth ID cards (thin: see services.design.adoption).

Like supports, adoption and care are tied to the resident's device cookie (stored only as a
keyed hash) and need the double-submit CSRF header.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Path, Request, Response, UploadFile
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from renewmap.api.deps import get_read_session, get_session, get_settings, public_base
from renewmap.api.routers.suggestions import DEVICE_COOKIE, _limit, require_csrf
from renewmap.errors import Forbidden, NotFound
from renewmap.services.design import adoption
from renewmap.services.requests.photos import MAX_PHOTO_BYTES
from renewmap.services.requests.suggestions import keyed_hash
from renewmap.settings import Settings
from renewmap.vocabulary import MAX_ID

router = APIRouter(tags=["plants"])
ReadSession = Annotated[Session, Depends(get_read_session, scope="function")]
WriteSession = Annotated[Session, Depends(get_session, scope="function")]
SettingsDep = Annotated[Settings, Depends(get_settings)]
PlantId = Annotated[int, Path(ge=1, le=MAX_ID)]


class AdoptIn(BaseModel):
    nickname: str = Field(max_length=40)
    phone: str | None = Field(None, max_length=32, description="seen only by staff in scope")


class CareIn(BaseModel):
    kind: str = Field(description="watering, pruning, fertilising or note")
    note: str | None = Field(None, max_length=500)


def resident_device(request: Request, settings: Settings) -> str:
    """The resident's device (keyed hash of its cookie) for a write; CSRF and rate checked."""
    require_csrf(request)
    device = request.cookies.get(DEVICE_COOKIE)
    if not device:
        raise Forbidden("no device cookie: GET /api/session first", field="cookie")
    _limit(request, "interact")
    return keyed_hash(settings.secret_key, device)


@router.get("/api/plants/{plant_id}", summary="A plant's growth ID card")
def card(plant_id: PlantId, session: ReadSession) -> dict[str, Any]:
    return adoption.card(session, plant_id=plant_id)


@router.post("/api/plants/{plant_id}/adoption", status_code=201, summary="Adopt a plant")
def adopt(
    plant_id: PlantId, body: AdoptIn, request: Request, session: WriteSession, settings: SettingsDep
) -> dict[str, Any]:
    return adoption.adopt(
        session,
        plant_id=plant_id,
        nickname=body.nickname,
        phone=body.phone,
        device_hash=resident_device(request, settings),
    )


@router.post("/api/plants/{plant_id}/care", status_code=201, summary="Log care (the adopter)")
def care(
    plant_id: PlantId, body: CareIn, request: Request, session: WriteSession, settings: SettingsDep
) -> dict[str, Any]:
    return adoption.log_care(
        session,
        plant_id=plant_id,
        device_hash=resident_device(request, settings),
        kind=body.kind,
        note=body.note,
    )


@router.post(
    "/api/plants/{plant_id}/care/photo",
    status_code=201,
    summary="Log care with a photo (the adopter; multipart)",
)
def care_photo(
    plant_id: PlantId,
    request: Request,
    session: WriteSession,
    settings: SettingsDep,
    file: Annotated[UploadFile, File()],
    note: Annotated[str | None, Form(max_length=500)] = None,
) -> dict[str, Any]:
    return adoption.log_care(
        session,
        plant_id=plant_id,
        device_hash=resident_device(request, settings),
        kind="photo",
        note=note,
        photo=(file.filename or "photo", file.file.read(MAX_PHOTO_BYTES + 1)),
    )


@router.get("/api/plant-care/{care_id}/{size}", response_class=Response, summary="Care photo")
def care_photo_file(care_id: PlantId, size: str, session: ReadSession) -> Response:
    if size not in ("photo", "thumbnail"):
        raise NotFound(f"no '{size}' for care {care_id}", field="size")
    data = adoption.care_photo(session, care_id=care_id, thumbnail=size == "thumbnail")
    return Response(
        data, media_type="image/jpeg", headers={"Cache-Control": "public, max-age=86400"}
    )


@router.get("/p/{plant_id}/qr.{kind}", response_class=Response, summary="QR code of the card")
def qr(plant_id: PlantId, kind: str, request: Request, session: ReadSession) -> Response:
    adoption.card(session, plant_id=plant_id)  # 404 for a plant that does not exist
    if kind not in ("png", "svg"):
        return Response(status_code=404)
    data, media = adoption.qr(f"{public_base(request)}/p/{plant_id}", kind=kind)
    return Response(data, media_type=media, headers={"Cache-Control": "public, max-age=86400"})
