"""The participatory process of a site: stages with dates, minutes and attachments; drafts put
to public consultation, residents' comments (optionally placed on the draft's map) and votes;
suggestions a draft adopts; dated before/after photos; suggestions pinned for a site; photos
in a plant's care log.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-21
"""

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}"), ondelete="CASCADE"
    )


def upgrade() -> None:
    # Plain ADD COLUMN (no batch copy: SpatiaLite's geometry registration must survive).
    op.add_column("site", sa.Column("stage", sa.String(32), nullable=True))
    op.add_column("request", sa.Column("site_id", sa.Integer(), nullable=True))
    op.add_column(
        "design_draft",
        sa.Column("public", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.add_column("plant_care", sa.Column("photo", sa.LargeBinary(), nullable=True))
    op.add_column("plant_care", sa.Column("photo_thumbnail", sa.LargeBinary(), nullable=True))
    op.create_table(
        "site_stage",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("stage", sa.String(32), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=True),
        sa.Column("ends_on", sa.Date(), nullable=True),
        sa.Column("minutes", sa.Text(), nullable=True),
        sa.Column("updated_by", sa.String(200), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        _fk("site_stage", "site_id", "site"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_site_stage")),
        sa.UniqueConstraint("site_id", "stage", name=op.f("uq_site_stage_site_id")),
    )
    op.create_table(
        "stage_attachment",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("stage_id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(200), nullable=False),
        sa.Column("content_type", sa.String(100), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        _fk("stage_attachment", "stage_id", "site_stage"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stage_attachment")),
    )
    op.create_index("ix_stage_attachment_stage_id", "stage_attachment", ["stage_id"])
    op.create_table(
        "draft_request",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("draft_id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        _fk("draft_request", "draft_id", "design_draft"),
        _fk("draft_request", "request_id", "request"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_draft_request")),
        sa.UniqueConstraint("draft_id", "request_id", name=op.f("uq_draft_request_draft_id")),
    )
    op.create_index("ix_draft_request_request_id", "draft_request", ["request_id"])
    op.create_geospatial_table(
        "draft_comment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("draft_id", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("nickname", sa.String(40), nullable=True),
        sa.Column("device_hash", sa.String(64), nullable=False),
        sa.Column("hidden", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "geom",
            Geometry(
                geometry_type="POINT",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
            ),
            nullable=True,
        ),
        _fk("draft_comment", "draft_id", "design_draft"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_draft_comment")),
    )
    op.create_index("ix_draft_comment_draft_id", "draft_comment", ["draft_id"])
    op.create_table(
        "draft_vote",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("draft_id", sa.Integer(), nullable=False),
        sa.Column("device_hash", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        _fk("draft_vote", "site_id", "site"),
        _fk("draft_vote", "draft_id", "design_draft"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_draft_vote")),
        sa.UniqueConstraint("site_id", "device_hash", name=op.f("uq_draft_vote_site_id")),
    )
    op.create_index("ix_draft_vote_draft_id", "draft_vote", ["draft_id"])
    op.create_table(
        "site_photo",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("phase", sa.String(8), nullable=False),
        sa.Column("taken_on", sa.Date(), nullable=False),
        sa.Column("caption", sa.String(200), nullable=True),
        sa.Column("content_type", sa.String(32), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("thumbnail", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        _fk("site_photo", "site_id", "site"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_site_photo")),
    )
    op.create_index("ix_site_photo_site_id", "site_photo", ["site_id"])


def downgrade() -> None:
    for index, table in (
        ("ix_site_photo_site_id", "site_photo"),
        ("ix_draft_vote_draft_id", "draft_vote"),
        ("ix_draft_comment_draft_id", "draft_comment"),
        ("ix_draft_request_request_id", "draft_request"),
        ("ix_stage_attachment_stage_id", "stage_attachment"),
    ):
        op.drop_index(index, table)
    op.drop_table("site_photo")
    op.drop_table("draft_vote")
    op.drop_geospatial_table("draft_comment")
    op.drop_table("draft_request")
    op.drop_table("stage_attachment")
    op.drop_table("site_stage")
    # Plain DROP COLUMN (SQLite ≥ 3.35): a batch table copy would lose SpatiaLite's registration.
    op.drop_column("design_draft", "public")
    op.drop_column("request", "site_id")
    op.drop_column("site", "stage")
    op.drop_column("plant_care", "photo_thumbnail")
    op.drop_column("plant_care", "photo")
