"""GeoAlchemy2 models. All geometry columns are EPSG:4326 (x = longitude).

Polygon layers use MULTIPOLYGON and line layers MULTILINESTRING so that one column type fits
every input; points that can also be areas (facilities, requests) use GEOMETRY.
"""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime
from typing import Any, ClassVar

from geoalchemy2 import Geometry
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy import false as sa_false
from sqlalchemy import true as sa_true
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from renewmap.vocabulary import DEFAULT_TOP_LEVEL, PATROL_RULE_DEFAULT, Status

SRID = 4326

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


def geometry(kind: str, *, nullable: bool = False) -> Any:
    return mapped_column(Geometry(kind, srid=SRID, spatial_index=True), nullable=nullable)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    __table__: ClassVar[Table]  # every model here maps one table (queries use its columns)


class Subdistrict(Base):
    """街道 / 镇."""

    __tablename__ = "subdistrict"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    geom: Mapped[Any] = geometry("MULTIPOLYGON", nullable=True)


class Community(Base):
    """居民区 / 社区 (served by a residents' committee, steered by a general party branch)."""

    __tablename__ = "community"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    subdistrict_id: Mapped[int | None] = mapped_column(ForeignKey("subdistrict.id"))
    metric_epsg: Mapped[int | None] = mapped_column(Integer)
    grid_set_version: Mapped[int] = mapped_column(Integer, default=1)
    # Bumped by every import that changes the site plan (layers, grids, assignments).
    site_version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    attribution: Mapped[str | None] = mapped_column(Text)
    # Unit costs and rule thresholds of its designs (spatial.design.standards); None: defaults.
    design_standards: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # What its top party level is called (vocabulary.TOP_LEVELS): 党总支 or 社区党委.
    top_level: Mapped[str] = mapped_column(
        String(32), default=DEFAULT_TOP_LEVEL, server_default=DEFAULT_TOP_LEVEL
    )
    # When its branches' monthly patrol is due (services.requests.patrols.due_day): e.g.
    # "week:2:thu" (第二周的周四), "nth:2:thu" (第二个周四), "day:15".
    patrol_rule: Mapped[str] = mapped_column(
        String(32), default=PATROL_RULE_DEFAULT, server_default=PATROL_RULE_DEFAULT
    )
    # "setup" while its committee sets it up in the browser (hidden from residents, no routing),
    # "published" once they publish it (see services.places.setup).
    state: Mapped[str] = mapped_column(String(16), default="published", server_default="published")
    geom: Mapped[Any] = geometry("MULTIPOLYGON")
    subdistrict: Mapped[Subdistrict | None] = relationship()


class Compound(Base):
    """小区."""

    __tablename__ = "compound"
    __table_args__ = (UniqueConstraint("community_id", "code"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    osm_id: Mapped[str | None] = mapped_column(String(32))
    # 拆墙并院: a compound merged into another keeps its row (its history) and points there.
    merged_into_id: Mapped[int | None] = mapped_column(Integer)
    geom: Mapped[Any] = geometry("MULTIPOLYGON")


class PartyBranch(Base):
    """Party organisation tree: general branch → grid branch → building party group."""

    __tablename__ = "party_branch"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    level: Mapped[str] = mapped_column(String(32))  # general | grid | building_group
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("party_branch.id"))
    community_id: Mapped[int | None] = mapped_column(ForeignKey("community.id", ondelete="CASCADE"))


class Grid(Base):
    """网格: the unit a request is routed to; owned by one grid party branch."""

    __tablename__ = "grid"
    __table_args__ = (UniqueConstraint("community_id", "code"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id", ondelete="CASCADE"))
    compound_id: Mapped[int | None] = mapped_column(ForeignKey("compound.id"))
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    branch_id: Mapped[int | None] = mapped_column(ForeignKey("party_branch.id"))
    geom: Mapped[Any] = geometry("MULTIPOLYGON")


class Building(Base):
    """楼栋 with its footprint, number (e.g. "17号楼"), households and assigned grid."""

    __tablename__ = "building"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id", ondelete="CASCADE"))
    compound_id: Mapped[int | None] = mapped_column(ForeignKey("compound.id"))
    grid_id: Mapped[int | None] = mapped_column(ForeignKey("grid.id"))
    code: Mapped[str | None] = mapped_column(String(64))
    number: Mapped[str | None] = mapped_column(String(32))
    name: Mapped[str | None] = mapped_column(String(200))
    households: Mapped[int | None] = mapped_column(Integer)
    osm_id: Mapped[str | None] = mapped_column(String(32))
    geom: Mapped[Any] = geometry("MULTIPOLYGON")
    # the building groups serving it (the whole building, or one of its stairwells)
    group_places: Mapped[list[BuildingGroupPlace]] = relationship(
        foreign_keys="BuildingGroupPlace.building_id", passive_deletes=True
    )


class Stairwell(Base):
    """楼道 / 单元: an entrance of a building and the households it serves (the unit grids are
    made of). ``geom``: the entrance, if known."""

    __tablename__ = "stairwell"
    __table_args__ = (UniqueConstraint("building_id", "number"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id", ondelete="CASCADE"))
    building_id: Mapped[int] = mapped_column(ForeignKey("building.id", ondelete="CASCADE"))
    number: Mapped[str] = mapped_column(String(32))  # "2单元", "2"
    households: Mapped[int | None] = mapped_column(Integer)
    geom: Mapped[Any] = geometry("POINT", nullable=True)
    # the building group serving just this stairwell, if any
    group_places: Mapped[list[BuildingGroupPlace]] = relationship(
        foreign_keys="BuildingGroupPlace.stairwell_id", passive_deletes=True
    )


class BuildingGroupPlace(Base):
    """A building (or one stairwell of it) that a building party group (楼组党小组) serves.

    ``building_id`` is always set; ``stairwell_id`` narrows it to one entrance. The group's
    leader (楼组长) covers the requests at those buildings."""

    __tablename__ = "building_group_place"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    branch_id: Mapped[int] = mapped_column(ForeignKey("party_branch.id", ondelete="CASCADE"))
    building_id: Mapped[int] = mapped_column(ForeignKey("building.id", ondelete="CASCADE"))
    stairwell_id: Mapped[int | None] = mapped_column(ForeignKey("stairwell.id", ondelete="CASCADE"))


class PartyVolunteer(Base):
    """党员志愿者: a party member attached to a building group. Their consent to be listed is
    recorded (when, by whom); the phone is for staff who cover the group only."""

    __tablename__ = "party_volunteer"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    branch_id: Mapped[int] = mapped_column(ForeignKey("party_branch.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(32))
    consent_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    consent_recorded_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Organisation(Base):
    """An organisation of a compound besides the party tree: its property company (物业) or its
    owners' committee (业委会) (``vocabulary.ORG_KINDS``)."""

    __tablename__ = "organisation"
    __table_args__ = (UniqueConstraint("community_id", "code"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id", ondelete="CASCADE"))
    compound_id: Mapped[int | None] = mapped_column(ForeignKey("compound.id"))
    kind: Mapped[str] = mapped_column(String(32))
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(32))  # its service desk


class Site(Base):
    """微更新点位: a micro-renewal site; design layers belong to it."""

    __tablename__ = "site"
    __table_args__ = (UniqueConstraint("community_id", "code"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    # Where the participatory process stands (services.design.process.STAGES); None: not started.
    stage: Mapped[str | None] = mapped_column(String(32))
    # The decision: the draft chosen to be built and why (shown from the announcement on).
    decision_draft_id: Mapped[int | None] = mapped_column(Integer)
    decision_reasons: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[str | None] = mapped_column(String(200))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    geom: Mapped[Any] = geometry("MULTIPOLYGON")


class _SiteLayer:
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str | None] = mapped_column(String(64))
    name: Mapped[str | None] = mapped_column(String(200))
    osm_id: Mapped[str | None] = mapped_column(String(32))


class GreenArea(_SiteLayer, Base):
    """绿地 / 花圃: planting beds, lawns, neighbourly flower beds."""

    __tablename__ = "green_area"
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id", ondelete="CASCADE"))
    site_id: Mapped[int | None] = mapped_column(ForeignKey("site.id", ondelete="CASCADE"))
    kind: Mapped[str | None] = mapped_column(String(64))  # lawn, bed, garden, park…
    layer: Mapped[str | None] = mapped_column(String(32))  # tree / shrub / ground_cover / lawn
    species: Mapped[str | None] = mapped_column(String(200))
    geom: Mapped[Any] = geometry("MULTIPOLYGON")


class Plant(_SiteLayer, Base):
    """植物: a single plant, adoptable, with a growth ID card later."""

    __tablename__ = "plant"
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id", ondelete="CASCADE"))
    site_id: Mapped[int | None] = mapped_column(ForeignKey("site.id", ondelete="CASCADE"))
    species: Mapped[str | None] = mapped_column(String(200))
    layer: Mapped[str | None] = mapped_column(String(32))
    adoptable: Mapped[bool] = mapped_column(Boolean, default=True)
    planted_on: Mapped[date | None] = mapped_column(Date)
    # Taken out when a new design was built; its card and care log stay readable.
    removed_on: Mapped[date | None] = mapped_column(Date)
    geom: Mapped[Any] = geometry("POINT")


class Path(_SiteLayer, Base):
    """步道: width in metres, surface (e.g. permeable concrete), purpose."""

    __tablename__ = "path"
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id", ondelete="CASCADE"))
    site_id: Mapped[int | None] = mapped_column(ForeignKey("site.id", ondelete="CASCADE"))
    width_m: Mapped[float | None] = mapped_column(Float)
    surface: Mapped[str | None] = mapped_column(String(64))
    purpose: Mapped[str | None] = mapped_column(String(64))
    highway: Mapped[str | None] = mapped_column(String(64))
    geom: Mapped[Any] = geometry("MULTILINESTRING")


class Facility(_SiteLayer, Base):
    """设施: lights, e-bike sheds, benches, art walls… (point or polygon)."""

    __tablename__ = "facility"
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id", ondelete="CASCADE"))
    site_id: Mapped[int | None] = mapped_column(ForeignKey("site.id", ondelete="CASCADE"))
    kind: Mapped[str | None] = mapped_column(String(64))
    geom: Mapped[Any] = geometry("GEOMETRY")


class Water(_SiteLayer, Base):
    """水体."""

    __tablename__ = "water"
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id", ondelete="CASCADE"))
    site_id: Mapped[int | None] = mapped_column(ForeignKey("site.id", ondelete="CASCADE"))
    geom: Mapped[Any] = geometry("MULTIPOLYGON")


class Request(Base):
    """A resident's suggestion or problem, with the routing result stored on it."""

    __tablename__ = "request"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    community_id: Mapped[int | None] = mapped_column(ForeignKey("community.id"))
    grid_id: Mapped[int | None] = mapped_column(ForeignKey("grid.id"))
    branch_id: Mapped[int | None] = mapped_column(ForeignKey("party_branch.id"))
    category: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(32), default=Status.NEW.value)
    route_rule: Mapped[str] = mapped_column(String(32))
    route_distance_m: Mapped[float | None] = mapped_column(Float)
    grid_set_version: Mapped[int | None] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(32), default="web")
    # Residents' side (issue 3): a receipt code to quote, a private follow link (only the
    # token's hash is stored), contact details that are never public, moderation.
    receipt_code: Mapped[str | None] = mapped_column(String(16))
    follow_token_hash: Mapped[str | None] = mapped_column(String(64))
    nickname: Mapped[str | None] = mapped_column(String(40))
    show_nickname: Mapped[bool] = mapped_column(Boolean, default=False)
    phone: Mapped[str | None] = mapped_column(String(32))
    hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    support_count: Mapped[int] = mapped_column(Integer, default=0)
    # Staff workflow (issue 4): every change bumps ``version`` (two leads cannot overwrite each
    # other), ``duplicate_of_id`` points at the request a duplicate was merged into.
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    duplicate_of_id: Mapped[int | None] = mapped_column(Integer)  # a request id
    accepted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # When it last (re)entered "waiting to be accepted": created, transferred or reopened.
    status_since: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=utcnow)
    patrol_id: Mapped[int | None] = mapped_column(Integer)  # found on this patrol
    site_id: Mapped[int | None] = mapped_column(Integer)  # pinned for a site's survey
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )
    # Open311 (issue 6): the client key that posted it, the service definition's answers, a
    # public media link; the submitter's e-mail and name are private like the phone.
    api_key_id: Mapped[int | None] = mapped_column(Integer)  # an api_key id
    attributes: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    media_url: Mapped[str | None] = mapped_column(String(500))
    contact_email: Mapped[str | None] = mapped_column(String(200))
    contact_name: Mapped[str | None] = mapped_column(String(100))
    # Issue 20: the building it is in or at (within spatial.routing.BUILDING_NEAR_M), set when
    # routed; a building group's leader covers it through this.
    building_id: Mapped[int | None] = mapped_column(Integer)  # a building id
    # Handed to the property company (交物业处理): which, when, due by (a day in the
    # community's time zone), and when it reported the work done.
    assigned_org_id: Mapped[int | None] = mapped_column(Integer)  # an organisation id
    assigned_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    assigned_due: Mapped[date | None] = mapped_column(Date)
    assigned_done_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Residents (issue 16): told of progress by SMS (``phone``) or e-mail (``contact_email``)
    # only after ticking the consent box (when); a stop link withdraws it (when).
    notify_consent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    notify_stopped_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # {"channels": ["sms", "email"], "locale": "zh_CN", "base": "https://…"}: how, in which
    # language and with which address of the app the resident is told (as when they posted).
    notify_prefs: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    geom: Mapped[Any] = geometry("GEOMETRY")
    events: Mapped[list[RequestEvent]] = relationship(
        back_populates="request", order_by="RequestEvent.id", cascade="all, delete-orphan"
    )


class RequestPhoto(Base):
    """A photo of a request, re-encoded without metadata (EXIF/GPS stripped), with a thumbnail:
    the resident's (``kind`` "resident"), or staff's with a reply or a resolution ("after",
    linked to that history entry)."""

    __tablename__ = "request_photo"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("request.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16), default="resident", server_default="resident")
    event_id: Mapped[int | None] = mapped_column(Integer)  # a request_event id
    position: Mapped[int] = mapped_column(Integer, default=0)
    content_type: Mapped[str] = mapped_column(String(32))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    # the bytes live in the blob store (renewmap.blobs); a key is the SHA-256 of the bytes
    data_key: Mapped[str] = mapped_column(String(64))
    data_size: Mapped[int] = mapped_column(Integer)
    thumbnail_key: Mapped[str] = mapped_column(String(64))
    thumbnail_size: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class RequestSupport(Base):
    """One +1 per resident device (the device id is stored only as a keyed hash)."""

    __tablename__ = "request_support"
    __table_args__ = (UniqueConstraint("request_id", "supporter_hash"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("request.id", ondelete="CASCADE"))
    supporter_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class RequestComment(Base):
    __tablename__ = "request_comment"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("request.id", ondelete="CASCADE"))
    body: Mapped[str] = mapped_column(Text)
    nickname: Mapped[str | None] = mapped_column(String(40))
    hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class RequestEvent(Base):
    """History of a request: created, routed, re-routed, status changes…"""

    __tablename__ = "request_event"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("request.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    kind: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str | None] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(Text)
    # Shown to the resident (replies, rejection reasons) or staff-only (internal notes).
    public: Mapped[bool] = mapped_column(Boolean, default=True, server_default=sa_true())
    data: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    request: Mapped[Request] = relationship(back_populates="events")


class StaffUser(Base):
    """A staff account: grid lead, branch secretary, community or subdistrict admin, designer.

    Residents have no accounts (a device cookie and a receipt link are enough for them).
    """

    __tablename__ = "staff_user"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=sa_true())
    # consecutive failed sign-ins and, after too many, when the account may try again
    failed_logins: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    roles: Mapped[list[StaffRole]] = relationship(
        back_populates="user", order_by="StaffRole.id", cascade="all, delete-orphan"
    )


class StaffRole(Base):
    """One role in one place. The place column that applies depends on the role:
    grid_lead → grid; branch_secretary and building_group_leader → branch; community_admin and
    designer → community; subdistrict_admin → subdistrict; property_staff and owners_committee
    → organisation. A user may hold several roles in several places."""

    __tablename__ = "staff_role"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(32))
    grid_id: Mapped[int | None] = mapped_column(ForeignKey("grid.id", ondelete="CASCADE"))
    branch_id: Mapped[int | None] = mapped_column(ForeignKey("party_branch.id", ondelete="CASCADE"))
    community_id: Mapped[int | None] = mapped_column(ForeignKey("community.id", ondelete="CASCADE"))
    subdistrict_id: Mapped[int | None] = mapped_column(
        ForeignKey("subdistrict.id", ondelete="CASCADE")
    )
    org_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"))
    user: Mapped[StaffUser] = relationship(back_populates="roles")


class AuthToken(Base):
    """A browser session or an API bearer token; only a hash of the secret is stored."""

    __tablename__ = "auth_token"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))  # session | api
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())


class ApiKey(Base):
    """An Open311 client's key for one community, issued by its admin; only a hash is kept."""

    __tablename__ = "api_key"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id", ondelete="CASCADE"))
    client: Mapped[str] = mapped_column(String(100))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class PlantAdoption(Base):
    """认养: a resident looks after a plant (one adopter at a time). The phone is staff-only."""

    __tablename__ = "plant_adoption"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plant_id: Mapped[int] = mapped_column(ForeignKey("plant.id", ondelete="CASCADE"))
    nickname: Mapped[str] = mapped_column(String(40))
    phone: Mapped[str | None] = mapped_column(String(32))
    device_hash: Mapped[str] = mapped_column(String(64))
    adopted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # Moving the adoption to a new phone: a code shown on the old one (only its keyed hash).
    transfer_code_hash: Mapped[str | None] = mapped_column(String(64))
    transfer_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class PlantCare(Base):
    """The growth ID card's care log: watering, pruning, fertilising, a note."""

    __tablename__ = "plant_care"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plant_id: Mapped[int] = mapped_column(ForeignKey("plant.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)
    by: Mapped[str] = mapped_column(String(40))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # a JPEG (metadata stripped) and its thumbnail in the blob store (keys: SHA-256)
    photo_key: Mapped[str | None] = mapped_column(String(64))
    photo_size: Mapped[int | None] = mapped_column(Integer)
    photo_width: Mapped[int | None] = mapped_column(Integer)
    photo_height: Mapped[int | None] = mapped_column(Integer)
    photo_thumbnail_key: Mapped[str | None] = mapped_column(String(64))
    photo_thumbnail_size: Mapped[int | None] = mapped_column(Integer)


class DesignDraft(Base):
    """多稿设计: one draft of a site's design, a versioned set of features."""

    __tablename__ = "design_draft"
    __table_args__ = (UniqueConstraint("site_id", "number"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)  # 1, 2, … within the site
    name: Mapped[str] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(Integer, default=1)
    copied_from_id: Mapped[int | None] = mapped_column(Integer)
    public: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())
    # The designer's short plain description for residents (what the draft does and why).
    description: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )


class DesignFeature(Base):
    """A drawn feature of a draft: zone, green, plant, path, facility or an element to keep."""

    __tablename__ = "design_feature"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    draft_id: Mapped[int] = mapped_column(ForeignKey("design_draft.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    props: Mapped[dict[str, Any]] = mapped_column(JSON)
    geom: Mapped[Any] = geometry("GEOMETRY")


class SiteStage(Base):
    """One step of a site's participatory process: its dates and minutes (attachments apart)."""

    __tablename__ = "site_stage"
    __table_args__ = (UniqueConstraint("site_id", "stage"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id", ondelete="CASCADE"))
    stage: Mapped[str] = mapped_column(String(32))
    starts_on: Mapped[date | None] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)
    minutes: Mapped[str | None] = mapped_column(Text)
    # A step the process went past without holding it: who decided that and why.
    skipped: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())
    skip_reason: Mapped[str | None] = mapped_column(Text)
    skipped_by: Mapped[str | None] = mapped_column(String(200))
    # A joint meeting left without minutes: who went on anyway and why.
    override_reason: Mapped[str | None] = mapped_column(Text)
    override_by: Mapped[str | None] = mapped_column(String(200))
    updated_by: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )


class StageAttachment(Base):
    """A file kept with a stage: meeting sign-in sheet, survey form, presentation (PDF…)."""

    __tablename__ = "stage_attachment"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    stage_id: Mapped[int] = mapped_column(
        ForeignKey("site_stage.id", ondelete="CASCADE"), index=True
    )
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    data_key: Mapped[str] = mapped_column(String(64))  # in the blob store; the SHA-256
    size: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class DraftRequest(Base):
    """A resident suggestion a draft adopts ("adopted in draft N")."""

    __tablename__ = "draft_request"
    __table_args__ = (UniqueConstraint("draft_id", "request_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    draft_id: Mapped[int] = mapped_column(ForeignKey("design_draft.id", ondelete="CASCADE"))
    request_id: Mapped[int] = mapped_column(
        ForeignKey("request.id", ondelete="CASCADE"), index=True
    )


class DraftComment(Base):
    """A resident's comment on a draft in consultation, optionally placed on its map."""

    __tablename__ = "draft_comment"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    draft_id: Mapped[int] = mapped_column(
        ForeignKey("design_draft.id", ondelete="CASCADE"), index=True
    )
    body: Mapped[str] = mapped_column(Text)
    nickname: Mapped[str | None] = mapped_column(String(40))
    device_hash: Mapped[str] = mapped_column(String(64))
    hidden: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    geom: Mapped[Any] = geometry("POINT", nullable=True)


class DraftVote(Base):
    """One vote per resident device per site, for one of its drafts in consultation."""

    __tablename__ = "draft_vote"
    __table_args__ = (UniqueConstraint("site_id", "device_hash"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id", ondelete="CASCADE"))
    draft_id: Mapped[int] = mapped_column(
        ForeignKey("design_draft.id", ondelete="CASCADE"), index=True
    )
    device_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class HouseholdCode(Base):
    """征询单: one household of a site's catchment and the one-time code printed on its form
    (stored as a keyed hash). The first phone that enters the code holds it; the household's
    vote is kept here, changeable until the consultation closes. A household is named by its
    building, stairwell (when known) and number; a reissued form revokes the old code."""

    __tablename__ = "household_code"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id", ondelete="CASCADE"), index=True)
    building_id: Mapped[int | None] = mapped_column(
        ForeignKey("building.id", ondelete="SET NULL"), index=True
    )
    building: Mapped[str] = mapped_column(String(64))  # as printed: 7号楼
    stairwell: Mapped[str | None] = mapped_column(String(32))  # 2单元, when known
    household: Mapped[str] = mapped_column(String(32))  # 301, or 12 (the 12th household)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    issued_by: Mapped[str] = mapped_column(String(200))
    issued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    device_hash: Mapped[str | None] = mapped_column(String(64))  # the phone that holds it
    draft_id: Mapped[int | None] = mapped_column(
        ForeignKey("design_draft.id", ondelete="SET NULL"), index=True
    )
    voted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class SiteObjection(Base):
    """An objection a resident files while the chosen plan is on display (方案公示); staff
    answer every one before construction starts."""

    __tablename__ = "site_objection"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id", ondelete="CASCADE"), index=True)
    body: Mapped[str] = mapped_column(Text)
    nickname: Mapped[str | None] = mapped_column(String(40))
    device_hash: Mapped[str] = mapped_column(String(64))
    household_id: Mapped[int | None] = mapped_column(
        ForeignKey("household_code.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    answer: Mapped[str | None] = mapped_column(Text)
    answered_by: Mapped[str | None] = mapped_column(String(200))
    answered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class SiteBuild(Base):
    """The chosen draft built: the site's layers replaced by its features. The layers as they
    were before are kept here (GeoJSON by layer), so the history stays retrievable."""

    __tablename__ = "site_build"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id", ondelete="CASCADE"), index=True)
    draft_id: Mapped[int | None] = mapped_column(ForeignKey("design_draft.id", ondelete="SET NULL"))
    draft_number: Mapped[int] = mapped_column(Integer)
    draft_version: Mapped[int] = mapped_column(Integer)
    built_on: Mapped[date] = mapped_column(Date)
    built_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    before: Mapped[dict[str, Any]] = mapped_column(JSON)  # the layers replaced
    after: Mapped[dict[str, Any]] = mapped_column(JSON)  # the features built


class SitePhoto(Base):
    """A dated photo of a site, before or after the renewal (re-encoded, no metadata)."""

    __tablename__ = "site_photo"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id", ondelete="CASCADE"), index=True)
    phase: Mapped[str] = mapped_column(String(8))  # before | after
    taken_on: Mapped[date] = mapped_column(Date)
    caption: Mapped[str | None] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(32))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    # the bytes live in the blob store (renewmap.blobs); a key is the SHA-256 of the bytes
    data_key: Mapped[str] = mapped_column(String(64))
    data_size: Mapped[int] = mapped_column(Integer)
    thumbnail_key: Mapped[str] = mapped_column(String(64))
    thumbnail_size: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class GridDraft(Base):
    """A proposed grid set for a community, validated before it is published."""

    __tablename__ = "grid_draft"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id", ondelete="CASCADE"))
    features: Mapped[dict[str, Any]] = mapped_column(JSON)  # GeoJSON FeatureCollection
    status: Mapped[str] = mapped_column(String(16), default="draft")  # draft | published
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    published_version: Mapped[int | None] = mapped_column(Integer)


class Patrol(Base):
    """学习和巡查: a party branch's monthly study and walk of its area (due by the community's
    ``patrol_rule``): the route walked, who went, what was studied. One patrol covers any of
    the branch's grids (``PatrolGrid``) and clears all of them for the month. Findings are
    requests (source "patrol") that point back here."""

    __tablename__ = "patrol"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # The first grid walked (every grid walked is in patrol_grid).
    grid_id: Mapped[int] = mapped_column(ForeignKey("grid.id", ondelete="CASCADE"))
    # The branch that walked (None: a grid without a branch walked alone).
    branch_id: Mapped[int | None] = mapped_column(Integer)  # a party_branch id
    day: Mapped[date] = mapped_column(Date)
    participants: Mapped[str] = mapped_column(Text)
    notes: Mapped[str | None] = mapped_column(Text)
    study_topic: Mapped[str | None] = mapped_column(Text)
    study_attendees: Mapped[str | None] = mapped_column(Text)
    route_source: Mapped[str | None] = mapped_column(String(8))  # tap | gps
    recorded_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    geom: Mapped[Any] = geometry("MULTILINESTRING", nullable=True)


class PatrolGrid(Base):
    """A grid a patrol walked."""

    __tablename__ = "patrol_grid"
    __table_args__ = (UniqueConstraint("patrol_id", "grid_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patrol_id: Mapped[int] = mapped_column(ForeignKey("patrol.id", ondelete="CASCADE"))
    grid_id: Mapped[int] = mapped_column(ForeignKey("grid.id", ondelete="CASCADE"))


class Deliberation(Base):
    """四议共答: the residents' committee, the owners' committee, the property company and
    resident representatives decide a question together, about a request or a site. Shown in
    the public history of what it is about."""

    __tablename__ = "deliberation"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id", ondelete="CASCADE"))
    request_id: Mapped[int | None] = mapped_column(ForeignKey("request.id", ondelete="CASCADE"))
    site_id: Mapped[int | None] = mapped_column(ForeignKey("site.id", ondelete="CASCADE"))
    held_on: Mapped[date] = mapped_column(Date)
    parties: Mapped[list[str]] = mapped_column(JSON)  # vocabulary.DELIBERATION_PARTIES
    attendees: Mapped[str] = mapped_column(Text)
    question: Mapped[str] = mapped_column(Text)
    decision: Mapped[str] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ReplyTemplate(Base):
    """A community's ready-made public reply ("已派物业维修，预计三天内完成")."""

    __tablename__ = "reply_template"
    __table_args__ = (UniqueConstraint("community_id", "title"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class NotifyChannel(Base):
    """Where a grid's (or, without grid, a whole community's) new requests are announced
    besides its leads' e-mail: a webhook, plain JSON or a WeCom group-bot body."""

    __tablename__ = "notify_channel"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id", ondelete="CASCADE"))
    grid_id: Mapped[int | None] = mapped_column(ForeignKey("grid.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))  # webhook
    target: Mapped[str] = mapped_column(String(500))
    body_format: Mapped[str] = mapped_column(String(16), default="json")  # json | wecom


def new_idempotency_key() -> str:
    return secrets.token_hex(16)


class Notification(Base):
    """Outbox: written in the same transaction as the request, sent after commit by the
    dispatcher, retried with backoff. A failed send never touches the resident's request.

    A sender claims a row (``sending``, ``claimed_by``, ``lease_until``) in one short
    transaction, sends with no transaction open, then records the result if it still holds
    the claim. A sender that dies leaves the claim to expire; the row is then sent again
    with the same ``idempotency_key`` (the e-mail's Message-ID, the webhook's
    ``Idempotency-Key``), by which receivers recognise a message they already have.
    """

    __tablename__ = "notification"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("request.id", ondelete="CASCADE"))
    # staff: new | transferred | reopened; residents: accept | reply | resolve | reject |
    # duplicate | reopen_closing (services.requests.progress)
    reason: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(16))  # email | webhook | sms
    target: Mapped[str] = mapped_column(String(500))  # address or URL
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    # pending | sending (claimed) | sent | failed | cancelled (a resident's message no
    # longer true when due)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    idempotency_key: Mapped[str] = mapped_column(
        String(64), unique=True, default=new_idempotency_key
    )
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class LoginFailure(Base):
    """Failed sign-ins with a username no account has (``services.access.accounts``): counted
    and made to wait like an account's, so a 429 does not tell which usernames exist. Only a
    hash of the username is kept."""

    __tablename__ = "login_failure"
    name_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class RateBucket(Base):
    """Rate-limit counts shared by every worker (``services.access.ratelimit``): the events of
    one key (``action:client``) in one tenth of its window."""

    __tablename__ = "rate_bucket"
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    bucket: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hits: Mapped[int] = mapped_column(Integer)
    expires: Mapped[int] = mapped_column(BigInteger, index=True)  # unix seconds


# --- participation records (issue 18): people, meetings, proposals, money and materials,
# conventions, events and points ------------------------------------------------------------------


class Person(Base):
    """A person on the community's roster, with their consent: a volunteer, a community partner
    (社区合伙人: 智库, 规划, 治理, 媒体, 教育, with skills and organisation) or a party-member
    volunteer (``roles``). Name and phone are staff-only; removed on request, the row stays
    anonymised (no name, phone, organisation or skills) so the records that count them stay."""

    __tablename__ = "person"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    community_id: Mapped[int] = mapped_column(
        ForeignKey("community.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str | None] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(32))
    roles: Mapped[list[str]] = mapped_column(JSON)  # volunteer | partner | party_volunteer
    partner_kind: Mapped[str | None] = mapped_column(String(16))
    organisation: Mapped[str | None] = mapped_column(String(200))
    skills: Mapped[list[str]] = mapped_column(JSON)
    consent_on: Mapped[date | None] = mapped_column(Date)  # None once removed
    joined_on: Mapped[date] = mapped_column(Date)
    removed_on: Mapped[date | None] = mapped_column(Date)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Team(Base):
    """A team of the roster (an elder-care team, a garden team …); members come and go."""

    __tablename__ = "team"
    __table_args__ = (UniqueConstraint("community_id", "name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    purpose: Mapped[str | None] = mapped_column(String(200))
    founded_on: Mapped[date] = mapped_column(Date)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class TeamMember(Base):
    """A person's membership of a team, from the day they joined to the day they left."""

    __tablename__ = "team_member"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("team.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    joined_on: Mapped[date] = mapped_column(Date)
    left_on: Mapped[date | None] = mapped_column(Date)


class PersonLink(Base):
    """A site a person worked on, a patrol they walked, a plant adoption that is theirs."""

    __tablename__ = "person_link"
    __table_args__ = (UniqueConstraint("person_id", "target", "target_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    target: Mapped[str] = mapped_column(String(16))  # site | patrol | adoption
    target_id: Mapped[int] = mapped_column(Integer)


class Meeting(Base):
    """A community's meeting (联席会, 座谈会, 议事会, 楼组会, 四议共答 …): when, where, who took
    part (parties, attendees by role or registered person), minutes and decisions."""

    __tablename__ = "meeting"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(200))
    held_on: Mapped[date] = mapped_column(Date)
    place: Mapped[str | None] = mapped_column(String(200))
    parties: Mapped[list[str]] = mapped_column(JSON)  # vocabulary codes (居委会, 业委会, 物业 …)
    minutes: Mapped[str | None] = mapped_column(Text)
    decisions: Mapped[str | None] = mapped_column(Text)
    # The process step of a site this meeting is (the two 联席会): site + stage.
    site_id: Mapped[int | None] = mapped_column(ForeignKey("site.id", ondelete="SET NULL"))
    stage: Mapped[str | None] = mapped_column(String(32))
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )
    geom: Mapped[Any] = geometry("POINT", nullable=True)


class MeetingAttendee(Base):
    """Who attended: a role (resident representative, property manager …) and either a name as
    written on the sign-in sheet or a person of the roster; ``count`` people of that line."""

    __tablename__ = "meeting_attendee"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    meeting_id: Mapped[int] = mapped_column(
        ForeignKey("meeting.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[str] = mapped_column(String(32))
    name: Mapped[str | None] = mapped_column(String(100))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    count: Mapped[int] = mapped_column(Integer, default=1)


class MeetingLink(Base):
    """A request, proposal or site a meeting discussed."""

    __tablename__ = "meeting_link"
    __table_args__ = (UniqueConstraint("meeting_id", "target", "target_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id", ondelete="CASCADE"))
    target: Mapped[str] = mapped_column(String(16))  # request | proposal | site
    target_id: Mapped[int] = mapped_column(Integer)


class MeetingAttachment(Base):
    """A file kept with a meeting: sign-in sheet, minutes as signed, photos (PDF …)."""

    __tablename__ = "meeting_attachment"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    meeting_id: Mapped[int] = mapped_column(
        ForeignKey("meeting.id", ondelete="CASCADE"), index=True
    )
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    data_key: Mapped[str] = mapped_column(String(64))  # in the blob store; the SHA-256
    size: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Proposal(Base):
    """社区规划提案: a resident's or partner's proposal, numbered per community, discussed at
    meetings, adopted (and then perhaps a site) or declined with a reason. Public only when
    its proposer agreed; the proposer's name and phone are staff-only."""

    __tablename__ = "proposal"
    __table_args__ = (UniqueConstraint("community_id", "number"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    proposer_kind: Mapped[str] = mapped_column(String(16))  # resident | partner
    proposer_name: Mapped[str | None] = mapped_column(String(100))
    proposer_phone: Mapped[str | None] = mapped_column(String(32))
    shown_as: Mapped[str | None] = mapped_column(String(40))  # public nickname, if any
    public: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16))
    decline_reason: Mapped[str | None] = mapped_column(Text)
    site_id: Mapped[int | None] = mapped_column(ForeignKey("site.id", ondelete="SET NULL"))
    submitted_on: Mapped[date] = mapped_column(Date)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )
    geom: Mapped[Any] = geometry("GEOMETRY", nullable=True)


class ProposalPhoto(Base):
    """A photo handed in with a proposal (re-encoded without metadata, with a thumbnail);
    residents see it only while the proposal is public."""

    __tablename__ = "proposal_photo"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposal.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer, default=0)
    caption: Mapped[str | None] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(32))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    # the bytes live in the blob store (renewmap.blobs); a key is the SHA-256 of the bytes
    data_key: Mapped[str] = mapped_column(String(64))
    data_size: Mapped[int] = mapped_column(Integer)
    thumbnail_key: Mapped[str] = mapped_column(String(64))
    thumbnail_size: Mapped[int] = mapped_column(Integer)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class FundLine(Base):
    """Money and materials of a site: its budget, a source with its amount (街道拨款, 基金会,
    众筹, 居民自筹, 义卖/捐款), a spending line against the bill of quantities, donated material,
    or a resident's crowdfunding pledge (recorded by staff; no payment is processed).
    Amounts in fen (1/100 yuan); who gave is staff-only."""

    __tablename__ = "fund_line"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id", ondelete="CASCADE"))
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # budget | income | spending | material | pledge
    source: Mapped[str | None] = mapped_column(String(32))
    item: Mapped[str | None] = mapped_column(String(200))
    amount_fen: Mapped[int | None] = mapped_column(BigInteger)
    quantity: Mapped[float | None] = mapped_column(Float)
    unit: Mapped[str | None] = mapped_column(String(16))
    contributor: Mapped[str | None] = mapped_column(String(100))
    contact: Mapped[str | None] = mapped_column(String(32))
    day: Mapped[date] = mapped_column(Date)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Convention(Base):
    """A convention (公约) of a building, a stairwell (单元) of a building, or a facility (车棚,
    a garden): its versions are the texts residents agreed to."""

    __tablename__ = "convention"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    community_id: Mapped[int] = mapped_column(
        ForeignKey("community.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(String(200))
    scope: Mapped[str] = mapped_column(String(16))  # building | stairwell | facility
    building_id: Mapped[int | None] = mapped_column(ForeignKey("building.id", ondelete="SET NULL"))
    unit: Mapped[str | None] = mapped_column(String(32))  # the stairwell, e.g. "2单元"
    facility: Mapped[str | None] = mapped_column(String(100))
    households: Mapped[int | None] = mapped_column(Integer)  # households it binds
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    geom: Mapped[Any] = geometry("POINT", nullable=True)


class ConventionVersion(Base):
    """One version of a convention's text, the day it was adopted and how many households
    agreed (as staff counted the signatures)."""

    __tablename__ = "convention_version"
    __table_args__ = (UniqueConstraint("convention_id", "number"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    convention_id: Mapped[int] = mapped_column(ForeignKey("convention.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    body: Mapped[str] = mapped_column(Text)
    adopted_on: Mapped[date] = mapped_column(Date)
    agreed: Mapped[int] = mapped_column(Integer)
    # Households agree with their consultation codes (where the place has some when the version
    # is adopted): then ``agreed`` stays 0 and the agreements are counted instead.
    by_codes: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ConventionAgreement(Base):
    """A household's agreement to one version of a convention, given with its household code
    (征询单): once per household and version, whichever of its codes it used. The household is
    kept by name (building, stairwell, number), as the forms print it."""

    __tablename__ = "convention_agreement"
    __table_args__ = (UniqueConstraint("version_id", "household_key"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(
        ForeignKey("convention_version.id", ondelete="CASCADE"), index=True
    )
    household_code_id: Mapped[int | None] = mapped_column(
        ForeignKey("household_code.id", ondelete="SET NULL")
    )
    building: Mapped[str] = mapped_column(String(64))
    stairwell: Mapped[str | None] = mapped_column(String(32))
    household: Mapped[str] = mapped_column(String(32))
    household_key: Mapped[str] = mapped_column(String(140))
    agreed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Event(Base):
    """A community event (微讲堂, workshop, market, naming contest …) on a day, at a local time
    in the community's time zone, at a place on the map; residents sign up, staff count who
    came (sign-ups who attended and walk-ins: 人次)."""

    __tablename__ = "event"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    day: Mapped[date] = mapped_column(Date)
    time: Mapped[str | None] = mapped_column(String(5))  # HH:MM, local
    place: Mapped[str | None] = mapped_column(String(200))
    capacity: Mapped[int | None] = mapped_column(Integer)
    walk_ins: Mapped[int] = mapped_column(Integer, default=0)
    public: Mapped[bool] = mapped_column(Boolean, default=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    geom: Mapped[Any] = geometry("POINT", nullable=True)


class EventSignup(Base):
    """A sign-up for an event (a resident's, from their device, or a person of the roster
    entered by staff): ``party`` people; ``attended`` once staff tick them off."""

    __tablename__ = "event_signup"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"), index=True)
    name: Mapped[str | None] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(32))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    party: Mapped[int] = mapped_column(Integer, default=1)
    attended: Mapped[bool] = mapped_column(Boolean, default=False)
    device_hash: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class PointsEntry(Base):
    """A line of the points ledger (积分): points earned for volunteering, a patrol walked, a
    care log, an event attended (each source once per person), or spent at the points
    supermarket (积分超市; negative). A person's balance is the sum of their lines."""

    __tablename__ = "points_entry"
    __table_args__ = (UniqueConstraint("person_id", "kind", "source_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    community_id: Mapped[int] = mapped_column(
        ForeignKey("community.id", ondelete="CASCADE"), index=True
    )
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(16))
    points: Mapped[int] = mapped_column(Integer)
    source_id: Mapped[int | None] = mapped_column(Integer)
    item: Mapped[str | None] = mapped_column(String(200))
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


LAYER_MODELS: dict[str, type[Base]] = {
    "community": Community,
    "compound": Compound,
    "grid": Grid,
    "building": Building,
    "stairwell": Stairwell,
    "site": Site,
    "green": GreenArea,
    "plant": Plant,
    "path": Path,
    "facility": Facility,
    "water": Water,
}
"""Import/export kinds → models (the CLI's ``--kind`` values)."""


Index("ix_grid_community_id", Grid.community_id)
Index("ix_building_grid_id", Building.grid_id)
Index("ix_building_community_id", Building.community_id)
Index("ix_party_branch_community_id_level", PartyBranch.community_id, PartyBranch.level)
Index("ix_party_branch_parent_id", PartyBranch.parent_id)
Index("ix_request_community_id_status", Request.community_id, Request.status)
Index("ix_request_grid_id", Request.grid_id)
# newest first (Open311 lists, staff "newest", deep pages): an index walk, not a sort
Index("ix_request_created_at_id", Request.created_at, Request.id)
Index("ix_request_community_id_created_at", Request.community_id, Request.created_at, Request.id)
Index("ix_request_event_request_id", RequestEvent.request_id)
Index("uq_request_receipt_code", Request.receipt_code, unique=True)
Index("ix_request_photo_request_id", RequestPhoto.request_id)
Index("ix_request_comment_request_id", RequestComment.request_id)
Index("ix_staff_role_user_id", StaffRole.user_id)
Index("ix_auth_token_user_id", AuthToken.user_id)
Index("ix_notification_status_next_attempt_at", Notification.status, Notification.next_attempt_at)
Index("ix_notify_channel_community_id", NotifyChannel.community_id)
Index("ix_patrol_grid_id_day", Patrol.grid_id, Patrol.day)
Index("ix_design_feature_draft_id", DesignFeature.draft_id)
Index("ix_plant_adoption_plant_id", PlantAdoption.plant_id)
Index("ix_plant_care_plant_id", PlantCare.plant_id)
Index("ix_api_key_community_id", ApiKey.community_id)
Index("ix_stairwell_building_id", Stairwell.building_id)
Index("ix_building_group_place_branch_id", BuildingGroupPlace.branch_id)
Index("ix_building_group_place_building_id", BuildingGroupPlace.building_id)
Index("ix_party_volunteer_branch_id", PartyVolunteer.branch_id)
Index("ix_staff_role_org_id", StaffRole.org_id)
Index("ix_request_building_id", Request.building_id)
Index("ix_request_assigned_org_id", Request.assigned_org_id)
Index("ix_patrol_grid_grid_id", PatrolGrid.grid_id)
Index("ix_patrol_grid_patrol_id", PatrolGrid.patrol_id)
Index("ix_deliberation_request_id", Deliberation.request_id)
Index("ix_deliberation_site_id", Deliberation.site_id)
Index("ix_meeting_community_id_held_on", Meeting.community_id, Meeting.held_on)
Index("ix_meeting_link_target", MeetingLink.target, MeetingLink.target_id)
Index("ix_proposal_community_id_submitted_on", Proposal.community_id, Proposal.submitted_on)
Index("ix_proposal_photo_proposal_id", ProposalPhoto.proposal_id)
Index("ix_event_community_id_day", Event.community_id, Event.day)
