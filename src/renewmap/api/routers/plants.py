"""Plant adoption and growth ID cards (thin: see services.design.adoption).

Like supports, adoption and care are tied to the resident's device cookie (stored only as a
keyed hash) and need the double-submit CSRF header.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Response, UploadFile
from pydantic import BaseModel, Field

from renewmap.api.deps import IdPath, PublicBase, ReadSession, ResidentDevice, WriteSession
from renewmap.api.responses import JPEG, content
from renewmap.api.schemas.design import PlantCard
from renewmap.errors import NotFound
from renewmap.services.design import adoption
from renewmap.services.requests.photos import MAX_PHOTO_BYTES

router = APIRouter(tags=["plants"])


class AdoptIn(BaseModel):
    nickname: str = Field(max_length=40)
    phone: str | None = Field(None, max_length=32, description="seen only by staff in scope")


class CareIn(BaseModel):
    kind: str = Field(description="watering, pruning, fertilising or note")
    note: str | None = Field(None, max_length=500)


@router.get("/api/plants/{plant_id}", response_model=PlantCard, summary="A plant's growth ID card")
def card(plant_id: IdPath, session: ReadSession) -> dict[str, Any]:
    return adoption.card(session, plant_id=plant_id)


@router.post(
    "/api/plants/{plant_id}/adoption",
    status_code=201,
    response_model=PlantCard,
    summary="Adopt a plant",
)
def adopt(
    plant_id: IdPath, body: AdoptIn, session: WriteSession, device: ResidentDevice
) -> dict[str, Any]:
    return adoption.adopt(
        session,
        plant_id=plant_id,
        nickname=body.nickname,
        phone=body.phone,
        device_hash=device,
    )


@router.post(
    "/api/plants/{plant_id}/care",
    status_code=201,
    response_model=PlantCard,
    summary="Log care (the adopter)",
)
def care(
    plant_id: IdPath, body: CareIn, session: WriteSession, device: ResidentDevice
) -> dict[str, Any]:
    return adoption.log_care(
        session,
        plant_id=plant_id,
        device_hash=device,
        kind=body.kind,
        note=body.note,
    )


@router.post(
    "/api/plants/{plant_id}/care/photo",
    status_code=201,
    response_model=PlantCard,
    summary="Log care with a photo (the adopter; multipart)",
)
def care_photo(
    plant_id: IdPath,
    session: WriteSession,
    device: ResidentDevice,
    file: Annotated[UploadFile, File()],
    note: Annotated[str | None, Form(max_length=500)] = None,
) -> dict[str, Any]:
    return adoption.log_care(
        session,
        plant_id=plant_id,
        device_hash=device,
        kind="photo",
        note=note,
        photo=(file.filename or "photo", file.file.read(MAX_PHOTO_BYTES + 1)),
    )


@router.get(
    "/api/plant-care/{care_id}/{size}",
    response_class=Response,
    responses=content(JPEG, description="the care photo or its thumbnail (JPEG)"),
    summary="Care photo",
)
def care_photo_file(care_id: IdPath, size: str, session: ReadSession) -> Response:
    if size not in ("photo", "thumbnail"):
        raise NotFound(f"no '{size}' for care {care_id}", field="size")
    data = adoption.care_photo(session, care_id=care_id, thumbnail=size == "thumbnail")
    return Response(
        data, media_type="image/jpeg", headers={"Cache-Control": "public, max-age=86400"}
    )


@router.get(
    "/p/{plant_id}/qr.{kind}",
    response_class=Response,
    responses=content("image/png", "image/svg+xml", description="the QR code (kind png or svg)"),
    summary="QR code of the card",
)
def qr(plant_id: IdPath, kind: str, session: ReadSession, base: PublicBase) -> Response:
    adoption.card(session, plant_id=plant_id)  # 404 for a plant that does not exist
    if kind not in ("png", "svg"):
        return Response(status_code=404)
    data, media = adoption.qr(f"{base}/p/{plant_id}", kind=kind)
    return Response(data, media_type=media, headers={"Cache-Control": "public, max-age=86400"})
