"""Open311 GeoReport v2: client API keys per community (only hashes), and on each request the
key that posted it, the service definition's answers, a media link and private contact details.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

REQUEST_COLUMNS = (
    ("api_key_id", sa.Integer()),
    ("attributes", sa.JSON()),
    ("media_url", sa.String(500)),
    ("contact_email", sa.String(200)),
    ("contact_name", sa.String(100)),
)


def upgrade() -> None:
    op.create_table(
        "api_key",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("client", sa.String(100), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["community.id"],
            name=op.f("fk_api_key_community_id_community"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_key")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_key_key_hash")),
    )
    op.create_index("ix_api_key_community_id", "api_key", ["community_id"])
    # Plain ADD COLUMN (no batch copy: SpatiaLite's geometry registration must survive).
    for name, type_ in REQUEST_COLUMNS:
        op.add_column("request", sa.Column(name, type_, nullable=True))


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite ≥ 3.35): a batch table copy would lose SpatiaLite's registration.
    for name, _ in reversed(REQUEST_COLUMNS):
        op.drop_column("request", name)
    op.drop_index("ix_api_key_community_id", "api_key")
    op.drop_table("api_key")
