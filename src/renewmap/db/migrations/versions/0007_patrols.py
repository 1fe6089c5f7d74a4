"""Patrols (巡查): a grid's monthly walk with its route; findings are requests linked to it.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-21
"""

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_geospatial_table(
        "patrol",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("grid_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("participants", sa.Text(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("recorded_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "geom",
            Geometry(
                geometry_type="MULTILINESTRING",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
            ),
            nullable=True,
        ),
        sa.ForeignKeyConstraint(
            ["grid_id"], ["grid.id"], name=op.f("fk_patrol_grid_id_grid"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patrol")),
    )
    with op.batch_alter_table("patrol", schema=None) as batch_op:
        batch_op.create_geospatial_index(
            "idx_patrol_geom", ["geom"], unique=False, postgresql_using="gist", postgresql_ops={}
        )
    op.create_index("ix_patrol_grid_id_day", "patrol", ["grid_id", "day"])
    op.add_column("request", sa.Column("patrol_id", sa.Integer(), nullable=True))


def downgrade() -> None:
    op.drop_column("request", "patrol_id")
    op.drop_index("ix_patrol_grid_id_day", "patrol")
    with op.batch_alter_table("patrol", schema=None) as batch_op:
        batch_op.drop_geospatial_index(
            "idx_patrol_geom", postgresql_using="gist", column_name="geom"
        )
    op.drop_geospatial_table("patrol")
