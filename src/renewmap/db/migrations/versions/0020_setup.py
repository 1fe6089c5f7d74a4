"""A community's state: "setup" while its committee sets it up in the browser (hidden from
residents and from routing), "published" afterwards; every existing community is published.

Revision ID: 0020_setup
Revises: 0019_prod
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0020_setup"
down_revision = "0019_prod"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN (no batch copy), as in 0013.
    op.add_column(
        "community",
        sa.Column("state", sa.String(16), nullable=False, server_default="published"),
    )


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite ≥ 3.35): a batch table copy would lose SpatiaLite's registration.
    op.drop_column("community", "state")
