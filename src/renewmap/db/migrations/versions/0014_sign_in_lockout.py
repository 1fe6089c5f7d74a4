"""Failed sign-ins per staff account: a count and a lock time, stored so a delay holds across
addresses and workers (an admin clears it with ``renewmap user unlock``).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN (no batch copy), as in 0013.
    op.add_column(
        "staff_user",
        sa.Column("failed_logins", sa.Integer(), nullable=False, server_default="0"),
    )
    op.add_column("staff_user", sa.Column("locked_until", sa.DateTime(timezone=True)))


def downgrade() -> None:
    op.drop_column("staff_user", "locked_until")
    op.drop_column("staff_user", "failed_logins")
