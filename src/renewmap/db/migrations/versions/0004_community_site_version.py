"""Community site version: bumped by every import that changes the site plan, so rendered
pages can be cached and revalidated (ETag) without comparing geometry.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "community",
        sa.Column("site_version", sa.Integer(), nullable=False, server_default="1"),
    )


def downgrade() -> None:
    with op.batch_alter_table("community") as batch:
        batch.drop_column("site_version")
