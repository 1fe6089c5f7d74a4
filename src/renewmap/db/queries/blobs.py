"""Which blobs the rows name (for the blob collector, ``renewmap blobs gc``)."""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import select, union
from sqlalchemy.orm import Session

from renewmap.db.models import (
    MeetingAttachment,
    PlantCare,
    ProposalPhoto,
    RequestPhoto,
    SitePhoto,
    StageAttachment,
)

# every column that holds a blob key
KEY_COLUMNS = (
    RequestPhoto.data_key,
    RequestPhoto.thumbnail_key,
    SitePhoto.data_key,
    SitePhoto.thumbnail_key,
    PlantCare.photo_key,
    PlantCare.photo_thumbnail_key,
    StageAttachment.data_key,
    MeetingAttachment.data_key,
    ProposalPhoto.data_key,
    ProposalPhoto.thumbnail_key,
)


def blob_keys(session: Session) -> Iterator[str]:
    """Distinct keys named by any row, streamed."""
    query = union(*(select(c.label("key")).where(c.is_not(None)) for c in KEY_COLUMNS))
    for (key,) in session.execute(query).yield_per(10_000):
        if key is not None:
            yield str(key)
