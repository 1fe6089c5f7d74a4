"""Residents' suggestions: receipt codes, private follow links, contact details, moderation,
photos, supports and comments.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21
"""

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

NEW_COLUMNS: list[sa.Column[Any]] = [
    sa.Column("receipt_code", sa.String(16), nullable=True),
    sa.Column("follow_token_hash", sa.String(64), nullable=True),
    sa.Column("nickname", sa.String(40), nullable=True),
    sa.Column("show_nickname", sa.Boolean(), nullable=False, server_default=sa.false()),
    sa.Column("phone", sa.String(32), nullable=True),
    sa.Column("hidden", sa.Boolean(), nullable=False, server_default=sa.false()),
    sa.Column("support_count", sa.Integer(), nullable=False, server_default="0"),
]


def upgrade() -> None:
    for column in NEW_COLUMNS:
        op.add_column("request", column)
    op.create_index("uq_request_receipt_code", "request", ["receipt_code"], unique=True)
    op.create_table(
        "request_photo",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("content_type", sa.String(32), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("thumbnail", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["request.id"],
            name=op.f("fk_request_photo_request_id_request"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_request_photo")),
    )
    op.create_index("ix_request_photo_request_id", "request_photo", ["request_id"])
    op.create_table(
        "request_support",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("supporter_hash", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["request.id"],
            name=op.f("fk_request_support_request_id_request"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_request_support")),
        sa.UniqueConstraint(
            "request_id", "supporter_hash", name=op.f("uq_request_support_request_id")
        ),
    )
    op.create_table(
        "request_comment",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("nickname", sa.String(40), nullable=True),
        sa.Column("hidden", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["request.id"],
            name=op.f("fk_request_comment_request_id_request"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_request_comment")),
    )
    op.create_index("ix_request_comment_request_id", "request_comment", ["request_id"])


def downgrade() -> None:
    op.drop_index("ix_request_comment_request_id", table_name="request_comment")
    op.drop_table("request_comment")
    op.drop_table("request_support")
    op.drop_index("ix_request_photo_request_id", table_name="request_photo")
    op.drop_table("request_photo")
    op.drop_index("uq_request_receipt_code", table_name="request")
    # Plain DROP COLUMN (SQLite ≥ 3.35): a batch table copy would fight SpatiaLite's
    # geometry triggers and the foreign keys that point at `request`.
    for column in reversed(NEW_COLUMNS):
        op.drop_column("request", column.name)
