"""Imports (all-or-nothing, precise errors), exports (lossless GeoPackage), grid validation,
re-routing — on both databases."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
import shapely
from sqlalchemy import select

from renewmap.db.models import Building, Community, Grid, Request, RequestEvent
from renewmap.errors import ImportFailed
from renewmap.services.ingest.importer import import_branches, import_file
from renewmap.services.places.grid_check import validate_grids
from renewmap.services.places.layers import export_community
from renewmap.services.places.routing import reroute_open_requests
from renewmap.services.requests.intake import create_request
from renewmap.spatial.crs import gcj02_to_wgs84, transform, wgs84_to_gcj02
from renewmap.spatial.geometry import from_db
from tests.support.db import count
from tests.support.places import COMMUNITY, GRID_A, GRID_B, add_test_community, m2w, pt


def write_geojson(path: Path, features: list[dict], crs: str | None = None) -> Path:
    fc: dict = {"type": "FeatureCollection", "features": features}
    if crs:
        fc["crs"] = {"type": "name", "properties": {"name": crs}}
    path.write_text(json.dumps(fc))
    return path


def feature(geom, **props) -> dict:
    return {"type": "Feature", "properties": props, "geometry": shapely.geometry.mapping(geom)}


@pytest.fixture
def community_file(tmp_path: Path) -> Path:
    return write_geojson(
        tmp_path / "community.geojson", [feature(m2w(COMMUNITY), code="T0009", name="导入社区")]
    )


def test_import_community_grids_buildings(session, community_file, tmp_path) -> None:
    rep = import_file(session, community_file, kind="community")
    assert rep.created == 1
    c = session.scalar(select(Community).where(Community.code == "T0009"))
    assert c.metric_epsg == 32632  # UTM zone of lon 10
    assert from_db(c.geom).equals_exact(shapely.MultiPolygon([m2w(COMMUNITY)]), 0)
    grids = write_geojson(
        tmp_path / "grids.geojson",
        [
            feature(m2w(GRID_A), code="A", name="A网格"),
            feature(m2w(GRID_B), code="B", name="B网格"),
        ],
    )
    assert import_file(session, grids, kind="grid", community_code="T0009").created == 2
    b = write_geojson(
        tmp_path / "b.geojson",
        [
            feature(
                m2w(shapely.box(0.1, 0.4, 0.3, 0.6)), number="1号楼", households=24, grid_code="A"
            ),
        ],
    )
    import_file(session, b, kind="building", community_code="T0009")
    building = session.scalar(
        select(Building).where(Building.number == "1号楼", Building.community_id == c.id)
    )
    assert building.households == 24
    assert session.get(Grid, building.grid_id).code == "A"
    # re-importing the same grids changes nothing: no new grid-set version (issue 15)
    rep = import_file(session, grids, kind="grid", community_code="T0009")
    assert (rep.created, rep.updated, rep.unchanged) == (0, 0, 2)
    session.refresh(c)
    assert c.grid_set_version == 1
    # a changed grid updates by code and starts a new grid-set version
    grids = write_geojson(
        tmp_path / "grids.geojson",
        [
            feature(m2w(shapely.box(0, 0, 1.5, 1)), code="A", name="A网格"),
            feature(m2w(GRID_B), code="B", name="B网格"),
        ],
    )
    rep = import_file(session, grids, kind="grid", community_code="T0009")
    assert (rep.created, rep.updated, rep.unchanged) == (0, 1, 1)
    session.refresh(c)
    assert c.grid_set_version == 2


def _expect_failure(session, path, match, **kw) -> ImportFailed:
    before = {t: count(session, t) for t in ("community", "grid", "building", "path")}
    with pytest.raises(ImportFailed, match=match) as info:
        import_file(session, path, **kw)
    after = {t: count(session, t) for t in before}
    assert before == after, "a failed import must write nothing"
    return info.value


def test_invalid_geometry_names_file_feature_field(session, community_file, tmp_path) -> None:
    import_file(session, community_file, kind="community")
    bowtie = shapely.Polygon([(0, 0), (1, 1), (1, 0), (0, 1)])
    path = write_geojson(
        tmp_path / "grids.geojson",
        [
            feature(m2w(GRID_A), code="A"),
            feature(m2w(bowtie), code="X"),
        ],
    )
    err = _expect_failure(
        session,
        path,
        r"grids.geojson, feature 2, field 'geometry': invalid "
        r"geometry: the outline crosses itself at \(",
        kind="grid",
        community_code="T0009",
    )
    assert len(err.details["errors"]) == 1
    assert err.key == "import_failed"
    # the same message for a Chinese reader: file, feature, field and what is wrong
    assert "grids.geojson 第 2 个要素的“geometry”字段：几何图形无效：轮廓线自相交" in err.render(
        "zh_CN"
    )


def test_swapped_lat_lon_is_recognised(session, community_file, tmp_path) -> None:
    import_file(session, community_file, kind="community")
    swapped = shapely.transform(m2w(GRID_A), lambda xy: xy[:, ::-1])
    shanghai = shapely.affinity.translate(swapped, 31.0 - 50, 121.0 - 10)
    path = write_geojson(tmp_path / "g.geojson", [feature(shanghai, code="A")])
    _expect_failure(
        session,
        path,
        r"feature 1, field 'geometry': coordinates look like "
        r"\(latitude, longitude\)",
        kind="grid",
        community_code="T0009",
    )


def test_projected_file_without_crs_needs_crs_flag(session, community_file, tmp_path) -> None:
    import_file(session, community_file, kind="community")
    metric = transform(m2w(GRID_A), 4326, 32632)
    path = write_geojson(tmp_path / "utm.geojson", [feature(metric, code="A")])
    # GeoJSON is WGS84 by definition: metre coordinates are out of range.
    _expect_failure(session, path, r"outside WGS84 range", kind="grid", community_code="T0009")
    # Shapefile without .prj: no CRS, so --crs is required; with it, reprojected exactly.
    gdf = gpd.GeoDataFrame({"code": ["A"]}, geometry=[metric], crs=None)
    shp = tmp_path / "grid.shp"
    with pytest.warns(UserWarning, match="crs"):
        gdf.to_file(shp)
    zpath = tmp_path / "grid.zip"
    with zipfile.ZipFile(zpath, "w") as z:
        for f in tmp_path.glob("grid.*"):
            if f.suffix != ".zip":
                z.write(f, f.name)
    _expect_failure(
        session,
        zpath,
        r"grid.zip: the file declares no CRS; pass --crs",
        kind="grid",
        community_code="T0009",
    )
    import_file(session, zpath, kind="grid", community_code="T0009", crs=32632)
    g = session.scalar(select(Grid).join(Community).where(Community.code == "T0009"))
    # shapefiles store rings clockwise and the UTM round trip costs ~1e-15°: compare shapes
    assert shapely.hausdorff_distance(from_db(g.geom), m2w(GRID_A)) < 1e-9


def test_wrong_geometry_type_and_unknown_codes(session, community_file, tmp_path) -> None:
    import_file(session, community_file, kind="community")
    path = write_geojson(tmp_path / "p.geojson", [feature(pt(0.5, 0.5), code="A")])
    _expect_failure(
        session,
        path,
        r"feature 1, field 'geometry': expected Polygon or "
        r"MultiPolygon for kind 'grid', got Point",
        kind="grid",
        community_code="T0009",
    )
    path = write_geojson(
        tmp_path / "g.geojson", [feature(m2w(GRID_A), code="A", branch_code="NOPE")]
    )
    _expect_failure(
        session,
        path,
        r"feature 1, field 'branch_code': unknown party branch code "
        r"'NOPE'",
        kind="grid",
        community_code="T0009",
    )
    path = write_geojson(tmp_path / "b.geojson", [feature(m2w(GRID_A), grid_code="ZZ")])
    _expect_failure(
        session,
        path,
        r"field 'grid_code': unknown grid code 'ZZ'",
        kind="building",
        community_code="T0009",
    )
    _expect_failure(
        session, path, r"unknown community code 'NOPE'", kind="building", community_code="NOPE"
    )
    bad = tmp_path / "bad.geojson"
    bad.write_text("{not json")
    _expect_failure(
        session, bad, r"bad.geojson: cannot read the file", kind="grid", community_code="T0009"
    )


def test_all_or_nothing_when_last_feature_is_bad(session, community_file, tmp_path) -> None:
    import_file(session, community_file, kind="community")
    feats = [
        feature(m2w(shapely.box(i * 0.1, 0, i * 0.1 + 0.05, 0.05)), number=f"{i}号楼")
        for i in range(9)
    ]
    feats.append(feature(m2w(shapely.box(0, 0, 0.1, 0.1)), number="x", households="many"))
    path = write_geojson(tmp_path / "b.geojson", feats)
    _expect_failure(
        session,
        path,
        r"feature 10, field 'households': must be a non-negative "
        r"whole number, got 'many'",
        kind="building",
        community_code="T0009",
    )


def test_csv_wkt_and_lonlat(session, community_file, tmp_path) -> None:
    import_file(session, community_file, kind="community")
    csv = tmp_path / "grids.csv"
    csv.write_text(f'code,name,wkt\nA,A网格,"{m2w(GRID_A).wkt}"\nB,B网格,"{m2w(GRID_B).wkt}"\n')
    assert import_file(session, csv, kind="grid", community_code="T0009").created == 2
    p = pt(0.5, 0.5)
    plants = tmp_path / "plants.csv"
    plants.write_text(f"species,lon,lat\n桂花,{p.x},{p.y}\n樱花,{p.x},abc\n")
    _expect_failure(
        session,
        plants,
        r"plants.csv, feature 2, field 'lon/lat': not a number",
        kind="plant",
        community_code="T0009",
    )


def test_gcj02_import_lands_within_a_metre(session, tmp_path) -> None:
    from pyproj import Geod

    truth = shapely.box(121.4900, 31.2880, 121.4910, 31.2890)
    path = write_geojson(
        tmp_path / "amap.geojson", [feature(wgs84_to_gcj02(truth), code="G1", name="GCJ社区")]
    )
    import_file(session, path, kind="community", gcj02=True)
    stored = from_db(session.scalar(select(Community.geom).where(Community.code == "G1")))
    geod = Geod(ellps="WGS84")
    for (x0, y0), (x1, y1) in zip(
        truth.exterior.coords, stored.geoms[0].exterior.coords, strict=True
    ):
        assert geod.inv(x0, y0, x1, y1)[2] < 1.0
    # and the offset being removed is real (hundreds of metres in Shanghai)
    gx, gy = wgs84_to_gcj02(shapely.Point(121.49, 31.288)).coords[0]
    assert 100 < geod.inv(121.49, 31.288, gx, gy)[2] < 1000
    back = gcj02_to_wgs84(shapely.Point(gx, gy))
    assert geod.inv(121.49, 31.288, back.x, back.y)[2] < 0.01


def test_branches_csv(session, tmp_path) -> None:
    add_test_community(session)
    good = tmp_path / "branches.csv"
    good.write_text(
        "code,name,parent_code,level\nX-G2,新支部,T-GB,grid\nX-P1,楼组,X-G2,building_group\n"
    )
    assert import_branches(session, good).created == 2
    bad = tmp_path / "bad.csv"
    bad.write_text("code,name,parent_code,level\nY1,甲,NOPE,grid\nY2,乙,,committee\n")
    with pytest.raises(ImportFailed) as info:
        import_branches(session, bad)
    text = str(info.value)  # English
    assert "bad.csv, feature 1, field 'parent_code': unknown parent branch code 'NOPE'" in text
    assert "bad.csv, feature 2, field 'level': unknown level 'committee'" in text


def test_geopackage_export_round_trip(session, tmp_path) -> None:
    from renewmap.services.places.layers import community_layers

    out = tmp_path / "demo.gpkg"
    layers = export_community(session, community_code="310109010026", out=out)
    assert {
        "community",
        "grid",
        "building",
        "path",
        "green",
        "plant",
        "request",
        "party_branch",
    } <= set(layers)
    listed = {name for name, _ in pyogrio.list_layers(out)}
    assert set(layers) == listed
    source = community_layers(session, community_code="310109010026")
    for kind in ("grid", "building", "plant", "path", "request"):
        back = pyogrio.read_dataframe(out, layer=kind)
        assert back.crs.to_epsg() == 4326
        ours = source[kind]
        assert len(back) == len(ours)
        for a, b in zip(ours.geometry, back.geometry, strict=True):
            assert shapely.equals_exact(shapely.force_2d(a), shapely.force_2d(b), 0), kind
        for col in ("code", "number", "households", "grid_code", "species", "category"):
            if col in ours:
                assert list(back[col].astype(object).where(back[col].notna(), None)) == list(
                    ours[col].astype(object).where(ours[col].notna(), None)
                ), (kind, col)
    branches = pyogrio.read_dataframe(out, layer="party_branch", read_geometry=False)
    assert len(branches) == 26


def test_geojson_and_csv_export(session, tmp_path) -> None:
    export_community(session, community_code="310109010026", out=tmp_path / "d.geojson")
    data = json.loads((tmp_path / "d.geojson").read_text())
    layers = {f["properties"]["renewmap_layer"] for f in data["features"]}
    assert {"community", "grid", "building", "request"} <= layers
    export_community(session, community_code="310109010026", out=tmp_path / "d.csv")
    assert (tmp_path / "d.csv").read_text().count("\n") == len(data["features"]) + 1


def test_validate_grids_finds_overlap_gap_outside_unassigned(session) -> None:
    ids = add_test_community(session)
    report = validate_grids(session, community_code="T0001")
    kinds = sorted(i.kind for i in report.issues)
    assert kinds == ["gap"]  # the [2,3] strip
    gap = report.issues[0]
    assert gap.area_m2 == pytest.approx(71.5 * 111.2, rel=0.01)
    # make B overlap A by 0.1 units and stick out of the community, add an unassigned building
    from renewmap.spatial.geometry import as_multi, to_db

    b = session.get(Grid, ids["B"])
    b.geom = to_db(as_multi(m2w(shapely.box(0.9, 0, 2, 1.2))))
    session.add(
        Building(
            community_id=ids["community"],
            number="9号楼",
            geom=to_db(as_multi(m2w(shapely.box(2.2, 0.2, 2.3, 0.3)))),
        )
    )
    session.flush()
    report = validate_grids(session, community_code="T0001")
    by_kind = {i.kind: i for i in report.issues}
    assert set(by_kind) == {"gap", "overlap", "outside", "unassigned"}
    assert by_kind["overlap"].grids == ["A", "B"]
    assert by_kind["overlap"].area_m2 == pytest.approx(0.1 * 71.5 * 111.2, rel=0.01)
    assert by_kind["outside"].area_m2 == pytest.approx(1.1 * 71.5 * 0.2 * 111.2, rel=0.01)
    assert "9号楼" in by_kind["unassigned"].message


def test_demo_grid_set_is_clean(session) -> None:
    assert validate_grids(session, community_code="310109010026").ok


def test_reroute_after_grid_change_keeps_history(session) -> None:
    ids = add_test_community(session)
    req, owner = create_request(session, geom=pt(0.8, 0.5), category="lighting", title="路灯不亮")
    assert owner.grid.code == "A" and req.grid_set_version == 1
    # Move the A|B boundary west to x = 0.7: the request now lies in B.
    from renewmap.spatial.geometry import as_multi, to_db

    session.get(Grid, ids["A"]).geom = to_db(as_multi(m2w(shapely.box(0, 0, 0.7, 1))))
    session.get(Grid, ids["B"]).geom = to_db(as_multi(m2w(shapely.box(0.7, 0, 2, 1))))
    c = session.get(Community, ids["community"])
    c.grid_set_version = 2
    session.flush()
    changed = reroute_open_requests(session, community_id=ids["community"])
    assert (req.id, "A", "B") in changed
    session.refresh(req)
    assert session.get(Grid, req.grid_id).code == "B"
    assert req.grid_set_version == 2
    events = session.scalars(
        select(RequestEvent).where(RequestEvent.request_id == req.id).order_by(RequestEvent.id)
    ).all()
    assert [e.kind for e in events] == ["created", "routed", "rerouted"]
    assert events[-1].data["from"] == {"grid": "A", "rule": "inside", "grid_set_version": 1}
    assert events[-1].data["to"]["grid"] == "B"
    # resolved requests are not moved
    req.status = "resolved"
    session.flush()
    assert reroute_open_requests(session, community_id=ids["community"]) == []
    assert session.scalar(select(Request).where(Request.id == req.id)).status == "resolved"


def test_exported_geopackage_imports_back(session, tmp_path) -> None:
    """QGIS users edit the exported GeoPackage and import layers back (by layer name)."""
    out = tmp_path / "demo.gpkg"
    export_community(session, community_code="310109010026", out=out)
    community = pyogrio.read_dataframe(out, layer="community")
    community["code"] = "310109010099"
    community["name"] = "副本社区"
    copy = tmp_path / "copy.gpkg"
    pyogrio.write_dataframe(community, copy, layer="community")
    import_file(session, copy, kind="community")
    assert (
        import_file(
            session, out, kind="compound", community_code="310109010099", layer="compound"
        ).created
        == 1
    )
    # The grids still name the demo's party branches: refused, nothing written.
    with pytest.raises(
        ImportFailed,
        match=r"demo.gpkg, feature 1, field 'branch_code': branch "
        r"'310109010026-B1' belongs to another community",
    ):
        import_file(session, out, kind="grid", community_code="310109010099", layer="grid")
    grids = pyogrio.read_dataframe(out, layer="grid").drop(columns=["branch_code"])
    pyogrio.write_dataframe(grids, copy, layer="grid")
    assert (
        import_file(session, copy, kind="grid", community_code="310109010099", layer="grid").created
        == 7
    )
    assert (
        import_file(
            session, out, kind="building", community_code="310109010099", layer="building"
        ).created
        == 21
    )
    c = session.scalar(select(Community).where(Community.code == "310109010099"))
    assert c.subdistrict.code == "310109010"
    assert validate_grids(session, community_code="310109010099").ok


def test_multilayer_file_needs_a_layer(session, tmp_path) -> None:
    out = tmp_path / "demo.gpkg"
    export_community(session, community_code="310109010026", out=out)
    community = pyogrio.read_dataframe(out, layer="community")
    community["code"] = "310109010098"
    copy = tmp_path / "two.gpkg"
    pyogrio.write_dataframe(community, copy, layer="first")
    pyogrio.write_dataframe(community, copy, layer="second")
    with pytest.raises(
        ImportFailed,
        match=r"two.gpkg: the file has 2 layers \(first, second\); "
        r"choose one with --layer NAME",
    ):
        import_file(session, copy, kind="community")
    # a layer named after the kind is taken without --layer
    # (the export read back matches every plant by code, each unchanged)
    rep = import_file(session, out, kind="plant", community_code="310109010026")
    assert (rep.created, rep.updated, rep.unchanged) == (0, 0, 8)


@pytest.mark.parametrize(
    ("epsg", "message"), [(4326, "not a projected CRS in metres"), (999999, "unknown CRS")]
)
def test_metric_crs_must_be_projected(session, tmp_path, epsg: int, message: str) -> None:
    path = write_geojson(
        tmp_path / "c.geojson",
        [feature(m2w(COMMUNITY), code="T0009", name="x", metric_epsg=epsg)],
    )
    _expect_failure(
        session, path, rf"feature 1, field 'metric_epsg': .*{message}", kind="community"
    )


def test_reassignment_bumps_grid_set_version(session) -> None:
    from renewmap.services.ingest.importer import assign_buildings

    ids = add_test_community(session)
    c = session.get(Community, ids["community"])
    assert c.grid_set_version == 1
    assert assign_buildings(session, community_code="T0001") == 0  # nothing unassigned
    assert c.grid_set_version == 1
    # building bB now lies in A's polygon after A grows east: a full reassignment moves it
    from renewmap.spatial.geometry import as_multi, to_db

    session.get(Grid, ids["A"]).geom = to_db(as_multi(m2w(shapely.box(0, 0, 1.8, 1))))
    session.get(Grid, ids["B"]).geom = to_db(as_multi(m2w(shapely.box(1.8, 0, 2, 1))))
    session.flush()
    assert assign_buildings(session, community_code="T0001", only_unassigned=False) == 1
    assert c.grid_set_version == 2


def test_request_that_becomes_unroutable_loses_its_owner(session) -> None:
    ids = add_test_community(session)
    req, owner = create_request(session, geom=pt(2.5, 0.5), category="other", title="缺座椅")
    assert owner.rule == "community"
    from renewmap.spatial.geometry import as_multi, to_db

    # the community shrinks to [0,2]: the request is now 0.5 units (≈36 m) … still snapped
    c = session.get(Community, ids["community"])
    c.geom = to_db(as_multi(m2w(shapely.box(0, 0, 2, 1))))
    session.flush()
    reroute_open_requests(session, community_id=ids["community"])
    session.refresh(req)
    assert req.route_rule == "snapped" and session.get(Grid, req.grid_id).code == "B"
    # … and to [0,1]: 1.5 units (≈107 m) away, beyond the snap distance
    c.geom = to_db(as_multi(m2w(shapely.box(0, 0, 1, 1))))
    session.flush()
    reroute_open_requests(session, community_id=ids["community"])
    session.refresh(req)
    assert (req.route_rule, req.grid_id, req.community_id) == ("outside", None, None)
    last = session.scalars(
        select(RequestEvent)
        .where(RequestEvent.request_id == req.id)
        .order_by(RequestEvent.id.desc())
    ).first()
    assert last.kind == "rerouted" and last.data["to"] == {
        "grid": None,
        "rule": "outside",
        "grid_set_version": None,
    }
