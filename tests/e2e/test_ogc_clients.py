"""Real clients of our OGC API – Features against a live server per backend: GDAL's OAPIF
driver (ogrinfo, ogr2ogr), pyogrio, OWSLib and QGIS, whose counts and attribute values are
checked against the database."""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from pathlib import Path

import pyogrio
import pytest
import shapely
from sqlalchemy import select
from sqlalchemy.orm import Session

from renewmap.db.models import Building, Community, Grid, Request, StaffUser
from renewmap.services.access import accounts
from renewmap.spatial.geometry import from_db
from tests.support import clients
from tests.support.ogc import PUBLIC

DEMO = "310109010026"


def run(*cmd: str, env: dict[str, str] | None = None, timeout: int = 180) -> str:
    done = subprocess.run(
        cmd, capture_output=True, text=True, timeout=timeout, env={**os.environ, **(env or {})}
    )
    assert done.returncode == 0, f"{cmd[0]} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
    return done.stdout


def feature_count(ogrinfo_out: str) -> int:
    line = next(x for x in ogrinfo_out.splitlines() if x.startswith("Feature Count:"))
    return int(line.split(":")[1])


@pytest.fixture(scope="module")
def live(live_server):
    """The live server and the database's own answers to compare with."""
    engine = live_server.engine()
    with Session(engine) as s:
        buildings = {b.id: (b.code, b.number, b.households) for b in s.scalars(select(Building))}
        suggestions = {
            r.id: (r.category, r.title, r.status, r.support_count or 0)
            for r in s.scalars(select(Request).where(~Request.hidden))
        }
        points = {r.id: from_db(r.geom) for r in s.scalars(select(Request).where(~Request.hidden))}
    engine.dispose()
    assert buildings and suggestions
    return {
        "server": live_server,
        "buildings": buildings,
        "suggestions": suggestions,
        "points": points,
    }


def test_gdal_ogrinfo_lists_and_counts(live) -> None:
    clients.gdal("ogrinfo")
    url = live["server"].url
    listing = run("ogrinfo", "-ro", "-q", f"OAPIF:{url}/ogc")
    layers = {line.split(":")[1].split()[0] for line in listing.splitlines() if ":" in line}
    assert layers == PUBLIC
    summary = run("ogrinfo", "-ro", "-al", "-so", f"OAPIF:{url}/ogc/collections/buildings")
    assert feature_count(summary) == len(live["buildings"])
    assert "households: Integer" in summary and "number: String" in summary
    sugg = run("ogrinfo", "-ro", "-al", "-so", f"OAPIF:{url}/ogc/collections/suggestions")
    assert feature_count(sugg) == len(live["suggestions"])
    assert "created_at: DateTime" in sugg and "phone" not in sugg


def test_ogr2ogr_copies_every_feature(live, tmp_path: Path) -> None:
    clients.gdal("ogr2ogr")
    out = tmp_path / "copy.gpkg"
    run(
        "ogr2ogr", "-f", "GPKG", str(out), f"OAPIF:{live['server'].url}/ogc",
        "buildings", "suggestions", "-oo", "PAGE_SIZE=7", "-preserve_fid",
    )  # fmt: skip
    buildings = pyogrio.read_dataframe(out, layer="buildings", fid_as_index=True)
    assert {
        int(fid): (row.code, row.number, int(row.households)) for fid, row in buildings.iterrows()
    } == live["buildings"]
    suggestions = pyogrio.read_dataframe(out, layer="suggestions", fid_as_index=True)
    assert len(suggestions) == len(live["suggestions"])  # many pages of 7, each once
    assert {
        int(fid): (row.category, row.title, row.status, int(row.supports))
        for fid, row in suggestions.iterrows()
    } == live["suggestions"]


def test_pyogrio_reads_oapif(live) -> None:
    assert "OAPIF" in pyogrio.list_drivers()
    url = live["server"].url
    df = pyogrio.read_dataframe(f"OAPIF:{url}/ogc", layer="suggestions", fid_as_index=True)
    assert len(df) == len(live["suggestions"])
    sample = sorted(live["suggestions"])[:: max(1, len(df) // 10)]
    for fid in sample:
        row = df.loc[fid]
        assert (row.category, row.title, row.status, int(row.supports)) == live["suggestions"][fid]
    # a bbox read (edges between points: GDAL filters again on its side, strictly at edges)
    xs = sorted(p.x for p in live["points"].values())
    ys = sorted(p.y for p in live["points"].values())
    mid = len(xs) // 2
    box = (xs[0] - 1e-6, ys[0] - 1e-6, (xs[mid] + xs[mid + 1]) / 2, (ys[mid] + ys[mid + 1]) / 2)
    inside = {
        fid for fid, p in live["points"].items()
        if box[0] <= p.x <= box[2] and box[1] <= p.y <= box[3]
    }  # fmt: skip
    part = pyogrio.read_dataframe(
        f"OAPIF:{url}/ogc/collections/suggestions", bbox=box, fid_as_index=True
    )
    assert set(part.index) == inside and 0 < len(inside) < len(live["points"])


def test_owslib_features(live) -> None:
    from owslib.ogcapi.features import Features

    url = live["server"].url
    api = Features(url + "/ogc")
    assert {c["id"] for c in api.collections()["collections"]} == PUBLIC
    assert any(c.endswith("/conf/geojson") for c in api.conformance()["conformsTo"])
    assert api.api()["openapi"].startswith("3.0")
    everything = api.collection_items("buildings", limit=10_000)
    assert everything["numberMatched"] == everything["numberReturned"] == len(live["buildings"])
    got = {
        f["id"]: (f["properties"]["code"], f["properties"]["number"], f["properties"]["households"])
        for f in everything["features"]
    }
    assert got == live["buildings"]
    # a bbox over the western half of the buildings: the server compares bounding boxes
    boxes = {f["id"]: shapely.geometry.shape(f["geometry"]).bounds for f in everything["features"]}
    west = sorted(b[0] for b in boxes.values())[len(boxes) // 2]
    everywhere = [b for bounds in boxes.values() for b in bounds]
    query = [min(everywhere[0::4]), min(everywhere[1::4]), west, max(everywhere[3::4])]
    expected = {fid for fid, b in boxes.items() if b[0] <= query[2]}
    page = api.collection_items("buildings", limit=5, bbox=query)
    assert page["numberMatched"] == len(expected) and page["numberReturned"] == 5
    assert {f["id"] for f in page["features"]} <= expected
    one = api.collection_item("buildings", str(min(live["buildings"])))
    assert one["properties"]["code"] == live["buildings"][min(live["buildings"])][0]


QGIS_PROBE = """
import json, os, sys
from qgis.core import QgsApplication, QgsVectorLayer
app = QgsApplication([], False)
app.initQgis()
out = {}
for typename in sys.argv[2:]:
    layer = QgsVectorLayer(f"url='{sys.argv[1]}' typename='{typename}'", typename, "OAPIF")
    if not layer.isValid():
        out[typename] = None
        continue
    names = [f.name() for f in layer.fields()]
    rows = [
        {n: (None if v is None or (hasattr(v, "isNull") and v.isNull()) else v)
         for n, v in zip(names, f.attributes())}
        for f in layer.getFeatures()
    ]
    out[typename] = {"count": layer.featureCount(), "fields": names, "rows": rows}
print(json.dumps(out, ensure_ascii=False, default=str), flush=True)
os._exit(0)  # QGIS may crash tearing down its providers; the answer is printed already
"""


def test_qgis_opens_collections_as_oapif_layers(live, tmp_path: Path) -> None:
    python = clients.qgis()
    script = tmp_path / "probe.py"
    script.write_text(QGIS_PROBE, encoding="utf-8")
    env = {"QT_QPA_PLATFORM": "offscreen", "XDG_RUNTIME_DIR": str(tmp_path), "HOME": str(tmp_path)}
    out = run(python, str(script), live["server"].url + "/ogc", "buildings", "suggestions", env=env)
    result = json.loads(out.strip().splitlines()[-1])
    buildings, suggestions = result["buildings"], result["suggestions"]
    assert buildings is not None and suggestions is not None, "QGIS could not open the layers"
    assert buildings["count"] == len(buildings["rows"]) == len(live["buildings"])
    assert sorted(
        (r["code"], r["number"], int(r["households"])) for r in buildings["rows"]
    ) == sorted(live["buildings"].values())
    assert suggestions["count"] == len(live["suggestions"])
    assert "phone" not in suggestions["fields"]
    assert sorted(
        (r["category"], r["title"], r["status"], int(r["supports"])) for r in suggestions["rows"]
    ) == sorted(live["suggestions"].values())


def test_gdal_reads_the_staff_collection_with_a_token(live) -> None:
    clients.gdal("ogrinfo")
    server = live["server"]
    username = f"ogc_lead_{uuid.uuid4().hex[:8]}"
    os.environ["RM_OGC_TEST_PASSWORD"] = "correct horse battery"
    try:
        server.cli(
            "user", "add", username, "--role", f"grid_lead={DEMO}/G01",
            "--password-env", "RM_OGC_TEST_PASSWORD",
        )  # fmt: skip
    finally:
        del os.environ["RM_OGC_TEST_PASSWORD"]
    engine = server.engine()
    try:
        with Session(engine) as s, s.begin():
            user = s.scalars(select(StaffUser).where(StaffUser.username == username)).one()
            token, _ = accounts.issue_token(s, user=user, kind="api", label="ogc test")
        with Session(engine) as s:
            grid = s.scalars(
                select(Grid)
                .join(Community, Community.id == Grid.community_id)
                .where(Community.code == DEMO, Grid.code == "G01")
            ).one()
            mine = set(s.scalars(select(Request.id).where(Request.grid_id == grid.id)))
    finally:
        engine.dispose()
    assert mine, "the demo has requests in grid G01"
    dataset = f"OAPIF:{server.url}/ogc/collections/requests"
    header = ["--config", "GDAL_HTTP_HEADERS", f"Authorization: Bearer {token}"]
    summary = run("ogrinfo", "-ro", "-al", "-so", *header, dataset)
    assert feature_count(summary) == len(mine)
    assert "phone: String" in summary
    listing = run("ogrinfo", "-ro", "-q", *header, f"OAPIF:{server.url}/ogc")
    assert "requests" in listing
    anonymous = subprocess.run(
        ["ogrinfo", "-ro", "-al", "-so", dataset], capture_output=True, text=True, timeout=120
    )
    assert anonymous.returncode != 0 and "401" in anonymous.stderr + anonymous.stdout
    copy = Path(f"/tmp/ogc-staff-{uuid.uuid4().hex[:8]}.gpkg")
    try:
        run("ogr2ogr", "-f", "GPKG", str(copy), dataset, "-preserve_fid", *header)
        df = pyogrio.read_dataframe(copy, fid_as_index=True)
    finally:
        copy.unlink(missing_ok=True)
    assert set(df.index) == mine and "phone" in df.columns
