"""Participation records (issue 18): meetings with attendees, links and files; residents' and
partners' proposals; a site's money and materials (budget, sources, spending, donated
material, crowdfunding pledges).

Revision ID: 0021_records
Revises: 0014
Create Date: 2026-12-10
"""

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry

revision = "0021_records"
down_revision = "0014"
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


def downgrade() -> None:
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
