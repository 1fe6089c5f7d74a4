"""Photos and attached files move out of the database into the blob store (issue 19 item 7):
each bytes column becomes a key (the SHA-256 of the bytes) and a size.

Upgrade writes every stored blob to the configured store (``RENEWMAP_BLOB_DIR`` or
``RENEWMAP_BLOB_S3_*``, else the default directory beside the database) before the row is
pointed at it, then drops the bytes columns: the backups shrink by the photos' size at once,
which is the point. Downgrade reads every blob back into re-created bytes columns and stops
(nothing changed) if one is missing from the store; the blobs stay in the store.

Revision ID: 0023_photos
Revises: 0023_perf
Create Date: 2026-12-01
"""

import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from alembic import context, op

revision = "0023_photos"
down_revision = "0023_perf"
branch_labels = None
depends_on = None


@dataclass(frozen=True)
class Moved:
    """One bytes column and the columns that replace it."""

    table: str
    old: str
    key: str
    size: str
    required: bool
    content_type: str | None = None  # column with the type; None: JPEG
    dims: tuple[str, str] | None = None  # width/height columns filled from the image


MOVED = (
    Moved("request_photo", "data", "data_key", "data_size", True, "content_type"),
    Moved("request_photo", "thumbnail", "thumbnail_key", "thumbnail_size", True, "content_type"),
    Moved("site_photo", "data", "data_key", "data_size", True, "content_type"),
    Moved("site_photo", "thumbnail", "thumbnail_key", "thumbnail_size", True, "content_type"),
    Moved("plant_care", "photo", "photo_key", "photo_size", False,
          dims=("photo_width", "photo_height")),
    Moved("plant_care", "photo_thumbnail", "photo_thumbnail_key", "photo_thumbnail_size", False),
    Moved("stage_attachment", "data", "data_key", "size", True, "content_type"),
    Moved("meeting_attachment", "data", "data_key", "size", True, "content_type"),
)  # fmt: skip
TABLES = tuple(dict.fromkeys(m.table for m in MOVED))


def _store() -> Any:
    from renewmap import blobs
    from renewmap.settings import Settings

    given = context.config.attributes.get("blob_store")
    if given is not None:
        return given
    url = op.get_bind().engine.url.render_as_string(hide_password=False)
    return blobs.store_from_settings(Settings(), url)


def _ids(table: str, column: str) -> Iterator[int]:
    """Row ids with bytes in ``column`` (the ids first: one blob in memory at a time)."""
    t = sa.table(table, sa.column("id"), sa.column(column))
    rows = op.get_bind().execute(sa.select(t.c.id).where(t.c[column].is_not(None)).order_by(t.c.id))
    yield from [r[0] for r in rows]


def _size_of(data: bytes) -> tuple[int, int] | None:
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as im:
            return im.size
    except Exception:  # an unreadable image keeps its bytes, without a size
        return None


def upgrade() -> None:
    store = _store()
    bind = op.get_bind()
    for table in TABLES:
        moved = [m for m in MOVED if m.table == table]
        with op.batch_alter_table(table) as batch:
            for m in moved:
                batch.add_column(sa.Column(m.key, sa.String(64), nullable=True))
                batch.add_column(sa.Column(m.size, sa.Integer(), nullable=True))
                for dim in m.dims or ():
                    batch.add_column(sa.Column(dim, sa.Integer(), nullable=True))
        for m in moved:
            cols: list[Any] = [
                sa.column("id"),
                sa.column(m.old),
                sa.column(m.key),
                sa.column(m.size),
            ]
            cols += [sa.column(c) for c in ((m.content_type,) if m.content_type else ())]
            cols += [sa.column(d) for d in m.dims or ()]
            t = sa.table(table, *cols)
            for row_id in _ids(table, m.old):
                row = bind.execute(sa.select(t).where(t.c.id == row_id)).mappings().one()
                data = bytes(row[m.old])
                media = row[m.content_type] if m.content_type else "image/jpeg"
                values = {m.key: store.put(data, media), m.size: len(data)}  # the blob first
                if m.dims and (size := _size_of(data)) is not None:
                    values |= dict(zip(m.dims, size, strict=True))
                bind.execute(sa.update(t).where(t.c.id == row_id).values(**values))
        with op.batch_alter_table(table) as batch:
            for m in moved:
                batch.drop_column(m.old)
                if m.required:
                    batch.alter_column(m.key, existing_type=sa.String(64), nullable=False)
                    batch.alter_column(m.size, existing_type=sa.Integer(), nullable=False)


def downgrade() -> None:
    store = _store()
    bind = op.get_bind()
    # every blob must still be there before anything changes
    missing = []
    for m in MOVED:
        t = sa.table(m.table, sa.column("id"), sa.column(m.key))
        for row_id, key in bind.execute(
            sa.select(t.c.id, t.c[m.key]).where(t.c[m.key].is_not(None))
        ):
            if not store.exists(key):
                missing.append(f"{m.table}.{m.key} id={row_id} ({key})")
    if missing:
        raise RuntimeError(
            f"cannot move {len(missing)} file(s) back into the database: missing from the blob "
            f"store {store!r}: " + "; ".join(missing[:10])
        )
    for table in TABLES:
        moved = [m for m in MOVED if m.table == table]
        with op.batch_alter_table(table) as batch:
            for m in moved:
                batch.add_column(sa.Column(m.old, sa.LargeBinary(), nullable=True))
        for m in moved:
            t = sa.table(table, sa.column("id"), sa.column(m.key), sa.column(m.old))
            for row_id in _ids(table, m.key):
                key = bind.execute(sa.select(t.c[m.key]).where(t.c.id == row_id)).scalar_one()
                bind.execute(sa.update(t).where(t.c.id == row_id).values({m.old: store.get(key)}))
        with op.batch_alter_table(table) as batch:
            for m in moved:
                if m.required:
                    batch.alter_column(m.old, existing_type=sa.LargeBinary(), nullable=False)
                batch.drop_column(m.key)
                batch.drop_column(m.size)
                for dim in m.dims or ():
                    batch.drop_column(dim)
