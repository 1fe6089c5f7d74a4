"""scripts/backup-check.sh on a real PostGIS: a backup of a database with the demo and
residents' requests restores into an empty database with every table's rows."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import uuid

import psycopg
import pytest
from PIL import Image
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from renewmap.db.engine import make_engine
from renewmap.db.migrate import upgrade
from renewmap.db.models import Building, Request
from renewmap.services.ingest.demo import load_demo
from renewmap.services.requests import suggestions
from renewmap.services.requests.intake import create_request
from tests.support.paths import DEMO_DIR, ROOT
from tests.support.places import add_test_community, pt

SCRIPT = ROOT / "scripts" / "backup-check.sh"


def _database(cluster, template: str) -> str:
    name = f"backup_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(cluster.dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE {template}')
    return cluster.url.rsplit("/", 1)[0] + f"/{name}"


def _counts(s: Session) -> tuple[int | None, int | None]:
    return s.scalar(select(func.count(Request.id))), s.scalar(select(func.count(Building.id)))


def test_postgis_backup_restores_with_every_row(pg_cluster, tmp_path, monkeypatch) -> None:
    """(PostGIS only: a SpatiaLite database is one file, copied with sqlite3's .backup.)"""
    if pg_cluster is None:
        pytest.skip("PostGIS not available (apt-get install postgresql postgis)")
    blob_dir = tmp_path / "blobs"
    monkeypatch.setenv("RENEWMAP_BLOB_DIR", str(blob_dir))
    source = _database(pg_cluster, "renewmap")
    engine = make_engine(source)
    upgrade(engine)
    with Session(engine) as s, s.begin():
        load_demo(s, DEMO_DIR)
        add_test_community(s)
        for i in range(5):
            create_request(s, geom=pt(0.5 + i * 0.01, 0.5), category="lighting", title=f"灯{i}")
        # a post with a photo: its bytes go to the blob store, not into the dump
        suggestions.create_suggestion(
            s, secret="s", geom=pt(0.5, 0.5), category="lighting", title="有照片",
            photos=[("a.jpg", _jpeg())],
        )  # fmt: skip
    with Session(engine) as s:
        expected = (
            s.scalar(select(func.count(Request.id))),
            s.scalar(select(func.count(Building.id))),
        )
    engine.dispose()
    target = _database(pg_cluster, "template0")
    dump = tmp_path / "renewmap.dump"
    env = {**os.environ, "PATH": f"{pg_cluster.bindir}:{os.environ['PATH']}"}
    done = subprocess.run(
        [str(SCRIPT), source, target, str(dump)], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert "rows match" in done.stdout and dump.stat().st_size > 0
    restored = make_engine(target)
    try:
        with Session(restored) as s:
            got = (
                s.scalar(select(func.count(Request.id))),
                s.scalar(select(func.count(Building.id))),
            )
            # the geometry came back as geometry, not as text
            assert s.scalar(select(func.ST_SRID(Request.geom)).limit(1)) == 4326
    finally:
        restored.dispose()
    assert got == expected and expected[0] >= 5
    # restoring again into the now full database fails loudly instead of reporting success
    again = subprocess.run(
        [str(SCRIPT), source, target, str(tmp_path / "again.dump")],
        env=env,
        capture_output=True,
        text=True,
    )
    assert again.returncode != 0
    # the blob directory backed up beside the dump: with CHECK_BLOBS=1 the script confirms
    # every photo the restored rows name is in the copy, and fails when one is missing
    copy = tmp_path / "blobs-backup"
    shutil.copytree(blob_dir, copy)
    blob_env = {
        **env,
        "CHECK_BLOBS": "1",
        "RENEWMAP_BLOB_DIR": str(copy),
        "RENEWMAP_CLI": f"{sys.executable} -m renewmap.cli",
    }
    ok = subprocess.run(
        [str(SCRIPT), source, _database(pg_cluster, "template0"), str(tmp_path / "b.dump")],
        env=blob_env,
        capture_output=True,
        text=True,
    )
    assert ok.returncode == 0, ok.stderr
    assert "every photo and file the restored rows name is in the blob store" in ok.stdout
    lost = next(p for p in copy.rglob("*") if p.is_file())
    lost.unlink()
    bad = subprocess.run(
        [str(SCRIPT), source, _database(pg_cluster, "template0"), str(tmp_path / "c.dump")],
        env=blob_env,
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 1
    assert lost.name in bad.stdout and "missing from the blob store" in bad.stderr


def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (30, 60, 90)).save(out, format="JPEG")
    return out.getvalue()
