"""Participation records (issue 18): the roster of people (volunteers, community partners,
party-member volunteers) with their teams and links; meetings with attendees, links and files;
residents' and partners' proposals; a site's money and materials (budget, sources, spending,
donated material, crowdfunding pledges); conventions with their versions; events with sign-ups;
the points ledger.

Revision ID: 0021_records
Revises: 0020_setup
Create Date: 2026-12-10
"""

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry

revision = "0021_records"
down_revision = "0020_setup"
branch_labels = None
depends_on = None


def _fk(table: str, column: str, target: str, ondelete: str = "CASCADE") -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}"), ondelete=ondelete
    )


def _geom(kind: str) -> sa.Column:
    return sa.Column(
        "geom",
        Geometry(
            geometry_type=kind,
            srid=4326,
            dimension=2,
            spatial_index=False,
            from_text="ST_GeomFromEWKT",
            name="geometry",
        ),
        nullable=True,
    )


def _spatial_index(table: str) -> None:
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.create_geospatial_index(
            f"idx_{table}_geom", ["geom"], unique=False, postgresql_using="gist", postgresql_ops={}
        )


def _drop_spatial_index(table: str) -> None:
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.drop_geospatial_index(
            f"idx_{table}_geom", postgresql_using="gist", column_name="geom"
        )


def upgrade() -> None:
    op.create_table(
        "person",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(100), nullable=True),
        sa.Column("phone", sa.String(32), nullable=True),
        sa.Column("roles", sa.JSON(), nullable=False),
        sa.Column("partner_kind", sa.String(16), nullable=True),
        sa.Column("organisation", sa.String(200), nullable=True),
        sa.Column("skills", sa.JSON(), nullable=False),
        sa.Column("consent_on", sa.Date(), nullable=True),
        sa.Column("joined_on", sa.Date(), nullable=False),
        sa.Column("removed_on", sa.Date(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        _fk("person", "community_id", "community"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_person")),
    )
    op.create_index("ix_person_community_id", "person", ["community_id"])
    op.create_table(
        "team",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("purpose", sa.String(200), nullable=True),
        sa.Column("founded_on", sa.Date(), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        _fk("team", "community_id", "community"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_team")),
        sa.UniqueConstraint("community_id", "name", name=op.f("uq_team_community_id")),
    )
    op.create_table(
        "team_member",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("joined_on", sa.Date(), nullable=False),
        sa.Column("left_on", sa.Date(), nullable=True),
        _fk("team_member", "team_id", "team"),
        _fk("team_member", "person_id", "person"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_team_member")),
    )
    op.create_index("ix_team_member_team_id", "team_member", ["team_id"])
    op.create_index("ix_team_member_person_id", "team_member", ["person_id"])
    op.create_table(
        "person_link",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("target", sa.String(16), nullable=False),
        sa.Column("target_id", sa.Integer(), nullable=False),
        _fk("person_link", "person_id", "person"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_person_link")),
        sa.UniqueConstraint(
            "person_id", "target", "target_id", name=op.f("uq_person_link_person_id")
        ),
    )
    op.create_geospatial_table(
        "meeting",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("held_on", sa.Date(), nullable=False),
        sa.Column("place", sa.String(200), nullable=True),
        sa.Column("parties", sa.JSON(), nullable=False),
        sa.Column("minutes", sa.Text(), nullable=True),
        sa.Column("decisions", sa.Text(), nullable=True),
        sa.Column("site_id", sa.Integer(), nullable=True),
        sa.Column("stage", sa.String(32), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        _geom("POINT"),
        _fk("meeting", "community_id", "community"),
        _fk("meeting", "site_id", "site", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meeting")),
    )
    _spatial_index("meeting")
    op.create_index("ix_meeting_community_id_held_on", "meeting", ["community_id", "held_on"])
    op.create_table(
        "meeting_attendee",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("name", sa.String(100), nullable=True),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("count", sa.Integer(), nullable=False),
        _fk("meeting_attendee", "meeting_id", "meeting"),
        _fk("meeting_attendee", "person_id", "person", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meeting_attendee")),
    )
    op.create_index("ix_meeting_attendee_meeting_id", "meeting_attendee", ["meeting_id"])
    op.create_table(
        "meeting_link",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("target", sa.String(16), nullable=False),
        sa.Column("target_id", sa.Integer(), nullable=False),
        _fk("meeting_link", "meeting_id", "meeting"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meeting_link")),
        sa.UniqueConstraint(
            "meeting_id", "target", "target_id", name=op.f("uq_meeting_link_meeting_id")
        ),
    )
    op.create_index("ix_meeting_link_target", "meeting_link", ["target", "target_id"])
    op.create_table(
        "meeting_attachment",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(200), nullable=False),
        sa.Column("content_type", sa.String(100), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        _fk("meeting_attachment", "meeting_id", "meeting"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meeting_attachment")),
    )
    op.create_index("ix_meeting_attachment_meeting_id", "meeting_attachment", ["meeting_id"])
    op.create_geospatial_table(
        "proposal",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("proposer_kind", sa.String(16), nullable=False),
        sa.Column("proposer_name", sa.String(100), nullable=True),
        sa.Column("proposer_phone", sa.String(32), nullable=True),
        sa.Column("shown_as", sa.String(40), nullable=True),
        sa.Column("public", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("decline_reason", sa.Text(), nullable=True),
        sa.Column("site_id", sa.Integer(), nullable=True),
        sa.Column("submitted_on", sa.Date(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        _geom("GEOMETRY"),
        _fk("proposal", "community_id", "community"),
        _fk("proposal", "site_id", "site", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_proposal")),
        sa.UniqueConstraint("community_id", "number", name=op.f("uq_proposal_community_id")),
    )
    _spatial_index("proposal")
    op.create_index(
        "ix_proposal_community_id_submitted_on", "proposal", ["community_id", "submitted_on"]
    )
    op.create_table(
        "fund_line",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("source", sa.String(32), nullable=True),
        sa.Column("item", sa.String(200), nullable=True),
        sa.Column("amount_fen", sa.BigInteger(), nullable=True),
        sa.Column("quantity", sa.Float(), nullable=True),
        sa.Column("unit", sa.String(16), nullable=True),
        sa.Column("contributor", sa.String(100), nullable=True),
        sa.Column("contact", sa.String(32), nullable=True),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        _fk("fund_line", "community_id", "community"),
        _fk("fund_line", "site_id", "site"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fund_line")),
    )
    op.create_index("ix_fund_line_site_id", "fund_line", ["site_id"])
    op.create_geospatial_table(
        "convention",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("scope", sa.String(16), nullable=False),
        sa.Column("building_id", sa.Integer(), nullable=True),
        sa.Column("unit", sa.String(32), nullable=True),
        sa.Column("facility", sa.String(100), nullable=True),
        sa.Column("households", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        _geom("POINT"),
        _fk("convention", "community_id", "community"),
        _fk("convention", "building_id", "building", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_convention")),
    )
    _spatial_index("convention")
    op.create_index("ix_convention_community_id", "convention", ["community_id"])
    op.create_table(
        "convention_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("convention_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("adopted_on", sa.Date(), nullable=False),
        sa.Column("agreed", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        _fk("convention_version", "convention_id", "convention"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_convention_version")),
        sa.UniqueConstraint(
            "convention_id", "number", name=op.f("uq_convention_version_convention_id")
        ),
    )
    op.create_geospatial_table(
        "event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("time", sa.String(5), nullable=True),
        sa.Column("place", sa.String(200), nullable=True),
        sa.Column("capacity", sa.Integer(), nullable=True),
        sa.Column("walk_ins", sa.Integer(), nullable=False),
        sa.Column("public", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        _geom("POINT"),
        _fk("event", "community_id", "community"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event")),
    )
    _spatial_index("event")
    op.create_index("ix_event_community_id_day", "event", ["community_id", "day"])
    op.create_table(
        "event_signup",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(100), nullable=True),
        sa.Column("phone", sa.String(32), nullable=True),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("party", sa.Integer(), nullable=False),
        sa.Column("attended", sa.Boolean(), nullable=False),
        sa.Column("device_hash", sa.String(64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        _fk("event_signup", "event_id", "event"),
        _fk("event_signup", "person_id", "person", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_signup")),
    )
    op.create_index("ix_event_signup_event_id", "event_signup", ["event_id"])
    op.create_table(
        "points_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=True),
        sa.Column("item", sa.String(200), nullable=True),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        _fk("points_entry", "community_id", "community"),
        _fk("points_entry", "person_id", "person"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_points_entry")),
        sa.UniqueConstraint(
            "person_id", "kind", "source_id", name=op.f("uq_points_entry_person_id")
        ),
    )
    op.create_index("ix_points_entry_community_id", "points_entry", ["community_id"])


def downgrade() -> None:
    op.drop_index("ix_points_entry_community_id", "points_entry")
    op.drop_table("points_entry")
    op.drop_index("ix_event_signup_event_id", "event_signup")
    op.drop_table("event_signup")
    op.drop_index("ix_event_community_id_day", "event")
    _drop_spatial_index("event")
    op.drop_geospatial_table("event")
    op.drop_table("convention_version")
    op.drop_index("ix_convention_community_id", "convention")
    _drop_spatial_index("convention")
    op.drop_geospatial_table("convention")
    op.drop_index("ix_fund_line_site_id", "fund_line")
    op.drop_table("fund_line")
    op.drop_index("ix_proposal_community_id_submitted_on", "proposal")
    _drop_spatial_index("proposal")
    op.drop_geospatial_table("proposal")
    op.drop_index("ix_meeting_attachment_meeting_id", "meeting_attachment")
    op.drop_table("meeting_attachment")
    op.drop_index("ix_meeting_link_target", "meeting_link")
    op.drop_table("meeting_link")
    op.drop_index("ix_meeting_attendee_meeting_id", "meeting_attendee")
    op.drop_table("meeting_attendee")
    op.drop_index("ix_meeting_community_id_held_on", "meeting")
    _drop_spatial_index("meeting")
    op.drop_geospatial_table("meeting")
    op.drop_table("person_link")
    op.drop_index("ix_team_member_person_id", "team_member")
    op.drop_index("ix_team_member_team_id", "team_member")
    op.drop_table("team_member")
    op.drop_table("team")
    op.drop_index("ix_person_community_id", "person")
    op.drop_table("person")
