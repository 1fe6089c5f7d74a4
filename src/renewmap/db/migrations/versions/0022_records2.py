"""Participation records, second part (issue 18): households agree to a convention's version
with their consultation codes (征询单), once per household and version.

Revision ID: 0022_records2
Revises: 0017_org
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0022_records2"
down_revision = "0017_org"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("convention_version", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("by_codes", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    op.create_table(
        "convention_agreement",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("household_code_id", sa.Integer(), nullable=True),
        sa.Column("building", sa.String(64), nullable=False),
        sa.Column("stairwell", sa.String(32), nullable=True),
        sa.Column("household", sa.String(32), nullable=False),
        sa.Column("household_key", sa.String(140), nullable=False),
        sa.Column("agreed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["convention_version.id"],
            name=op.f("fk_convention_agreement_version_id_convention_version"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["household_code_id"],
            ["household_code.id"],
            name=op.f("fk_convention_agreement_household_code_id_household_code"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_convention_agreement")),
        sa.UniqueConstraint(
            "version_id", "household_key", name=op.f("uq_convention_agreement_version_id")
        ),
    )
    op.create_index("ix_convention_agreement_version_id", "convention_agreement", ["version_id"])


def downgrade() -> None:
    op.drop_index("ix_convention_agreement_version_id", "convention_agreement")
    op.drop_table("convention_agreement")
    with op.batch_alter_table("convention_version", schema=None) as batch_op:
        batch_op.drop_column("by_codes")
