"""Indexes on foreign keys used by routing, owner chains and per-community listings.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

INDEXES = [
    ("ix_grid_community_id", "grid", ["community_id"]),
    ("ix_building_grid_id", "building", ["grid_id"]),
    ("ix_building_community_id", "building", ["community_id"]),
    ("ix_party_branch_community_id_level", "party_branch", ["community_id", "level"]),
    ("ix_party_branch_parent_id", "party_branch", ["parent_id"]),
    ("ix_request_community_id_status", "request", ["community_id", "status"]),
    ("ix_request_grid_id", "request", ["grid_id"]),
    ("ix_request_event_request_id", "request_event", ["request_id"]),
]


def upgrade() -> None:
    for name, table, cols in INDEXES:
        op.create_index(name, table, cols)


def downgrade() -> None:
    for name, table, _ in reversed(INDEXES):
        op.drop_index(name, table_name=table)
