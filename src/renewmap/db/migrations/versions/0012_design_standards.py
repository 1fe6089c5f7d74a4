"""A community's design standards: unit costs of the bill of quantities and rule thresholds.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-21
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN (no batch copy: SpatiaLite's geometry registration must survive).
    op.add_column("community", sa.Column("design_standards", sa.JSON(), nullable=True))


def downgrade() -> None:
    op.drop_column("community", "design_standards")
