"""Plant adoption (认养) and the growth ID card's care log.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-21
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "plant_adoption",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("plant_id", sa.Integer(), nullable=False),
        sa.Column("nickname", sa.String(40), nullable=False),
        sa.Column("phone", sa.String(32), nullable=True),
        sa.Column("device_hash", sa.String(64), nullable=False),
        sa.Column("adopted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["plant_id"],
            ["plant.id"],
            name=op.f("fk_plant_adoption_plant_id_plant"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plant_adoption")),
    )
    op.create_index("ix_plant_adoption_plant_id", "plant_adoption", ["plant_id"])
    op.create_table(
        "plant_care",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("plant_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("by", sa.String(40), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["plant_id"],
            ["plant.id"],
            name=op.f("fk_plant_care_plant_id_plant"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plant_care")),
    )
    op.create_index("ix_plant_care_plant_id", "plant_care", ["plant_id"])


def downgrade() -> None:
    op.drop_index("ix_plant_care_plant_id", "plant_care")
    op.drop_table("plant_care")
    op.drop_index("ix_plant_adoption_plant_id", "plant_adoption")
    op.drop_table("plant_adoption")
