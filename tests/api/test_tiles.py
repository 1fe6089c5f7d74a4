"""Vector tiles of the OGC collections, on both databases (PostGIS: ST_AsMVT; SpatiaLite:
mapbox-vector-tile): known features in known tiles at known grid positions."""

from __future__ import annotations

import math

import mapbox_vector_tile
import pytest
import shapely
from fastapi.testclient import TestClient
from pyproj import Transformer
from sqlalchemy import select

from renewmap.db.models import Building, Request
from renewmap.services.access import accounts
from renewmap.services.requests.intake import create_request
from renewmap.spatial.geometry import from_db
from renewmap.spatial.tiles import EXTENT, check_tile, tile_bounds_lonlat
from tests.support.places import BUILDING_A, BUILDING_B, add_test_community, m2w, pt

MVT = "application/vnd.mapbox-vector-tile"
TO_MERCATOR = Transformer.from_crs(4326, 3857, always_xy=True)


def slippy(lon: float, lat: float, z: int) -> tuple[int, int]:
    """The XYZ tile holding a point (the OpenStreetMap wiki's formula, independent of ours)."""
    n = 2**z
    x = int((lon + 180.0) / 360.0 * n)
    y = int((1.0 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2.0 * n)
    return x, y


def grid_xy(lon: float, lat: float, z: int, x: int, y: int) -> tuple[float, float]:
    """A point's position on the tile's 4096 grid, y up (as mapbox_vector_tile decodes)."""
    mx, my = TO_MERCATOR.transform(lon, lat)
    size = 2 * 20037508.342789244 / 2**z
    left = -20037508.342789244 + x * size
    top = 20037508.342789244 - y * size
    return (mx - left) / size * EXTENT, (my - (top - size)) / size * EXTENT


def layer(client: TestClient, collection: str, z: int, x: int, y: int) -> list[dict]:
    r = client.get(f"/ogc/collections/{collection}/tiles/WebMercatorQuad/{z}/{x}/{y}")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == MVT
    if not r.content:
        return []
    decoded = mapbox_vector_tile.decode(r.content)
    assert list(decoded) == [collection]
    assert decoded[collection]["extent"] == EXTENT
    return decoded[collection]["features"]


def test_building_tile_known_answer(client, session) -> None:
    ids = add_test_community(session)
    a = session.query(Building).filter_by(community_id=ids["community"], number="1号楼").one()
    b = session.query(Building).filter_by(community_id=ids["community"], number="2号楼").one()
    centre_a = m2w(BUILDING_A).centroid
    # z18: one tile ≈ 0.00137° wide; A (x 0.1–0.3 units) and B (x 1.5–1.7) fall in different ones
    z = 18
    x, y = slippy(centre_a.x, centre_a.y, z)
    assert slippy(m2w(BUILDING_B).centroid.x, m2w(BUILDING_B).centroid.y, z) != (x, y)
    features = {f["id"]: f for f in layer(client, "buildings", z, x, y)}
    assert a.id in features and b.id not in features
    fa = features[a.id]
    assert fa["properties"]["number"] == "1号楼"
    assert fa["properties"]["households"] == 20
    assert fa["properties"]["community"] == "T0001"
    assert fa["properties"]["grid"] == "A"
    assert fa["geometry"]["type"] in ("Polygon", "MultiPolygon")
    ring = fa["geometry"]["coordinates"]
    ring = ring[0] if fa["geometry"]["type"] == "Polygon" else ring[0][0]
    # every corner of the footprint is on the grid where pyproj puts it (±1 rounding unit)
    expected = [grid_xy(lon, lat, z, x, y) for lon, lat in m2w(BUILDING_A).exterior.coords[:-1]]
    for ex, ey in expected:
        assert any(abs(px - ex) <= 1 and abs(py - ey) <= 1 for px, py in ring), (ex, ey, ring)
    # a far tile is empty, and both buildings share one tile at z14
    assert layer(client, "buildings", z, (x + 5) % 2**z, y) == []
    ids14 = {f["id"] for f in layer(client, "buildings", 14, *slippy(centre_a.x, centre_a.y, 14))}
    assert {a.id, b.id} <= ids14


def test_clipping_keeps_the_part_in_the_tile(client, session) -> None:
    """Building B straddles no edge, but a big grid does: the tile holds its clipped part."""
    add_test_community(session)
    z = 18
    x, y = slippy(*m2w(shapely.Point(0.2, 0.5)).coords[0], z)
    grids = layer(client, "grids", z, x, y)
    codes = {f["properties"]["code"] for f in grids}
    assert "A" in codes
    # the grid's polygon is cut at the tile's buffer: no vertex beyond -64 … 4096+64
    for f in grids:
        coords = shapely.geometry.shape(f["geometry"]).bounds
        assert coords[0] >= -64 - 1 and coords[2] <= EXTENT + 64 + 1


def test_suggestions_tile_is_public_only(client, session) -> None:
    add_test_community(session)
    shown, _ = create_request(session, geom=pt(0.5, 0.5), category="greenery", title="补种")
    hidden, _ = create_request(session, geom=pt(0.52, 0.5), category="lighting", title="路灯")
    shown.phone = "13900000001"
    hidden.hidden = True
    session.flush()
    z = 16
    x, y = slippy(*pt(0.5, 0.5).coords[0], z)
    r = client.get(f"/ogc/collections/suggestions/tiles/WebMercatorQuad/{z}/{x}/{y}")
    assert b"13900000001" not in r.content
    features = {f["id"]: f for f in layer(client, "suggestions", z, x, y)}
    assert shown.id in features and hidden.id not in features
    assert features[shown.id]["properties"]["title"] == "补种"
    assert "phone" not in features[shown.id]["properties"]
    assert features[shown.id]["geometry"]["type"] == "Point"


def test_staff_tiles_need_a_token_and_honour_scope(client, session) -> None:
    add_test_community(session)
    in_a, _ = create_request(session, geom=pt(0.5, 0.5), category="greenery", title="A")
    in_b, _ = create_request(session, geom=pt(1.5, 0.2), category="greenery", title="B")
    in_a.phone = "13900000002"
    session.flush()
    z = 14
    x, y = slippy(*pt(0.5, 0.5).coords[0], z)
    url = f"/ogc/collections/requests/tiles/WebMercatorQuad/{z}/{x}/{y}"
    assert client.get(url).status_code == 401
    user = accounts.create_user(
        session,
        username="lead_a",
        password="correct horse battery",
        roles=[("grid_lead", "T0001/A")],
    )
    token, _ = accounts.issue_token(session, user=user, kind="api")
    r = client.get(url, headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200 and r.headers["cache-control"] == "private, no-store"
    features = mapbox_vector_tile.decode(r.content)["requests"]["features"]
    by_id = {f["id"]: f for f in features}
    assert in_a.id in by_id and in_b.id not in by_id
    assert by_id[in_a.id]["properties"]["phone"] == "13900000002"
    assert session.get(Request, in_b.id) is not None


@pytest.mark.parametrize(
    ("path", "status", "message"),
    [
        ("/ogc/collections/buildings/tiles/WebMercatorQuad/23/0/0", 400, "zoom 23"),
        ("/ogc/collections/buildings/tiles/WebMercatorQuad/2/4/0", 400, "x=4"),
        ("/ogc/collections/buildings/tiles/WebMercatorQuad/2/0/-1", 400, "y=-1"),
        ("/ogc/collections/nowhere/tiles/WebMercatorQuad/2/0/0", 404, "nowhere"),
    ],
)
def test_bad_tiles(client, path, status, message) -> None:
    """OGC's exception document keeps its shape; the description speaks the reader's language."""
    r = client.get(path, headers={"Accept-Language": "en"})
    assert r.status_code == status
    assert message in r.json()["description"]
    assert set(client.get(path).json()) == {"code", "description"}


def test_tileset_metadata_links_the_template(client) -> None:
    body = client.get("/ogc/collections/buildings/tiles").json()
    (tileset,) = body["tilesets"]
    item = next(link for link in tileset["links"] if link["rel"] == "item")
    assert item["href"].endswith("/ogc/collections/buildings/tiles/WebMercatorQuad/{z}/{x}/{y}")
    assert item["type"] == MVT
    assert "number" in tileset["layers"][0]["propertiesSchema"]["properties"]


def test_tile_bounds_match_pyproj() -> None:
    inverse = Transformer.from_crs(3857, 4326, always_xy=True)
    west, south, east, north = tile_bounds_lonlat(12, 3418, 1673, buffer=0)
    size = 2 * 20037508.342789244 / 2**12
    ex_w, ex_n = inverse.transform(
        -20037508.342789244 + 3418 * size, 20037508.342789244 - 1673 * size
    )
    ex_e, ex_s = inverse.transform(
        -20037508.342789244 + 3419 * size, 20037508.342789244 - 1674 * size
    )
    assert (west, south, east, north) == pytest.approx((ex_w, ex_s, ex_e, ex_n), abs=1e-9)
    check_tile(0, 0, 0)


def test_community_filter_keeps_one_communitys_features(client, session) -> None:
    """The tiles a community's page asks for hold only its own features."""
    ids = add_test_community(session)
    a = session.query(Building).filter_by(community_id=ids["community"], number="1号楼").one()
    z = 14
    x, y = slippy(*m2w(BUILDING_A).centroid.coords[0], z)
    base = f"/ogc/collections/buildings/tiles/WebMercatorQuad/{z}/{x}/{y}"
    own = client.get(base + "?community=T0001")
    other = client.get(base + "?community=310109010026")
    assert {f["id"] for f in mapbox_vector_tile.decode(own.content)["buildings"]["features"]} >= {
        a.id
    }
    assert other.status_code == 200 and other.content == b""
    outline = client.get(f"/ogc/collections/communities/tiles/WebMercatorQuad/{z}/{x}/{y}")
    codes = {
        f["properties"]["code"]
        for f in mapbox_vector_tile.decode(outline.content)["communities"]["features"]
    }
    assert "T0001" in codes


# --- bounds: minimum zoom, feature cap, byte budget ---------------------------------------------


def overview(client: TestClient, collection: str, z: int, x: int, y: int, query: str = ""):
    """The overview layer of a tile: {(x, y) on the grid: count}."""
    url = f"/ogc/collections/{collection}/tiles/WebMercatorQuad/{z}/{x}/{y}{query}"
    r = client.get(url)
    assert r.status_code == 200, r.text
    assert r.headers["x-tile-content"] == "overview"
    decoded = mapbox_vector_tile.decode(r.content)
    assert list(decoded) == [f"{collection}_overview"]
    return [
        (f["geometry"]["coordinates"], f["properties"]["count"])
        for f in decoded[f"{collection}_overview"]["features"]
    ]


def centres_in(session, z: int, x: int, y: int) -> list[shapely.Point]:
    """Centres of the buildings' boxes inside the tile (no buffer), computed in Python."""
    west, south, east, north = tile_bounds_lonlat(z, x, y, buffer=0)
    out = []
    for geom in session.scalars(select(Building.geom)):
        minx, miny, maxx, maxy = from_db(geom).bounds
        cx, cy = (minx + maxx) / 2, (miny + maxy) / 2
        if west <= cx < east and south <= cy < north:
            out.append(shapely.Point(cx, cy))
    return out


def test_below_the_minimum_zoom_a_tile_counts_its_features(client, session) -> None:
    """z10 is below the buildings' minimum zoom (13): the tile holds counts per cell, and
    the counts add up to the buildings in the tile."""
    add_test_community(session)
    z = 10
    x, y = slippy(*m2w(BUILDING_A).centroid.coords[0], z)
    expected = centres_in(session, z, x, y)
    assert len(expected) >= 2  # both test buildings, perhaps the demo's too
    cells = overview(client, "buildings", z, x, y)
    assert sum(n for _, n in cells) == len(expected)
    assert 1 <= len(cells) <= 16 * 16
    # each point is within the tile's grid, at the mean of its features
    for (gx, gy), _ in cells:
        assert 0 <= gx <= EXTENT and 0 <= gy <= EXTENT
    mean_a = grid_xy(*m2w(BUILDING_A).centroid.coords[0], z, x, y)
    assert any(abs(gx - mean_a[0]) < 300 and abs(gy - mean_a[1]) < 300 for (gx, gy), _ in cells)
    # the same zoom for one community: its features, not counts
    r = client.get(f"/ogc/collections/buildings/tiles/WebMercatorQuad/{z}/{x}/{y}?community=T0001")
    assert r.headers["x-tile-content"] == "features"
    assert {
        f["properties"]["number"]
        for f in mapbox_vector_tile.decode(r.content)["buildings"]["features"]
    } >= {"1号楼", "2号楼"}


def test_over_the_feature_cap_or_the_byte_budget_a_tile_is_the_overview(
    client, session, monkeypatch
) -> None:
    from renewmap.protocols.ogc import tiles as ogc_tiles

    add_test_community(session)
    z = 14
    x, y = slippy(*m2w(BUILDING_A).centroid.coords[0], z)
    expected = len(centres_in(session, z, x, y))
    full = client.get(f"/ogc/collections/buildings/tiles/WebMercatorQuad/{z}/{x}/{y}")
    assert full.headers["x-tile-content"] == "features"
    monkeypatch.setattr(ogc_tiles, "FEATURE_CAP", 1)
    assert sum(n for _, n in overview(client, "buildings", z, x, y)) == expected
    monkeypatch.setattr(ogc_tiles, "FEATURE_CAP", 1_000)
    monkeypatch.setattr(ogc_tiles, "BYTE_BUDGET", len(full.content) - 1)
    assert sum(n for _, n in overview(client, "buildings", z, x, y)) == expected
    monkeypatch.setattr(ogc_tiles, "BYTE_BUDGET", len(full.content))
    again = client.get(f"/ogc/collections/buildings/tiles/WebMercatorQuad/{z}/{x}/{y}")
    assert again.headers["x-tile-content"] == "features"


def test_tileset_names_the_minimum_zoom_and_the_overview_layer(client) -> None:
    doc = client.get("/ogc/collections/buildings/tiles/WebMercatorQuad").json()
    layers = {layer["id"]: layer for layer in doc["layers"]}
    assert layers["buildings"]["minzoom"] == 13
    assert layers["buildings_overview"]["propertiesSchema"]["properties"] == {
        "count": {"type": "integer"}
    }
