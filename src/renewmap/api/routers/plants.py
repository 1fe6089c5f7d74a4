"""Plant adoption and growth ID cards (thin: see services.design.adoption).

Like supports, adoption and care are tied to the resident's device cookie (stored only as a
keyed hash) and need the double-submit CSRF header.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, Field

from renewmap import printing
from renewmap.api import uploads
from renewmap.api.deps import (
    IdPath,
    MaybeDevice,
    PublicBase,
    ReadSession,
    ResidentDevice,
    SettingsDep,
    WriteSession,
)
from renewmap.api.limits import body
from renewmap.api.responses import JPEG, content, stored_file
from renewmap.api.routing import TransactionalRoute
from renewmap.api.schemas.design import ClaimIn, PlantCard, TransferCode
from renewmap.errors import NotFound
from renewmap.i18n import negotiate
from renewmap.services.design import adoption
from renewmap.services.requests.photos import MAX_PHOTO_BYTES
from renewmap.validation import RequiredText, Text
from renewmap.web.plants import tag_svg

router = APIRouter(tags=["plants"], route_class=TransactionalRoute)


class AdoptIn(BaseModel):
    nickname: Annotated[RequiredText, Field(max_length=40)]
    phone: Annotated[
        Text | None, Field(max_length=32, description="seen only by staff in scope")
    ] = None


class CareIn(BaseModel):
    kind: str = Field(description="watering, pruning, fertilising or note")
    note: Annotated[Text | None, Field(max_length=500)] = None


@router.get("/api/plants/{plant_id}", response_model=PlantCard, summary="A plant's growth ID card")
def card(plant_id: IdPath, session: ReadSession, device: MaybeDevice) -> dict[str, Any]:
    return adoption.card(session, plant_id=plant_id, device_hash=device)


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


def adopter_device(plant_id: IdPath, session: ReadSession, device: ResidentDevice) -> str:
    """The adopter's device (CSRF, device cookie, rate limit), checked before a photo is read."""
    adoption.require_adopter(session, plant_id=plant_id, device_hash=device)
    return device


class CarePhotoForm(BaseModel):
    note: Annotated[Text | None, Field(max_length=500)] = None
    kind: Annotated[
        str, Field(max_length=16, description="watering, pruning, fertilising, note or photo")
    ] = "photo"


@router.post(
    "/api/plants/{plant_id}/care/photo",
    status_code=201,
    response_model=PlantCard,
    summary="Log care with a photo (the adopter; multipart)",
    openapi_extra=uploads.multipart_doc(CarePhotoForm, file=False),
)
@body("photos")
def care_photo(
    plant_id: IdPath,
    device: Annotated[str, Depends(adopter_device)],
    session: WriteSession,
    form: uploads.UploadForm,
) -> dict[str, Any]:
    (photo,) = uploads.files(form, "file", limit=MAX_PHOTO_BYTES, at_most=1, required=True)
    fields = uploads.fields(form, CarePhotoForm)
    return adoption.log_care(
        session,
        plant_id=plant_id,
        device_hash=device,
        kind=fields.kind,
        note=fields.note,
        photo=photo,
    )


@router.get(
    "/api/plant-care/{care_id}/{size}",
    response_class=Response,
    responses=content(JPEG, description="the care photo or its thumbnail (JPEG)"),
    summary="Care photo",
)
def care_photo_file(care_id: IdPath, size: str, session: ReadSession, request: Request) -> Response:
    if size not in ("photo", "thumbnail"):
        raise NotFound(
            "no '{size}' for care {id}", key="care_photo_size", size=size, id=care_id, field="size"
        )
    data = adoption.care_photo(session, care_id=care_id, thumbnail=size == "thumbnail")
    return stored_file(request, data, JPEG, cache_control="public, max-age=86400")


@router.get(
    "/p/{plant_id}/qr.{kind}",
    response_class=Response,
    responses=content("image/png", "image/svg+xml", description="the QR code (kind png or svg)"),
    summary="QR code of the card",
)
def qr(plant_id: IdPath, kind: str, session: ReadSession, base: PublicBase) -> Response:
    adoption.card(session, plant_id=plant_id)  # 404 for a plant that does not exist
    if kind not in printing.QR_KINDS:
        return Response(status_code=404)
    data, media = printing.qr(f"{base}/p/{plant_id}", kind=kind)
    return Response(data, media_type=media, headers={"Cache-Control": "public, max-age=86400"})


@router.get(
    "/p/{plant_id}/tag.{kind}",
    response_class=Response,
    responses={
        **content(
            "image/png",
            "image/svg+xml",
            "application/pdf",
            description="the plant's printable tag: name, species, caption and QR code",
        ),
        503: {"description": "no font with Chinese characters on the server (PNG, PDF)"},
    },
    summary="Printable tag of the plant (png, svg or pdf)",
)
def plant_tag(
    plant_id: IdPath,
    kind: str,
    request: Request,
    session: ReadSession,
    base: PublicBase,
    lang: str | None = None,
) -> Response:
    locale = negotiate(lang, request.cookies.get("rm_lang"), request.headers.get("accept-language"))
    tag = adoption.tag(session, plant_id=plant_id, url=f"{base}/p/{plant_id}", locale=locale)
    if kind not in printing.TAG_KINDS:
        raise NotFound(
            "no tag as '{kind}': png, svg or pdf", key="tag_kind_unknown", kind=kind, field="kind"
        )
    if kind == "svg":
        data, media = tag_svg(tag), printing.MEDIA["svg"]
    else:
        data, media = printing.plant_tag(tag, kind=kind)
    headers = {
        "Cache-Control": "no-cache",
        "Content-Disposition": f'inline; filename="plant-{plant_id}-tag.{kind}"',
        "Vary": "Cookie, Accept-Language",
    }
    return Response(data, media_type=media, headers=headers)


@router.post(
    "/api/plants/{plant_id}/adoption/transfer-code",
    status_code=201,
    response_model=TransferCode,
    summary="On the adopter's phone: a code that moves the adoption to a new phone",
)
def transfer_code(
    plant_id: IdPath, session: WriteSession, device: ResidentDevice, settings: SettingsDep
) -> dict[str, Any]:
    return adoption.transfer_code(
        session, plant_id=plant_id, device_hash=device, secret=settings.secret_key
    )


@router.post(
    "/api/plants/{plant_id}/adoption/claim",
    response_model=PlantCard,
    summary="On the new phone: the code from the old one makes this phone the adopter's",
)
def claim(
    plant_id: IdPath,
    body: ClaimIn,
    session: WriteSession,
    device: ResidentDevice,
    settings: SettingsDep,
) -> dict[str, Any]:
    return adoption.claim(
        session, plant_id=plant_id, code=body.code, device_hash=device, secret=settings.secret_key
    )
