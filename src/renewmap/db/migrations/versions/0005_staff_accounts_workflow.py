"""Staff accounts, roles in places, sessions and API tokens; request workflow columns
(optimistic version, duplicate-of, accepted/resolved times) and public/internal events.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-21
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "staff_user",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("display_name", sa.String(100), nullable=False),
        sa.Column("password_hash", sa.String(200), nullable=False),
        sa.Column("email", sa.String(200), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_user")),
        sa.UniqueConstraint("username", name=op.f("uq_staff_user_username")),
    )
    op.create_table(
        "staff_role",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("grid_id", sa.Integer(), nullable=True),
        sa.Column("branch_id", sa.Integer(), nullable=True),
        sa.Column("community_id", sa.Integer(), nullable=True),
        sa.Column("subdistrict_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["staff_user.id"],
            name=op.f("fk_staff_role_user_id_staff_user"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["grid_id"], ["grid.id"], name=op.f("fk_staff_role_grid_id_grid"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["branch_id"],
            ["party_branch.id"],
            name=op.f("fk_staff_role_branch_id_party_branch"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["community.id"],
            name=op.f("fk_staff_role_community_id_community"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["subdistrict_id"],
            ["subdistrict.id"],
            name=op.f("fk_staff_role_subdistrict_id_subdistrict"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_role")),
    )
    op.create_index("ix_staff_role_user_id", "staff_role", ["user_id"])
    op.create_table(
        "auth_token",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("label", sa.String(100), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["staff_user.id"],
            name=op.f("fk_auth_token_user_id_staff_user"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auth_token")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_auth_token_token_hash")),
    )
    op.create_index("ix_auth_token_user_id", "auth_token", ["user_id"])
    # Plain ADD COLUMN (no batch copy: SpatiaLite's geometry registration must survive).
    op.add_column("request", sa.Column("version", sa.Integer(), nullable=False, server_default="1"))
    op.add_column("request", sa.Column("duplicate_of_id", sa.Integer(), nullable=True))
    op.add_column("request", sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("request", sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("request", sa.Column("status_since", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE request SET status_since = created_at")
    op.add_column(
        "request_event",
        sa.Column("public", sa.Boolean(), nullable=False, server_default=sa.true()),
    )


def downgrade() -> None:
    op.drop_column("request_event", "public")
    # Plain DROP COLUMN (SQLite ≥ 3.35): a batch table copy would lose SpatiaLite's registration.
    for column in ("status_since", "resolved_at", "accepted_at", "duplicate_of_id", "version"):
        op.drop_column("request", column)
    op.drop_index("ix_auth_token_user_id", "auth_token")
    op.drop_table("auth_token")
    op.drop_index("ix_staff_role_user_id", "staff_role")
    op.drop_table("staff_role")
    op.drop_table("staff_user")
