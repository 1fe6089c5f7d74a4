"""Drafts out and in on both databases: GeoJSON, GeoPackage (a layer per kind) and DXF (a layer
per kind, in metres) exported and read back with known areas and lengths; layers imported from
each format; bad files named and nothing written."""

from __future__ import annotations

import io
import json
import tempfile
from pathlib import Path

import ezdxf
import pyogrio
import pytest
import shapely
from shapely.geometry import LineString, Point, Polygon, box, mapping

from renewmap.spatial.crs import transform
from tests.support.design import EPSG, GARDEN, NEW, X0, Y0, fc, w

# 6 m × 2.5 m with a 2 m × 1 m hole: 13 m², clear of the garden's other features
RING_BED = (
    "green",
    w(Polygon(box(8, 3.5, 14, 6).exterior.coords, [box(10, 4, 12, 5).exterior.coords])),
    {"layer": "shrub", "species": "nandina_domestica"},
)


def _draft_with(c, h, *features) -> dict:
    d = c.post(NEW, headers=h["designer"], json={"name": "方案一"}).json()
    r = c.put(
        f"/api/design/drafts/{d['id']}/features",
        headers=h["designer"],
        json={"version": 1, "features": fc(*features)},
    )
    assert r.status_code == 200, r.text
    return r.json()


def test_dxf_layers_in_metres_and_back(design_api) -> None:
    c, h = design_api
    d = _draft_with(c, h, *GARDEN, RING_BED)
    r = c.get(f"/api/design/drafts/{d['id']}/export.dxf", headers=h["designer"])
    assert (
        r.status_code == 200
        and 'filename="T0001-S1-draft1.dxf"' in r.headers["content-disposition"]
    )
    doc = ezdxf.read(io.StringIO(r.content.decode()))
    assert doc.header["$INSUNITS"] == 6 and doc.header.custom_vars.get("RENEWMAP_EPSG") == str(EPSG)
    msp = doc.modelspace()
    site = [e for e in msp if e.dxf.layer == "RM_SITE"]
    (outline,) = site
    local = Polygon([(x - X0, y - Y0) for x, y in outline.get_points("xy")])
    assert local.area == pytest.approx(200, abs=0.01)  # 20 m × 10 m, in metres
    (path,) = [e for e in msp if e.dxf.layer == "RM_PATH"]
    assert LineString(path.get_points("xy")).length == pytest.approx(10, abs=0.001)
    assert len([e for e in msp if e.dxf.layer == "RM_PLANT" and e.dxftype() == "POINT"]) == 3
    # back in: the same kinds, areas (the hole too) and properties
    d2 = c.post(NEW, headers=h["designer"], json={"name": "回读"}).json()
    r = c.post(
        f"/api/design/drafts/{d2['id']}/import",
        headers=h["designer"],
        data={"version": "1"},
        files={"file": ("back.dxf", r.content, "image/vnd.dxf")},
    )
    assert r.status_code == 200, r.text
    back = r.json()
    assert back["version"] == 2
    assert sorted(f["properties"]["kind"] for f in back["features"]["features"]) == sorted(
        k for k, _g, _p in (*GARDEN, RING_BED)
    )
    assert back["metrics"]["green_area_m2"] == pytest.approx(
        d["metrics"]["green_area_m2"], abs=0.01
    )
    assert back["metrics"]["green_area_m2"] == pytest.approx(40 + 13, abs=0.01)
    assert back["metrics"]["total_cost"] == pytest.approx(d["metrics"]["total_cost"], abs=1)


def test_geopackage_a_layer_per_kind_and_back(design_api) -> None:
    c, h = design_api
    d = _draft_with(c, h, *GARDEN)
    r = c.get(f"/api/design/drafts/{d['id']}/export.gpkg", headers=h["designer"])
    assert r.status_code == 200 and r.content.startswith(b"SQLite format 3\x00")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "d.gpkg"
        path.write_bytes(r.content)
        layers = {name for name, _t in pyogrio.list_layers(path)}
        assert layers == {"green", "path", "plant", "facility"}
        green = pyogrio.read_dataframe(path, layer="green")
        assert green.crs.to_epsg() == 4326
        assert green.to_crs(EPSG).area.sum() == pytest.approx(40, abs=0.01)
        assert sorted(green["species"]) == ["gardenia_jasminoides", "lolium_perenne"]
    d2 = c.post(NEW, headers=h["designer"], json={"name": "回读"}).json()
    r = c.post(
        f"/api/design/drafts/{d2['id']}/import",
        headers=h["designer"],
        data={"version": "1"},
        files={"file": ("back.gpkg", r.content, "application/geopackage+sqlite3")},
    )
    assert r.status_code == 200, r.text
    assert r.json()["metrics"]["green_area_m2"] == pytest.approx(40, abs=0.01)
    assert r.json()["metrics"]["all_seasons"] is True


def test_geojson_export_and_import_adds_to_the_draft(design_api) -> None:
    c, h = design_api
    d = _draft_with(c, h, *GARDEN[:2])
    r = c.get(f"/api/design/drafts/{d['id']}/export.geojson", headers=h["designer"])
    body = r.json()
    assert r.headers["content-type"].startswith("application/geo+json")
    assert [f["properties"]["kind"] for f in body["features"]] == ["green", "green"]
    # a path layer from another tool, kind chosen for the whole file
    layer = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": mapping(w(LineString([(0, 9), (20, 9)]))),
                "properties": {"width_m": 2},
            }
        ],
    }
    r = c.post(
        f"/api/design/drafts/{d['id']}/import",
        headers=h["designer"],
        data={"version": str(d["version"]), "kind": "path"},
        files={"file": ("paths.geojson", json.dumps(layer).encode(), "application/geo+json")},
    )
    assert r.status_code == 200, r.text
    got = r.json()
    assert len(got["features"]["features"]) == 3
    assert got["metrics"]["path_length_m"] == {"unspecified": pytest.approx(20, abs=0.01)}
    assert got["metrics"]["path_length_by_width_m"] == {"2": pytest.approx(20, abs=0.01)}


def test_bad_files_are_named_and_change_nothing(design_api) -> None:
    c, h = design_api
    d = _draft_with(c, h, *GARDEN[:2])
    url = f"/api/design/drafts/{d['id']}/import"

    def send(name: str, content: bytes, **data: str):
        return c.post(
            url,
            headers=h["designer"],
            data={"version": str(d["version"]), **data},
            files={"file": (name, content, "application/octet-stream")},
        )

    no_kind = {
        "type": "FeatureCollection",
        "features": [{"type": "Feature", "geometry": mapping(w(Point(1, 1))), "properties": {}}],
    }
    r = send("plants.geojson", json.dumps(no_kind).encode())
    assert r.status_code == 422 and r.json()["code"] == "import_feature_kind_missing"
    assert r.json()["message"].startswith("文件“plants.geojson”，第 1 个要素：没有类型")
    assert r.json()["params"]["file"] == "plants.geojson"
    swapped = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [50.0, 110.0]},
                "properties": {"kind": "plant"},
            }
        ],
    }
    r = send("swapped.geojson", json.dumps(swapped).encode())
    assert r.status_code == 422 and "swapped.geojson" in r.json()["message"]
    projected = dict(no_kind, crs={"type": "name", "properties": {"name": "EPSG:32651"}})
    r = send("cad.geojson", json.dumps(projected).encode())
    assert r.status_code == 422 and "EPSG:32651" in r.json()["message"]
    assert send("x.geojson", b"{not json").status_code == 422
    assert send("x.gpkg", b"not a geopackage").status_code == 422
    assert send("x.shp", b"whatever").status_code == 422
    # a DXF from elsewhere has no CRS: the message asks for one
    doc = ezdxf.new()
    doc.modelspace().add_point((X0 + 1, Y0 + 1), dxfattribs={"layer": "plant"})
    out = io.StringIO()
    doc.write(out)
    r = send("survey.dxf", out.getvalue().encode())
    assert r.status_code == 422 and r.json()["details"]["field"] == "epsg"
    ok = send("survey.dxf", out.getvalue().encode(), epsg=str(EPSG))
    assert ok.status_code == 200, ok.text
    (plant,) = [f for f in ok.json()["features"]["features"] if f["properties"]["kind"] == "plant"]
    back = transform(shapely.geometry.shape(plant["geometry"]), 4326, EPSG)
    assert (back.x - X0, back.y - Y0) == (pytest.approx(1, abs=1e-6), pytest.approx(1, abs=1e-6))
    # nothing from the failed files was written
    now = c.get(f"/api/design/drafts/{d['id']}", headers=h["designer"]).json()
    assert now["version"] == d["version"] + 1 and len(now["features"]["features"]) == 3
    # strangers can neither export nor import
    assert c.get(f"/api/design/drafts/{d['id']}/export.dxf", headers=h["lead"]).status_code == 403
    assert (
        c.get(f"/api/design/drafts/{d['id']}/export.shp", headers=h["designer"]).status_code == 422
    )
