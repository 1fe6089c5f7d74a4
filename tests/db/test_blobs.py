"""Photos and files outside the database, on both databases: the migration that moves the
bytes out (and back), writes that put the blob before the row commits, and `renewmap blobs gc`
and `check`."""

from __future__ import annotations

import hashlib
import io
import os
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import inspect, select, text
from sqlalchemy.orm import Session

from renewmap import blobs
from renewmap.cli import main
from renewmap.db.engine import make_engine
from renewmap.db.migrate import downgrade, upgrade
from renewmap.db.models import (
    Community,
    Meeting,
    MeetingAttachment,
    Plant,
    PlantCare,
    Request,
    RequestPhoto,
    Site,
    SitePhoto,
    SiteStage,
    StageAttachment,
)
from renewmap.services.ingest.demo import load_demo
from renewmap.services.requests import suggestions
from tests.support.paths import DEMO_DIR
from tests.support.places import add_test_community, pt

BYTES_COLUMNS = {
    "request_photo": {"data", "thumbnail"},
    "site_photo": {"data", "thumbnail"},
    "plant_care": {"photo", "photo_thumbnail"},
    "stage_attachment": {"data"},
    "meeting_attachment": {"data"},
}


def jpeg(size: tuple[int, int], colour: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, format="JPEG")
    return out.getvalue()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def blob_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """This test's own blob directory (the environment every store is configured from)."""
    root = tmp_path / "blobs"
    monkeypatch.setenv("RENEWMAP_BLOB_DIR", str(root))
    return root


def _one_of_each(s: Session) -> dict[str, bytes]:
    """A row with a file in each table that keeps one (on the demo, which has photos of its
    own), written by today's models; by table, the row's id and the bytes it names."""
    store = blobs.store_for(s)
    community = s.scalars(select(Community).order_by(Community.id)).first()
    site = s.scalars(select(Site).where(Site.community_id == community.id)).first()
    plant = s.scalars(select(Plant).order_by(Plant.id)).first()
    request = s.scalars(select(Request).order_by(Request.id)).first()
    stage = SiteStage(site_id=site.id, stage="proposal", updated_by="test")
    meeting = Meeting(
        community_id=community.id,
        kind="council",
        title="议事会",
        held_on=date(2026, 5, 1),
        parties=[],
        created_by="test",
    )
    s.add_all([stage, meeting])
    s.flush()
    photo, thumb = jpeg((60, 40), (200, 10, 10)), jpeg((30, 20), (200, 10, 10))
    care, care_thumb = jpeg((80, 50), (10, 200, 10)), jpeg((16, 10), (10, 200, 10))
    pdf, minutes = b"%PDF-1.4 sign-in sheet", b"%PDF-1.4 minutes"

    def put(data: bytes) -> str:
        return store.put(data, "image/jpeg")

    rows = dict(
        request_photo=RequestPhoto(request_id=request.id, content_type="image/jpeg",
                                   width=60, height=40,
                         data_key=put(photo), data_size=len(photo),
                         thumbnail_key=put(thumb), thumbnail_size=len(thumb)),
        site_photo=SitePhoto(site_id=site.id, phase="before", taken_on=date(2026, 4, 1),
                      content_type="image/jpeg", width=60, height=40,
                      data_key=put(photo), data_size=len(photo),
                      thumbnail_key=put(thumb), thumbnail_size=len(thumb)),
        plant_care=PlantCare(plant_id=plant.id, kind="watering", by="小李", photo_key=put(care),
                      photo_size=len(care), photo_width=80, photo_height=50,
                      photo_thumbnail_key=put(care_thumb), photo_thumbnail_size=len(care_thumb)),
        stage_attachment=StageAttachment(stage_id=stage.id, filename="签到表.pdf",
                            content_type="application/pdf", data_key=put(pdf), size=len(pdf)),
        meeting_attachment=MeetingAttachment(meeting_id=meeting.id, filename="纪要.pdf",
                              content_type="application/pdf", data_key=put(minutes),
                              size=len(minutes)),
    )  # fmt: skip
    s.add_all([*rows.values(), PlantCare(plant_id=plant.id, kind="watering", by="小李")])
    s.flush()  # (the last one without a photo)
    data = {
        "request_photo": photo,
        "site_photo": photo,
        "plant_care": care,
        "stage_attachment": pdf,
        "meeting_attachment": minutes,
    }
    return {table: (row.id, data[table]) for table, row in rows.items()}


def test_migration_moves_the_bytes_out_and_back(database_url_factory, blob_dir) -> None:
    e = make_engine(database_url_factory())
    try:
        upgrade(e)
        with Session(e) as s, s.begin():
            load_demo(s, DEMO_DIR)
            written = _one_of_each(s)
        with e.connect() as conn:
            for table in BYTES_COLUMNS:  # today's schema holds no bytes
                columns = {c["name"] for c in inspect(conn).get_columns(table)}
                assert not columns & BYTES_COLUMNS[table], table
        # back to the previous release: every blob is read back into its row
        downgrade(e, "0023_perf")
        with e.connect() as conn:
            for table, (row_id, data) in written.items():
                column = "photo" if table == "plant_care" else "data"
                stored = conn.execute(
                    text(f"SELECT {column} FROM {table} WHERE id = :id"), {"id": row_id}
                ).scalar_one()
                assert bytes(stored) == data, table
            assert (
                conn.execute(
                    text("SELECT count(*) FROM plant_care WHERE photo IS NULL")
                ).scalar_one()
                >= 1
            )
        # the store is lost (a new machine): upgrading writes every blob again from the rows
        for path in blob_dir.rglob("*"):
            if path.is_file():
                path.unlink()
        upgrade(e)
        store = blobs.DirectoryStore(blob_dir)
        with e.connect() as conn:
            for table, (row_id, data) in written.items():
                key_col, size_col = {
                    "plant_care": ("photo_key", "photo_size"),
                    "stage_attachment": ("data_key", "size"),
                    "meeting_attachment": ("data_key", "size"),
                }.get(table, ("data_key", "data_size"))
                key, size = conn.execute(
                    text(f"SELECT {key_col}, {size_col} FROM {table} WHERE id = :id"),
                    {"id": row_id},
                ).one()
                assert key == sha(data) and size == len(data), table
                assert store.get(key) == data
            # the care photo's size was read from the image itself
            dims = conn.execute(
                text("SELECT photo_width, photo_height FROM plant_care WHERE id = :id"),
                {"id": written["plant_care"][0]},
            ).one()
            assert tuple(dims) == (80, 50)
            assert (
                conn.execute(
                    text("SELECT count(*) FROM plant_care WHERE photo_key IS NULL")
                ).scalar_one()
                >= 1
            )
        # a downgrade whose blobs are missing refuses before changing anything
        missing = sha(written["meeting_attachment"][1])
        (blob_dir / missing[:2] / missing[2:4] / missing).unlink()
        with pytest.raises(RuntimeError, match="missing from the blob store"):
            downgrade(e, "0023_perf")
        with e.connect() as conn:
            columns = {c["name"] for c in inspect(conn).get_columns("meeting_attachment")}
            assert "data_key" in columns and "data" not in columns
    finally:
        e.dispose()


def test_a_post_puts_its_photos_before_the_row_and_gc_collects_orphans(
    cli_db, blob_dir, capsys
) -> None:
    e = make_engine(cli_db)
    photo = jpeg((400, 300), (1, 2, 3))
    try:
        with Session(e) as s, s.begin():
            add_test_community(s)
        with Session(e) as s, s.begin():
            made = suggestions.create_suggestion(
                s, secret="s", geom=pt(0.5, 0.5), category="lighting", title="灯",
                photos=[("a.jpg", photo)],
            )  # fmt: skip
            rid = made.request.id
        # a post whose transaction rolls back leaves its blobs behind, never a row
        with Session(e) as s:
            s.begin()
            suggestions.create_suggestion(
                s, secret="s", geom=pt(0.5, 0.5), category="lighting", title="灯2",
                photos=[("b.jpg", jpeg((200, 100), (9, 9, 9)))],
            )  # fmt: skip
            s.rollback()
        with Session(e) as s:
            (row,) = s.scalars(select(RequestPhoto).where(RequestPhoto.request_id == rid))
            kept = {row.data_key, row.thumbnail_key}
            assert blobs.get(s, row.data_key)[:2] == b"\xff\xd8" and row.data_size > 0
            assert row.width == 400 and row.height == 300
    finally:
        e.dispose()
    store = blobs.DirectoryStore(blob_dir)
    orphans = {b.key for b in store.blobs()} - kept
    assert len(orphans) == 2  # the photo and thumbnail of the post rolled back
    # everything is younger than an hour: gc keeps it all
    assert main(["blobs", "gc"]) == 0
    assert {b.key for b in store.blobs()} == kept | orphans
    # two hours later (the orphans' files made older), only the orphans go
    old = (datetime.now(UTC) - timedelta(hours=2)).timestamp()
    for b in store.blobs():
        path = blob_dir / b.key[:2] / b.key[2:4] / b.key
        os.utime(path, (old, old))
    assert main(["blobs", "gc", "--dry-run"]) == 0
    assert {b.key for b in store.blobs()} == kept | orphans
    capsys.readouterr()
    assert main(["--lang", "en", "blobs", "gc"]) == 0
    assert "2 unreferenced file(s) deleted" in capsys.readouterr().out
    assert {b.key for b in store.blobs()} == kept
    assert main(["blobs", "check"]) == 0
    # a row whose blob is gone (restored without the blob directory) is reported
    gone = sorted(kept)[0]
    store.delete(gone)
    capsys.readouterr()
    assert main(["--lang", "en", "blobs", "check"]) == 1
    out = capsys.readouterr().out
    assert gone in out and "1 stored file(s) named by rows are missing" in out
