"""Photos of proposals (issue 18 item 2): up to three per proposal, their bytes in the blob
store like the requests' photos (a key and a size per image and thumbnail).

Revision ID: 0024_propphotos
Revises: 0023_photos
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0024_propphotos"
down_revision = "0023_photos"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "proposal_photo",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("proposal_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("caption", sa.String(200), nullable=True),
        sa.Column("content_type", sa.String(32), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("data_key", sa.String(64), nullable=False),
        sa.Column("data_size", sa.Integer(), nullable=False),
        sa.Column("thumbnail_key", sa.String(64), nullable=False),
        sa.Column("thumbnail_size", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["proposal_id"],
            ["proposal.id"],
            name=op.f("fk_proposal_photo_proposal_id_proposal"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_proposal_photo")),
    )
    op.create_index("ix_proposal_photo_proposal_id", "proposal_photo", ["proposal_id"])


def downgrade() -> None:
    op.drop_index("ix_proposal_photo_proposal_id", "proposal_photo")
    op.drop_table("proposal_photo")
