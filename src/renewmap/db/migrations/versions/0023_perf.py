"""Failed sign-ins with unknown usernames, counted like an account's (issue 16): a locked
account's 429 must not tell that the username exists.

Revision ID: 0023_perf
Revises: 0022_records2
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0023_perf"
down_revision = "0022_records2"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "login_failure",
        sa.Column("name_hash", sa.String(64), nullable=False),
        sa.Column("failures", sa.Integer(), server_default="0", nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("name_hash"),
    )


def downgrade() -> None:
    op.drop_table("login_failure")
