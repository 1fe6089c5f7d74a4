"""Participation records (thin: see services.records): the meetings register, proposals, the
counts per community and subdistrict, and their exports. Staff only, in scope, except the
public list of proposals whose proposers agreed."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field

from renewmap.api import uploads
from renewmap.api.deps import (
    AnyReader,
    IdPath,
    Limiter,
    Locale,
    MaybeStaff,
    PublicCode,
    ReadSession,
    ResidentDevice,
    SettingsDep,
    Staff,
    WriteSession,
    rate_limit,
)
from renewmap.api.html import csp_nonce, html_page, page_locale, time_zone, to_login
from renewmap.api.limits import body
from renewmap.api.responses import CSV, JPEG, XLSX, content, stored_file
from renewmap.api.routers.sites import guarded_code
from renewmap.api.schemas.common import Id
from renewmap.api.schemas.records import (
    CommunityCounts,
    ConventionAgreed,
    ConventionOut,
    Conventions,
    Disclosure,
    Ledger,
    MeetingFile,
    MeetingOut,
    MeetingRegister,
    PersonOut,
    PublicEvents,
    PublicProposals,
    Roster,
    SignedUp,
    StaffEvent,
    StaffEvents,
    StaffMoney,
    StaffProposal,
    StaffProposals,
    SubdistrictCounts,
    TeamOut,
)
from renewmap.services.design import process
from renewmap.services.ingest.files import ATTACHMENT_TYPES, MAX_ATTACHMENT
from renewmap.services.records import (
    access,
    conventions,
    counts,
    events,
    exports,
    meetings,
    money,
    people,
    points,
    proposals,
)
from renewmap.services.records.common import MAX_YEAR, MIN_YEAR
from renewmap.services.requests.photos import MAX_PHOTO_BYTES
from renewmap.validation import RequiredText, Text
from renewmap.vocabulary import MAX_ID, MIN_ID
from renewmap.web import records as web

router = APIRouter(tags=["records"])
PREFIX = "/api/records"

ShortText = Annotated[Text | None, Field(max_length=200)]
LongText = Annotated[Text | None, Field(max_length=20_000)]
Day = Annotated[str, Field(max_length=10, description="YYYY-MM-DD")]


class AttendeeIn(BaseModel):
    role: str = Field(max_length=32, description="a party's code or 'resident'")
    name: Annotated[Text | None, Field(max_length=100)] = None
    person: Id | None = Field(None, description="a person of the roster (their name is kept there)")
    count: int = Field(1, ge=1, le=10_000, description="people of this line")


class StepIn(BaseModel):
    site: str = Field(max_length=64, description="the site's code")
    stage: str = Field(max_length=32, description="joint_meeting or final_joint_meeting")


class MeetingIn(BaseModel):
    kind: str = Field(max_length=32)
    title: Annotated[RequiredText, Field(max_length=200)]
    held_on: Day
    place: ShortText = None
    point: dict[str, Any] | None = Field(None, description="GeoJSON Point of the place")
    parties: list[Annotated[str, Field(max_length=32)]] = Field(default_factory=list, max_length=20)
    attendees: list[AttendeeIn] = Field(default_factory=list, max_length=200)
    minutes: LongText = None
    decisions: LongText = None
    requests: list[Id] = Field(default_factory=list, max_length=200, description="request ids")
    proposals: list[Id] = Field(
        default_factory=list, max_length=200, description="proposal numbers"
    )
    sites: list[Annotated[str, Field(max_length=64)]] = Field(default_factory=list, max_length=50)
    step: StepIn | None = Field(None, description="the site's process step this meeting is")


class MeetingEdit(MeetingIn):
    version: Id = Field(description="the version you edited (409 if stale)")


class NoFields(BaseModel):
    """A form with nothing but its file."""


class ProposalPhotoForm(BaseModel):
    caption: Annotated[Text | None, Field(max_length=200)] = None


class ProposalIn(BaseModel):
    title: Annotated[RequiredText, Field(max_length=200)]
    body: Annotated[RequiredText, Field(max_length=5000)]
    proposer_kind: str = Field(max_length=16, description="resident or partner")
    proposer_name: Annotated[Text | None, Field(max_length=100)] = None
    proposer_phone: Annotated[Text | None, Field(max_length=32)] = None
    public: bool = Field(False, description="the proposer agreed to show it to residents")
    shown_as: Annotated[Text | None, Field(max_length=40)] = None
    submitted_on: Day
    geometry: dict[str, Any] | None = Field(None, description="GeoJSON place or area")


class MoveIn(BaseModel):
    version: Id
    status: str = Field(max_length=16)
    reason: Annotated[Text | None, Field(max_length=2000)] = None
    site: str | None = Field(None, max_length=64, description="the site it became (its code)")


class PublicIn(BaseModel):
    public: bool
    shown_as: Annotated[Text | None, Field(max_length=40)] = None


class FundLineIn(BaseModel):
    kind: str = Field(max_length=16, description="budget, income, spending, material or pledge")
    source: str | None = Field(None, max_length=32, description="for income and pledges")
    item: Annotated[Text | None, Field(max_length=200)] = None
    amount: Decimal | None = Field(
        None, gt=0, max_digits=12, description="yuan, at most two decimals"
    )
    quantity: float | None = Field(None, gt=0, le=1e9, allow_inf_nan=False)
    unit: Annotated[Text | None, Field(max_length=16)] = None
    contributor: Annotated[Text | None, Field(max_length=100)] = None
    contact: Annotated[Text | None, Field(max_length=32)] = None
    day: Day


class PersonIn(BaseModel):
    name: Annotated[RequiredText, Field(max_length=100)]
    phone: Annotated[Text | None, Field(max_length=32)] = None
    roles: list[Annotated[str, Field(max_length=16)]] = Field(
        max_length=3, description="volunteer, partner, party_volunteer"
    )
    partner_kind: str | None = Field(
        None, max_length=16, description="think_tank, planning, governance, media, education"
    )
    organisation: Annotated[Text | None, Field(max_length=200)] = None
    skills: list[Annotated[Text, Field(max_length=40)]] = Field(default_factory=list, max_length=20)
    consent_on: Day | None = Field(None, description="the day they agreed to be on the roster")
    joined_on: Day | None = None


class PersonEdit(PersonIn):
    version: Id


class PersonLinkIn(BaseModel):
    target: str = Field(max_length=16, description="site, patrol or adoption")
    site: str | None = Field(None, max_length=64, description="the site's code")
    id: Id | None = Field(None, description="the patrol's or adoption's id")


class TeamIn(BaseModel):
    name: Annotated[RequiredText, Field(max_length=100)]
    purpose: Annotated[Text | None, Field(max_length=200)] = None
    founded_on: Day


class JoinIn(BaseModel):
    people: list[Id] = Field(min_length=1, max_length=500)
    joined_on: Day


class LeaveIn(BaseModel):
    person: Id
    left_on: Day


class ConventionIn(BaseModel):
    title: Annotated[RequiredText, Field(max_length=200)]
    scope: str = Field(max_length=16, description="building, stairwell or facility")
    building: str | None = Field(None, max_length=32, description="the building's number")
    unit: Annotated[Text | None, Field(max_length=32)] = None
    facility: Annotated[Text | None, Field(max_length=100)] = None
    households: int | None = Field(None, ge=1, le=100_000)
    point: dict[str, Any] | None = Field(None, description="GeoJSON Point of a facility")
    body: Annotated[RequiredText, Field(max_length=20_000)]
    adopted_on: Day
    agreed: int | None = Field(
        None,
        ge=0,
        le=100_000,
        description="households that agreed (counted by staff; left out where households "
        "agree with their consultation codes)",
    )


class ConventionVersionIn(BaseModel):
    body: Annotated[RequiredText, Field(max_length=20_000)]
    adopted_on: Day
    agreed: int | None = Field(None, ge=0, le=100_000)


class AgreeIn(BaseModel):
    code: Annotated[RequiredText, Field(max_length=20, description="7K2M-9P4Q")]


class EventIn(BaseModel):
    kind: str = Field(max_length=32)
    title: Annotated[RequiredText, Field(max_length=200)]
    description: LongText = None
    day: Day
    time: str | None = Field(None, max_length=5, description="HH:MM, the community's local time")
    place: ShortText = None
    point: dict[str, Any] | None = Field(None, description="GeoJSON Point of the place")
    capacity: int | None = Field(None, ge=1, le=10_000)
    public: bool = True


class SignUpIn(BaseModel):
    name: Annotated[RequiredText, Field(max_length=100)]
    phone: Annotated[Text | None, Field(max_length=32)] = None
    party: int = Field(1, ge=1, le=10, description="people coming")


class StaffSignUpIn(BaseModel):
    person: Id | None = None
    name: Annotated[Text | None, Field(max_length=100)] = None
    phone: Annotated[Text | None, Field(max_length=32)] = None
    party: int = Field(1, ge=1, le=10)
    attended: bool = False


class AttendedIn(BaseModel):
    attended: bool


class WalkInsIn(BaseModel):
    walk_ins: int = Field(ge=0, le=100_000)
    version: Id


class PointsIn(BaseModel):
    person: Id
    kind: str = Field(max_length=16)
    day: Day
    hours: float | None = Field(None, gt=0, le=24, allow_inf_nan=False)
    source: Id | None = Field(None, description="the patrol, care log or event sign-up")
    points: int | None = Field(None, ge=1, le=100_000, description="spent (redemptions)")
    item: Annotated[Text | None, Field(max_length=200)] = None


def may_keep_meeting(meeting_id: IdPath, session: WriteSession, me: Staff) -> None:
    """The meeting exists in the caller's area and they keep it: checked before a file is read."""
    meetings.keeper_check(session, principal=me, meeting_id=meeting_id)


def may_keep_proposal(code: str, number: IdPath, session: WriteSession, me: Staff) -> None:
    """The proposal exists in the caller's area and they keep it: checked before a photo is
    read."""
    proposals.keeper_check(session, principal=me, community_code=code, number=number)


# --- meetings -----------------------------------------------------------------------------------


@router.get(
    f"{PREFIX}/communities/{{code}}/meetings",
    response_model=MeetingRegister,
    summary="The community's meetings register (newest first)",
)
def meeting_register(
    code: str,
    session: ReadSession,
    me: Staff,
    year: Annotated[int | None, Query(ge=MIN_YEAR, le=MAX_YEAR)] = None,
) -> dict[str, Any]:
    return meetings.register(session, principal=me, community_code=code, year=year)


@router.post(
    f"{PREFIX}/communities/{{code}}/meetings",
    status_code=201,
    response_model=MeetingOut,
    summary="Register a meeting",
)
def record_meeting(code: str, data: MeetingIn, session: WriteSession, me: Staff) -> dict[str, Any]:
    return meetings.record(
        session, principal=me, community_code=code, data=data.model_dump(mode="python")
    )


@router.get(f"{PREFIX}/meetings/{{meeting_id}}", response_model=MeetingOut, summary="A meeting")
def meeting(meeting_id: IdPath, session: ReadSession, me: Staff) -> dict[str, Any]:
    return meetings.one(session, principal=me, meeting_id=meeting_id)


@router.put(
    f"{PREFIX}/meetings/{{meeting_id}}", response_model=MeetingOut, summary="Rewrite a meeting"
)
def update_meeting(
    meeting_id: IdPath, data: MeetingEdit, session: WriteSession, me: Staff
) -> dict[str, Any]:
    fields = data.model_dump(mode="python")
    version = fields.pop("version")
    return meetings.update(
        session, principal=me, meeting_id=meeting_id, version=version, data=fields
    )


@router.delete(
    f"{PREFIX}/meetings/{{meeting_id}}",
    status_code=204,
    response_class=Response,
    summary="Delete a meeting recorded by mistake",
)
def delete_meeting(meeting_id: IdPath, session: WriteSession, me: Staff) -> Response:
    meetings.remove(session, principal=me, meeting_id=meeting_id)
    return Response(status_code=204)


@router.post(
    f"{PREFIX}/meetings/{{meeting_id}}/files",
    status_code=201,
    response_model=MeetingFile,
    summary="Keep a file with a meeting (PDF, image, text, Office; ≤ 10 MB)",
    dependencies=[Depends(may_keep_meeting)],
    openapi_extra=uploads.multipart_doc(NoFields, file=False),
)
@body("files")
def attach(
    meeting_id: IdPath, session: WriteSession, me: Staff, form: uploads.UploadForm
) -> dict[str, Any]:
    ((filename, data),) = uploads.files(
        form, "file", limit=MAX_ATTACHMENT, at_most=1, required=True
    )
    return meetings.attach(
        session, principal=me, meeting_id=meeting_id, filename=filename, data=data
    )


@router.get(
    f"{PREFIX}/meeting-files/{{attachment_id}}",
    response_class=Response,
    responses=content(*sorted(ATTACHMENT_TYPES), description="the file, as uploaded"),
    summary="A meeting's file (staff in scope)",
)
def meeting_file(
    attachment_id: IdPath, session: ReadSession, me: Staff, request: Request
) -> Response:
    data, media, name = meetings.attachment(session, principal=me, attachment_id=attachment_id)
    return stored_file(
        request,
        data,
        media,
        cache_control="private, no-store",
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}",
            "X-Content-Type-Options": "nosniff",
        },
    )


# --- proposals ----------------------------------------------------------------------------------


@router.get(
    "/api/communities/{code}/proposals",
    response_model=PublicProposals,
    summary="Proposals residents may read (their proposers agreed; no contact details)",
)
def public_proposals(code: PublicCode, session: ReadSession) -> dict[str, Any]:
    return proposals.public_list(session, community_code=code)


@router.get(
    f"{PREFIX}/communities/{{code}}/proposals",
    response_model=StaffProposals,
    summary="Every proposal of the community, with its proposer (staff in scope)",
)
def staff_proposals(code: str, session: ReadSession, me: Staff) -> dict[str, Any]:
    return proposals.staff_list(session, principal=me, community_code=code)


@router.post(
    f"{PREFIX}/communities/{{code}}/proposals",
    status_code=201,
    response_model=StaffProposal,
    summary="Record a proposal as handed in (it gets the next number)",
)
def submit_proposal(
    code: str, data: ProposalIn, session: WriteSession, me: Staff
) -> dict[str, Any]:
    return proposals.submit(
        session, principal=me, community_code=code, data=data.model_dump(mode="python")
    )


@router.get(
    f"{PREFIX}/communities/{{code}}/proposals/{{number}}",
    response_model=StaffProposal,
    summary="A proposal with its proposer and the meetings that discussed it",
)
def proposal(code: str, number: IdPath, session: ReadSession, me: Staff) -> dict[str, Any]:
    return proposals.one(session, principal=me, community_code=code, number=number)


@router.post(
    f"{PREFIX}/communities/{{code}}/proposals/{{number}}/status",
    response_model=StaffProposal,
    summary="Move a proposal on (under discussion, adopted, became a site, declined)",
)
def move_proposal(
    code: str, number: IdPath, data: MoveIn, session: WriteSession, me: Staff
) -> dict[str, Any]:
    return proposals.move(
        session,
        principal=me,
        community_code=code,
        number=number,
        version=data.version,
        status=data.status,
        reason=data.reason,
        site_code=data.site,
    )


@router.post(
    f"{PREFIX}/communities/{{code}}/proposals/{{number}}/public",
    response_model=StaffProposal,
    summary="Show a proposal to residents (its proposer agreed) or take it back",
)
def proposal_public(
    code: str, number: IdPath, data: PublicIn, session: WriteSession, me: Staff
) -> dict[str, Any]:
    return proposals.set_public(
        session,
        principal=me,
        community_code=code,
        number=number,
        public=data.public,
        shown_as=data.shown_as,
    )


@router.post(
    f"{PREFIX}/communities/{{code}}/proposals/{{number}}/photos",
    status_code=201,
    response_model=StaffProposal,
    summary="A photo handed in with the proposal (JPEG, PNG or WebP; re-encoded without "
    "metadata; at most 3 per proposal)",
    dependencies=[Depends(may_keep_proposal)],
    openapi_extra=uploads.multipart_doc(ProposalPhotoForm, file=False),
)
@body("photos")
def add_proposal_photo(
    code: str, number: IdPath, session: WriteSession, me: Staff, form: uploads.UploadForm
) -> dict[str, Any]:
    f = uploads.fields(form, ProposalPhotoForm)
    ((filename, data),) = uploads.files(
        form, "file", limit=MAX_PHOTO_BYTES, at_most=1, required=True
    )
    return proposals.add_photo(
        session,
        principal=me,
        community_code=code,
        number=number,
        filename=filename,
        data=data,
        caption=f.caption,
    )


@router.delete(
    f"{PREFIX}/communities/{{code}}/proposals/{{number}}/photos/{{photo_id}}",
    response_model=StaffProposal,
    summary="Take a photo off the proposal",
)
def remove_proposal_photo(
    code: str, number: IdPath, photo_id: IdPath, session: WriteSession, me: Staff
) -> dict[str, Any]:
    return proposals.remove_photo(
        session, principal=me, community_code=code, number=number, photo_id=photo_id
    )


def _proposal_photo(
    request: Request, session: Any, me: Any, photo_id: int, *, thumbnail: bool
) -> Response:
    data, media, public = proposals.photo_bytes(
        session, principal=me, photo_id=photo_id, thumbnail=thumbnail
    )
    # a proposal can be taken back from residents: shared caches keep its photos an hour at most
    cache = "public, max-age=3600" if public else "private, no-store"
    return stored_file(request, data, media, cache_control=cache)


@router.get(
    "/api/proposal-photos/{photo_id}",
    response_class=Response,
    responses=content(JPEG, description="the photo (JPEG)"),
    summary="A proposal's photo (anyone while the proposal is public; otherwise staff in scope)",
)
def proposal_photo(
    photo_id: IdPath, session: ReadSession, me: AnyReader, request: Request
) -> Response:
    return _proposal_photo(request, session, me, photo_id, thumbnail=False)


@router.get(
    "/api/proposal-photos/{photo_id}/thumbnail",
    response_class=Response,
    responses=content(JPEG, description="its thumbnail (JPEG)"),
    summary="A proposal photo's thumbnail",
)
def proposal_photo_thumbnail(
    photo_id: IdPath, session: ReadSession, me: AnyReader, request: Request
) -> Response:
    return _proposal_photo(request, session, me, photo_id, thumbnail=True)


# --- people and teams ---------------------------------------------------------------------------


@router.get(
    f"{PREFIX}/communities/{{code}}/people",
    response_model=Roster,
    summary="The roster (names and phones) and teams: staff in scope",
)
def roster(code: str, session: ReadSession, me: Staff) -> dict[str, Any]:
    return people.roster(session, principal=me, community_code=code)


@router.post(
    f"{PREFIX}/communities/{{code}}/people",
    status_code=201,
    response_model=PersonOut,
    summary="Put a person on the roster (with the day they consented)",
)
def add_person(code: str, data: PersonIn, session: WriteSession, me: Staff) -> dict[str, Any]:
    return people.add(
        session, principal=me, community_code=code, data=data.model_dump(mode="python")
    )


@router.get(f"{PREFIX}/people/{{person_id}}", response_model=PersonOut, summary="A person")
def person(person_id: IdPath, session: ReadSession, me: Staff) -> dict[str, Any]:
    return people.one(session, principal=me, person_id=person_id)


@router.put(f"{PREFIX}/people/{{person_id}}", response_model=PersonOut, summary="Edit a person")
def edit_person(
    person_id: IdPath, data: PersonEdit, session: WriteSession, me: Staff
) -> dict[str, Any]:
    fields = data.model_dump(mode="python")
    version = fields.pop("version")
    return people.update(session, principal=me, person_id=person_id, version=version, data=fields)


@router.delete(
    f"{PREFIX}/people/{{person_id}}",
    response_model=PersonOut,
    summary="Remove a person on request: details erased, their records stay anonymous",
)
def remove_person(
    person_id: IdPath, session: WriteSession, me: Staff, settings: SettingsDep
) -> dict[str, Any]:
    return people.remove(session, principal=me, person_id=person_id, tz=settings.time_zone)


@router.post(
    f"{PREFIX}/people/{{person_id}}/links",
    response_model=PersonOut,
    summary="Link a person to a site, a patrol or a plant adoption",
)
def link_person(
    person_id: IdPath, data: PersonLinkIn, session: WriteSession, me: Staff
) -> dict[str, Any]:
    return people.link(
        session,
        principal=me,
        person_id=person_id,
        target=data.target,
        site=data.site,
        target_id=data.id,
    )


@router.post(
    f"{PREFIX}/communities/{{code}}/teams",
    status_code=201,
    response_model=TeamOut,
    summary="Found a team",
)
def create_team(code: str, data: TeamIn, session: WriteSession, me: Staff) -> dict[str, Any]:
    return people.create_team(
        session, principal=me, community_code=code, data=data.model_dump(mode="python")
    )


@router.post(
    f"{PREFIX}/teams/{{team_id}}/members",
    response_model=TeamOut,
    summary="People of the roster join a team on a day",
)
def join_team(team_id: IdPath, data: JoinIn, session: WriteSession, me: Staff) -> dict[str, Any]:
    return people.join(
        session, principal=me, team_id=team_id, person_ids=data.people, joined_on=data.joined_on
    )


@router.post(
    f"{PREFIX}/teams/{{team_id}}/leave",
    response_model=TeamOut,
    summary="A member leaves a team on a day",
)
def leave_team(team_id: IdPath, data: LeaveIn, session: WriteSession, me: Staff) -> dict[str, Any]:
    return people.leave(
        session, principal=me, team_id=team_id, person_id=data.person, left_on=data.left_on
    )


# --- conventions --------------------------------------------------------------------------------


@router.get(
    "/api/communities/{code}/conventions",
    response_model=Conventions,
    summary="The community's conventions (公约) with their versions and households agreed",
)
def conventions_list(code: PublicCode, session: ReadSession) -> dict[str, Any]:
    return conventions.public_list(session, community_code=code)


@router.post(
    f"{PREFIX}/communities/{{code}}/conventions",
    status_code=201,
    response_model=ConventionOut,
    summary="A new convention of a building, stairwell or facility, with its first version",
)
def create_convention(
    code: str, data: ConventionIn, session: WriteSession, me: Staff
) -> dict[str, Any]:
    return conventions.create(
        session, principal=me, community_code=code, data=data.model_dump(mode="python")
    )


@router.post(
    f"{PREFIX}/conventions/{{convention_id}}/versions",
    status_code=201,
    response_model=ConventionOut,
    summary="A new version of a convention (earlier ones stay readable)",
)
def convention_version(
    convention_id: IdPath, data: ConventionVersionIn, session: WriteSession, me: Staff
) -> dict[str, Any]:
    return conventions.add_version(
        session, principal=me, convention_id=convention_id, data=data.model_dump(mode="python")
    )


@router.post(
    "/api/communities/{code}/conventions/{convention_id}/agree",
    response_model=ConventionAgreed,
    summary="A household agrees to the convention's current version with its household code "
    "(once per household and version)",
    responses={
        404: {"description": "not a code of the households it binds"},
        409: {"description": "agreed already, or the code is held by another phone"},
        429: {"description": "too many wrong codes"},
    },
)
def agree_to_convention(
    code: str,
    convention_id: IdPath,
    body: AgreeIn,
    request: Request,
    session: WriteSession,
    device: ResidentDevice,
    settings: SettingsDep,
    limiter: Limiter,
    locale: Locale,
) -> dict[str, Any]:
    return guarded_code(
        request,
        limiter,
        f"{code}/conventions",
        lambda: conventions.agree(
            session,
            secret=settings.secret_key,
            community_code=code,
            convention_id=convention_id,
            code=body.code,
            device_hash=device,
            locale=locale,
        ),
    )


@router.post(
    f"{PREFIX}/communities/{{code}}/conventions/{{convention_id}}/agree",
    response_model=ConventionAgreed,
    summary="Staff enter a household's agreement given on paper, with the code on its form",
    responses={404: {"description": "not a code of the households it binds"}},
)
def agree_on_paper(
    code: str,
    convention_id: IdPath,
    body: AgreeIn,
    session: WriteSession,
    settings: SettingsDep,
    me: Staff,
    locale: Locale,
) -> dict[str, Any]:
    return conventions.agree(
        session,
        secret=settings.secret_key,
        community_code=code,
        convention_id=convention_id,
        code=body.code,
        device_hash=None,
        principal=me,
        locale=locale,
    )


# --- events and points --------------------------------------------------------------------------


@router.get(
    "/api/communities/{code}/events",
    response_model=PublicEvents,
    summary="The community's public events (nobody who signed up is named)",
)
def public_events(code: PublicCode, session: ReadSession) -> dict[str, Any]:
    return events.public_list(session, community_code=code)


@router.post(
    "/api/communities/{code}/events/{event_id}/signups",
    status_code=201,
    response_model=SignedUp,
    summary="Sign up for an event (a resident, once per device)",
    dependencies=[rate_limit("post")],
)
def sign_up(
    code: PublicCode,
    event_id: IdPath,
    data: SignUpIn,
    session: WriteSession,
    device: ResidentDevice,
    settings: SettingsDep,
) -> dict[str, Any]:
    return events.sign_up(
        session,
        community_code=code,
        event_id=event_id,
        name=data.name,
        phone=data.phone,
        party=data.party,
        device_hash=device,
        tz=settings.time_zone,
    )


@router.get(
    f"{PREFIX}/communities/{{code}}/events",
    response_model=StaffEvents,
    summary="Every event with who signed up and came (staff in scope)",
)
def staff_events(code: str, session: ReadSession, me: Staff) -> dict[str, Any]:
    return events.staff_list(session, principal=me, community_code=code)


@router.post(
    f"{PREFIX}/communities/{{code}}/events",
    status_code=201,
    response_model=StaffEvent,
    summary="Announce an event",
)
def create_event(code: str, data: EventIn, session: WriteSession, me: Staff) -> dict[str, Any]:
    return events.create(
        session, principal=me, community_code=code, data=data.model_dump(mode="python")
    )


@router.get(f"{PREFIX}/events/{{event_id}}", response_model=StaffEvent, summary="An event")
def event(event_id: IdPath, session: ReadSession, me: Staff) -> dict[str, Any]:
    return events.one(session, principal=me, event_id=event_id)


@router.post(
    f"{PREFIX}/events/{{event_id}}/signups",
    status_code=201,
    response_model=StaffEvent,
    summary="Enter a sign-up (a person of the roster, or a name as given)",
)
def staff_sign_up(
    event_id: IdPath, data: StaffSignUpIn, session: WriteSession, me: Staff
) -> dict[str, Any]:
    return events.staff_sign_up(
        session,
        principal=me,
        event_id=event_id,
        person_id=data.person,
        name=data.name,
        phone=data.phone,
        party=data.party,
        attended=data.attended,
    )


@router.post(
    f"{PREFIX}/event-signups/{{signup_id}}/attended",
    response_model=StaffEvent,
    summary="Tick a sign-up off as come (or not)",
)
def mark_attended(
    signup_id: IdPath, data: AttendedIn, session: WriteSession, me: Staff
) -> dict[str, Any]:
    return events.mark(session, principal=me, signup_id=signup_id, attended=data.attended)


@router.post(
    f"{PREFIX}/events/{{event_id}}/walk-ins",
    response_model=StaffEvent,
    summary="Count the people who came without signing up",
)
def walk_ins(event_id: IdPath, data: WalkInsIn, session: WriteSession, me: Staff) -> dict[str, Any]:
    return events.set_walk_ins(
        session, principal=me, event_id=event_id, walk_ins=data.walk_ins, version=data.version
    )


@router.get(
    f"{PREFIX}/communities/{{code}}/points",
    response_model=Ledger,
    summary="The points ledger and every balance (staff in scope)",
)
def points_ledger(
    code: str,
    session: ReadSession,
    me: Staff,
    person: Annotated[int | None, Query(ge=MIN_ID, le=MAX_ID)] = None,
) -> dict[str, Any]:
    return points.ledger(session, principal=me, community_code=code, person_id=person)


@router.post(
    f"{PREFIX}/communities/{{code}}/points",
    status_code=201,
    response_model=Ledger,
    summary="Points earned (volunteering, a patrol, a care log, an event) or redeemed",
)
def record_points(code: str, data: PointsIn, session: WriteSession, me: Staff) -> dict[str, Any]:
    return points.record(
        session, principal=me, community_code=code, data=data.model_dump(mode="python")
    )


# --- money and materials -----------------------------------------------------------------------


@router.get(
    f"{PREFIX}/communities/{{code}}/sites/{{site}}/money",
    response_model=StaffMoney,
    summary="A site's budget, sources, spending, materials and pledges, with who gave",
)
def site_money(code: str, site: str, session: ReadSession, me: Staff) -> dict[str, Any]:
    return money.staff_view(session, principal=me, community_code=code, site_code=site)


@router.post(
    f"{PREFIX}/communities/{{code}}/sites/{{site}}/money",
    status_code=201,
    response_model=StaffMoney,
    summary="Record a budget, source, spending, donated material or pledge line",
)
def record_money(
    code: str, site: str, data: FundLineIn, session: WriteSession, me: Staff
) -> dict[str, Any]:
    return money.record(
        session,
        principal=me,
        community_code=code,
        site_code=site,
        data=data.model_dump(mode="python"),
    )


@router.delete(
    f"{PREFIX}/money/{{line_id}}",
    status_code=204,
    response_class=Response,
    summary="Delete a money line entered by mistake",
)
def delete_money(line_id: IdPath, session: WriteSession, me: Staff) -> Response:
    money.remove(session, principal=me, line_id=line_id)
    return Response(status_code=204)


@router.get(
    "/api/sites/{code}/{site}/disclosure",
    response_model=Disclosure,
    summary="居务公开: a site's sources, spending and donated materials (nobody named)",
)
def disclosure(code: PublicCode, site: str, session: ReadSession) -> dict[str, Any]:
    return money.disclosure(session, community_code=code, site_code=site)


# --- counts and exports -------------------------------------------------------------------------


@router.get(
    f"{PREFIX}/communities/{{code}}/counts",
    response_model=CommunityCounts,
    summary="Meetings, attendances and proposals of the community per year",
)
def community_counts(code: str, session: ReadSession, me: Staff) -> dict[str, Any]:
    return counts.community_counts(session, principal=me, community_code=code)


@router.get(
    f"{PREFIX}/subdistricts/{{code}}/counts",
    response_model=SubdistrictCounts,
    summary="The same per community of a subdistrict, and their sum, per year",
)
def subdistrict_counts(code: str, session: ReadSession, me: Staff) -> dict[str, Any]:
    return counts.subdistrict_counts(session, principal=me, subdistrict_code=code)


TABLES = {"meetings": exports.meeting_table, "proposals": exports.proposal_table}


@router.get(
    f"{PREFIX}/communities/{{code}}/{{table}}.csv",
    response_class=Response,
    responses=content(CSV, description="one row per meeting or proposal"),
    summary="The meetings register or the proposals as CSV (UTF-8 with BOM, for Excel)",
)
def export_csv(
    code: str, table: Literal["meetings", "proposals"], session: ReadSession, me: Staff
) -> Response:
    _title, columns, rows = TABLES[table](session, principal=me, community_code=code)
    return Response(
        exports.to_csv(columns, rows),
        media_type=CSV,
        headers={"Content-Disposition": f'attachment; filename="{table}-{quote(code)}.csv"'},
    )


@router.get(
    f"{PREFIX}/communities/{{code}}/{{table}}.xlsx",
    response_class=Response,
    responses=content(XLSX, description="one row per meeting or proposal"),
    summary="The meetings register or the proposals as an Excel workbook",
)
def export_xlsx(
    code: str, table: Literal["meetings", "proposals"], session: ReadSession, me: Staff
) -> Response:
    title, columns, rows = TABLES[table](session, principal=me, community_code=code)
    return Response(
        exports.to_xlsx(title, columns, rows),
        media_type=XLSX,
        headers={"Content-Disposition": f'attachment; filename="{table}-{quote(code)}.xlsx"'},
    )


# --- pages --------------------------------------------------------------------------------------


@router.get("/c/{code}/proposals", response_class=HTMLResponse, include_in_schema=False)
def proposals_page(
    code: PublicCode, request: Request, session: ReadSession, lang: str | None = None
) -> HTMLResponse:
    """Residents: the community's proposals whose proposers agreed to show them, in a list and
    on the community's map."""
    from renewmap.api.routers.pages import PAGE_LAYERS
    from renewmap.services.places.layers import community_layers
    from renewmap.web.sitemap import online_tiles, site_plan

    locale = page_locale(request, lang)
    data = proposals.public_list(session, community_code=code)
    plan = site_plan(
        community_layers(session, community_code=code, kinds=PAGE_LAYERS),
        locale=locale,
        tiles=online_tiles(request.app.state.settings),
    )
    html = web.proposals_page(data, locale=locale, nonce=csp_nonce(request), plan=plan)
    return html_page(request, html, lang=lang, cache="no-cache")


@router.get(
    "/c/{code}/sites/{site}/disclosure", response_class=HTMLResponse, include_in_schema=False
)
def disclosure_page(
    code: PublicCode, site: str, request: Request, session: ReadSession, lang: str | None = None
) -> HTMLResponse:
    """Residents: 居务公开 of a site (sources, spending, donated materials)."""
    html = web.disclosure_page(
        money.disclosure(session, community_code=code, site_code=site),
        locale=page_locale(request, lang),
        nonce=csp_nonce(request),
    )
    return html_page(request, html, lang=lang, cache="no-cache")


@router.get("/c/{code}/conventions", response_class=HTMLResponse, include_in_schema=False)
def conventions_page(
    code: PublicCode, request: Request, session: ReadSession, lang: str | None = None
) -> HTMLResponse:
    """Residents: the community's conventions (公约), their versions and households agreed."""
    html = web.conventions_page(
        conventions.public_list(session, community_code=code),
        locale=page_locale(request, lang),
        nonce=csp_nonce(request),
    )
    return html_page(request, html, lang=lang, cache="no-cache")


@router.get("/c/{code}/events", response_class=HTMLResponse, include_in_schema=False)
def events_page(
    code: PublicCode, request: Request, session: ReadSession, lang: str | None = None
) -> HTMLResponse:
    """Residents: the community's events, with sign-up for those to come."""
    html = web.events_page(
        events.public_list(session, community_code=code),
        locale=page_locale(request, lang),
        nonce=csp_nonce(request),
        today=datetime.now(ZoneInfo(time_zone(request))).date().isoformat(),
    )
    return html_page(request, html, lang=lang, cache="no-cache")


@router.get("/staff/records", response_class=HTMLResponse, include_in_schema=False)
def staff_records(
    request: Request,
    session: ReadSession,
    principal: MaybeStaff,
    community: str | None = None,
    lang: str | None = None,
) -> Response:
    """Staff: keep the community's meetings register, proposals and money of its sites."""
    if principal is None:
        return to_login(request)
    mine = access.my_communities(session, principal=principal)
    chosen = next((c for c in mine if c["code"] == community), None) if community else mine[0]
    if chosen is None:
        raise access.not_in_scope(str(community))
    c = access.readable_community(session, principal=principal, code=chosen["code"])
    html = web.records_page(
        community={"code": c.code, "name": c.name},
        communities=[{"code": x["code"], "name": x["name"]} for x in mine],
        sites=process.sites(session, community_code=c.code),
        keeper=bool(chosen["keeper"]),
        locale=page_locale(request, lang),
        nonce=csp_nonce(request),
        time_zone=time_zone(request),
    )
    return html_page(request, html, lang=lang)
