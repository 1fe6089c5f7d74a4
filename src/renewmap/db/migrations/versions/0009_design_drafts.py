"""Design drafts (多稿设计) of a site and their drawn features.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-21
"""

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "design_draft",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("copied_from_id", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["site_id"], ["site.id"], name=op.f("fk_design_draft_site_id_site"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_design_draft")),
        sa.UniqueConstraint("site_id", "number", name=op.f("uq_design_draft_site_id")),
    )
    op.create_geospatial_table(
        "design_feature",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("draft_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("props", sa.JSON(), nullable=False),
        sa.Column(
            "geom",
            Geometry(
                geometry_type="GEOMETRY",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
            ),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["draft_id"],
            ["design_draft.id"],
            name=op.f("fk_design_feature_draft_id_design_draft"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_design_feature")),
    )
    with op.batch_alter_table("design_feature", schema=None) as batch_op:
        batch_op.create_geospatial_index(
            "idx_design_feature_geom",
            ["geom"],
            unique=False,
            postgresql_using="gist",
            postgresql_ops={},
        )
    op.create_index("ix_design_feature_draft_id", "design_feature", ["draft_id"])


def downgrade() -> None:
    op.drop_index("ix_design_feature_draft_id", "design_feature")
    with op.batch_alter_table("design_feature", schema=None) as batch_op:
        batch_op.drop_geospatial_index(
            "idx_design_feature_geom", postgresql_using="gist", column_name="geom"
        )
    op.drop_geospatial_table("design_feature")
    op.drop_table("design_draft")
