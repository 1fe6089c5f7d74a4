"""Residents (issue 16): consent to be told of progress, its withdrawal and the resident's
language and address of the app, on each request;
a code that moves a plant's adoption to a new phone (only its hash, with an expiry).

Revision ID: 0014_residents
Revises: 0014
Create Date: 2026-12-01
"""

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.types import TypeEngine

revision = "0014_residents"
down_revision = "0014"
branch_labels = None
depends_on = None

REQUEST_COLUMNS: tuple[tuple[str, TypeEngine[Any]], ...] = (
    ("notify_consent_at", sa.DateTime(timezone=True)),
    ("notify_stopped_at", sa.DateTime(timezone=True)),
    ("notify_prefs", sa.JSON()),
)
ADOPTION_COLUMNS: tuple[tuple[str, TypeEngine[Any]], ...] = (
    ("transfer_code_hash", sa.String(64)),
    ("transfer_expires_at", sa.DateTime(timezone=True)),
)


def upgrade() -> None:
    # Plain ADD COLUMN (no batch copy: SpatiaLite's geometry registration must survive).
    for name, type_ in REQUEST_COLUMNS:
        op.add_column("request", sa.Column(name, type_, nullable=True))
    for name, type_ in ADOPTION_COLUMNS:
        op.add_column("plant_adoption", sa.Column(name, type_, nullable=True))


def downgrade() -> None:
    for name, _ in reversed(ADOPTION_COLUMNS):
        op.drop_column("plant_adoption", name)
    for name, _ in reversed(REQUEST_COLUMNS):
        op.drop_column("request", name)
