"""Consultation residents can trust (issue 17): household forms with one-time codes and their
votes, objections during the announcement, the decision, steps skipped or passed without
minutes (who and why), the designer's description of a draft, builds of the chosen draft with
the layers they replaced, plants taken out by a build.

Revision ID: 0015_consult
Revises: 0014_residents
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0015_consult"
down_revision = "0014_residents"
branch_labels = None
depends_on = None


def _fk(table: str, column: str, target: str, ondelete: str = "CASCADE") -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}"), ondelete=ondelete
    )


def upgrade() -> None:
    # Plain ADD COLUMN (no batch copy: SpatiaLite's geometry registration must survive).
    op.add_column("site", sa.Column("decision_draft_id", sa.Integer(), nullable=True))
    op.add_column("site", sa.Column("decision_reasons", sa.Text(), nullable=True))
    op.add_column("site", sa.Column("decided_by", sa.String(200), nullable=True))
    op.add_column("site", sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("plant", sa.Column("removed_on", sa.Date(), nullable=True))
    op.add_column("design_draft", sa.Column("description", sa.Text(), nullable=True))
    op.add_column(
        "site_stage",
        sa.Column("skipped", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.add_column("site_stage", sa.Column("skip_reason", sa.Text(), nullable=True))
    op.add_column("site_stage", sa.Column("skipped_by", sa.String(200), nullable=True))
    op.add_column("site_stage", sa.Column("override_reason", sa.Text(), nullable=True))
    op.add_column("site_stage", sa.Column("override_by", sa.String(200), nullable=True))
    op.create_table(
        "household_code",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("building_id", sa.Integer(), nullable=True),
        sa.Column("building", sa.String(64), nullable=False),
        sa.Column("stairwell", sa.String(32), nullable=True),
        sa.Column("household", sa.String(32), nullable=False),
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("issued_by", sa.String(200), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("device_hash", sa.String(64), nullable=True),
        sa.Column("draft_id", sa.Integer(), nullable=True),
        sa.Column("voted_at", sa.DateTime(timezone=True), nullable=True),
        _fk("household_code", "site_id", "site"),
        _fk("household_code", "building_id", "building", "SET NULL"),
        _fk("household_code", "draft_id", "design_draft", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_household_code")),
        sa.UniqueConstraint("code_hash", name=op.f("uq_household_code_code_hash")),
    )
    for column in ("site_id", "building_id", "draft_id"):
        op.create_index(f"ix_household_code_{column}", "household_code", [column])
    op.create_table(
        "site_objection",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("nickname", sa.String(40), nullable=True),
        sa.Column("device_hash", sa.String(64), nullable=False),
        sa.Column("household_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("answered_by", sa.String(200), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        _fk("site_objection", "site_id", "site"),
        _fk("site_objection", "household_id", "household_code", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_site_objection")),
    )
    op.create_index("ix_site_objection_site_id", "site_objection", ["site_id"])
    op.create_table(
        "site_build",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("draft_id", sa.Integer(), nullable=True),
        sa.Column("draft_number", sa.Integer(), nullable=False),
        sa.Column("draft_version", sa.Integer(), nullable=False),
        sa.Column("built_on", sa.Date(), nullable=False),
        sa.Column("built_by", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("before", sa.JSON(), nullable=False),
        sa.Column("after", sa.JSON(), nullable=False),
        _fk("site_build", "site_id", "site"),
        _fk("site_build", "draft_id", "design_draft", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_site_build")),
    )
    op.create_index("ix_site_build_site_id", "site_build", ["site_id"])


def downgrade() -> None:
    op.drop_index("ix_site_build_site_id", "site_build")
    op.drop_table("site_build")
    op.drop_index("ix_site_objection_site_id", "site_objection")
    op.drop_table("site_objection")
    for column in ("site_id", "building_id", "draft_id"):
        op.drop_index(f"ix_household_code_{column}", "household_code")
    op.drop_table("household_code")
    # Plain DROP COLUMN (SQLite ≥ 3.35): a batch table copy would lose SpatiaLite's registration.
    for column in ("override_by", "override_reason", "skipped_by", "skip_reason", "skipped"):
        op.drop_column("site_stage", column)
    op.drop_column("design_draft", "description")
    op.drop_column("plant", "removed_on")
    for column in ("decided_at", "decided_by", "decision_reasons", "decision_draft_id"):
        op.drop_column("site", column)
