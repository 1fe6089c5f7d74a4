"""Production (issue 19): notifications claimed with a lease and sent once by idempotency key;
rate-limit counters shared by every worker; indexes for newest-first request lists.

Revision ID: 0019_prod
Revises: 0015_consult
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0019_prod"
down_revision = "0015_consult"  # main's head when merged (the lead re-chains)
branch_labels = None
depends_on = None


def upgrade() -> None:
    # --- the outbox: claims with a lease, an idempotency key per message -------------------
    op.add_column("notification", sa.Column("idempotency_key", sa.String(64), nullable=True))
    op.add_column("notification", sa.Column("claimed_by", sa.String(100), nullable=True))
    op.add_column(
        "notification", sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True)
    )
    # messages already in the outbox get a key of their own (hex, like the new ones)
    notification = sa.table("notification", sa.column("id"), sa.column("idempotency_key"))
    op.execute(
        notification.update().values(
            idempotency_key=sa.literal("legacy-") + sa.cast(notification.c.id, sa.String)
        )
    )
    # the notification table has no geometry: SQLite's batch copy is safe here
    with op.batch_alter_table("notification") as batch:
        batch.alter_column("idempotency_key", existing_type=sa.String(64), nullable=False)
    op.create_index(
        "uq_notification_idempotency_key", "notification", ["idempotency_key"], unique=True
    )
    # --- rate limits shared by every worker and machine ------------------------------------
    op.create_table(
        "rate_bucket",
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("bucket", sa.BigInteger(), nullable=False, autoincrement=False),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.Column("expires", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("key", "bucket", name=op.f("pk_rate_bucket")),
    )
    op.create_index("ix_rate_bucket_expires", "rate_bucket", ["expires"])
    # --- city-scale reads: newest-first lists walk an index instead of sorting -------------
    op.create_index("ix_request_created_at_id", "request", ["created_at", "id"])
    op.create_index(
        "ix_request_community_id_created_at", "request", ["community_id", "created_at", "id"]
    )


def downgrade() -> None:
    op.drop_index("ix_request_community_id_created_at", "request")
    op.drop_index("ix_request_created_at_id", "request")
    op.drop_index("ix_rate_bucket_expires", "rate_bucket")
    op.drop_table("rate_bucket")
    op.drop_index("uq_notification_idempotency_key", "notification")
    with op.batch_alter_table("notification") as batch:
        batch.drop_column("lease_until")
        batch.drop_column("claimed_by")
        batch.drop_column("idempotency_key")
