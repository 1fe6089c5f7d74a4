"""OGC API – Features under /ogc, on both databases.

With TestClient over the rolled-back session (known answers from tests/support/places.py:
community T0001 with grids A and B, building bA in A at x∈[0.1,0.3] and bB in B at
x∈[1.5,1.7], y∈[0.4,0.6] in local units). Real GIS clients against a live server:
tests/e2e/test_ogc_clients.py.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jsonschema
import pytest
import shapely
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from renewmap.db.models import Building, Community, Compound, GreenArea, Request
from renewmap.db.models import Path as PathRow
from renewmap.db.queries.ogc import property_columns
from renewmap.errors import NotFound, Unauthenticated
from renewmap.protocols.ogc.collections import COLLECTIONS, get_collection
from renewmap.services.access import accounts
from renewmap.services.requests.intake import create_request
from renewmap.spatial.geometry import as_multi, from_db, to_db
from tests.support.ogc import PUBLIC
from tests.support.places import add_quad_community, add_test_community, m2w, pt, qpt

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
GEOJSON = "application/geo+json"
OPENAPI = "application/vnd.oai.openapi+json;version=3.0"
DEMO = "310109010026"
PHONE = "13800000000"


def wbox(x0: float, y0: float, x1: float, y1: float) -> str:
    """A bbox parameter from local units (tests/support/places.py) in CRS84."""
    minx, miny, maxx, maxy = m2w(shapely.box(x0, y0, x1, y1)).bounds
    return f"{minx!r},{miny!r},{maxx!r},{maxy!r}"


def ids_of(fc: dict[str, Any]) -> set[int]:
    return {f["id"] for f in fc["features"]}


def link(doc: dict[str, Any], rel: str) -> dict[str, Any] | None:
    return next((x for x in doc["links"] if x["rel"] == rel), None)


@pytest.fixture
def world(session: Session) -> dict[str, Any]:
    """The tiny communities, requests with personal data, and staff users with tokens."""
    places = add_test_community(session)
    add_quad_community(session)
    requests = {}
    for name, geom, when in (
        ("rA", pt(0.5, 0.5), datetime(2024, 1, 10, 8, 0, tzinfo=UTC)),
        ("rB", pt(1.5, 0.2), datetime(2024, 3, 5, 12, 30, tzinfo=UTC)),
        ("rGap", pt(2.5, 0.5), datetime(2024, 6, 1, 0, 0, tzinfo=UTC)),
        ("rQ", qpt(0.5, 0.5), datetime(2024, 3, 5, 9, 0, tzinfo=UTC)),
    ):
        r, _ = create_request(session, geom=geom, category="lighting", title=f"灯不亮 {name}")
        r.phone = PHONE
        r.created_at = when
        requests[name] = r
    requests["rA"].nickname = "小王"  # not shown: show_nickname is off
    requests["rB"].nickname, requests["rB"].show_nickname = "老李", True
    requests["rGap"].hidden = True
    tokens = {}
    for username, roles in {
        "lead_a": [("grid_lead", "T0001/A")],
        "admin_t": [("community_admin", "T0001")],
        "designer_t": [("designer", "T0001")],
    }.items():
        user = accounts.create_user(
            session, username=username, password="correct horse battery", roles=roles
        )
        tokens[username] = {
            "Authorization": f"Bearer {accounts.issue_token(session, user=user, kind='api')[0]}"
        }
    session.flush()
    return {
        "ids": {k: r.id for k, r in requests.items()},
        "tokens": tokens,
        "places": places,
    }


def building_ids(session: Session) -> dict[str, int]:
    rows = session.execute(
        select(Building.number, Building.id)
        .join(Community, Community.id == Building.community_id)
        .where(Community.code == "T0001")
    ).all()
    return {"A" if number == "1号楼" else "B": bid for number, bid in rows}


# --- the registry (the vector tiles are built on it too) ---------------------------------------


def test_registry_publishes_no_personal_data() -> None:
    private = ["phone", "receipt_code", "follow_token_hash"]
    private += [c.name for c in Request.__table__.c if c.name.startswith("contact_")]
    assert {c.id for c in COLLECTIONS.values() if not c.staff_only} == PUBLIC
    for c in COLLECTIONS.values():
        names = [n for n, _ in c.properties]
        assert len(names) == len(set(names)), c.id
        assert hasattr(c.model, "id") and hasattr(c.model, "geom")
        columns, joined = property_columns(c.model, c.properties)
        sql = str(select(*columns).select_from(joined))  # what it reads
        if c.staff_only:
            assert "request.phone" in sql
        else:
            assert not [p for p in private if f"request.{p}" in sql], c.id
    with pytest.raises(Unauthenticated):
        get_collection("requests", principal=None)
    with pytest.raises(NotFound):
        get_collection("nope", principal=None)


# --- landing page, conformance, API definition -------------------------------------------------


def test_landing_page_links(client: TestClient) -> None:
    for path in ("/ogc/", "/ogc"):
        r = client.get(path)
        assert r.status_code == 200
        assert r.headers["content-type"] == "application/json"
        doc = r.json()
        assert doc["title"] and doc["description"]
        rels = {(x["rel"], x["type"]) for x in doc["links"]}
        assert ("self", "application/json") in rels
        assert ("service-desc", OPENAPI) in rels
        assert ("service-doc", "text/html") in rels
        assert ("conformance", "application/json") in rels
        assert ("data", "application/json") in rels
        assert all(x["href"].startswith("http://testserver/") for x in doc["links"])
        assert link(doc, "data")["href"] == "http://testserver/ogc/collections"
    assert client.get(link(doc, "service-doc")["href"]).status_code == 200


def test_conformance(client: TestClient) -> None:
    doc = client.get("/ogc/conformance").json()
    base = "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/"
    assert set(doc["conformsTo"]) >= {base + "core", base + "geojson", base + "oas30"}
    assert base + "html" not in doc["conformsTo"]  # no HTML is served


def test_api_is_a_valid_openapi_30_document(client: TestClient) -> None:
    from schemathesis.specs.openapi.definitions import OPENAPI_30  # the official meta-schema

    r = client.get("/ogc/api")
    assert r.status_code == 200
    assert r.headers["content-type"] == OPENAPI
    doc = r.json()
    assert doc["openapi"].startswith("3.0.")
    errors = [e.message for e in jsonschema.Draft4Validator(OPENAPI_30).iter_errors(doc)]
    assert errors == []
    assert doc["servers"][0]["url"] == "http://testserver/ogc"
    paths = doc["paths"]
    for path in ("/", "/conformance", "/collections", "/collections/{collectionId}/items"):
        assert "get" in paths[path]
    for cid in COLLECTIONS:
        assert f"/collections/{cid}/items" in paths
    limit = doc["components"]["parameters"]["limit"]["schema"]
    assert (limit["maximum"], limit["default"]) == (10_000, 10)
    staff = paths["/collections/requests/items"]["get"]
    assert staff["security"] == [{"bearerAuth": []}]
    props = doc["components"]["schemas"]["buildingsFeature"]["properties"]["properties"]
    assert props["properties"]["households"]["type"] == "integer"


# --- collections -------------------------------------------------------------------------------


def test_collections_listing_and_extents(client: TestClient, session: Session, world) -> None:
    r = client.get("/ogc/collections")
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    doc = r.json()
    by_id = {c["id"]: c for c in doc["collections"]}
    assert set(by_id) == PUBLIC  # the staff-only collection is not listed to anonymous callers
    assert link(doc, "self")["href"] == "http://testserver/ogc/collections"
    for c in by_id.values():
        assert c["itemType"] == "feature" and CRS84 in c["crs"]
        items = link(c, "items")
        assert items["type"] == GEOJSON
        assert items["href"] == f"http://testserver/ogc/collections/{c['id']}/items"
    # the spatial extent is the data's
    geoms = [from_db(g) for g in session.scalars(select(Building.geom))]
    expected = shapely.GeometryCollection(geoms).bounds
    got = by_id["buildings"]["extent"]["spatial"]
    assert got["crs"] == CRS84
    assert got["bbox"][0] == pytest.approx(expected, abs=1e-6)
    # OSM-derived layers carry the attribution; grids are drawn by staff
    assert "ODbL" in by_id["buildings"]["attribution"]
    assert "attribution" not in by_id["grids"]
    # suggestions: the temporal extent of the visible ones (the hidden rGap is from June 2024)
    first, last = by_id["suggestions"]["extent"]["temporal"]["interval"][0]
    assert first == "2024-01-10T08:00:00Z"
    visible_last = session.scalar(select(func.max(Request.created_at)).where(~Request.hidden))
    visible_last = visible_last if visible_last.tzinfo else visible_last.replace(tzinfo=UTC)
    assert datetime.fromisoformat(last.replace("Z", "+00:00")) == visible_last


def test_one_collection(client: TestClient) -> None:
    r = client.get("/ogc/collections/buildings")
    assert r.status_code == 200
    doc = r.json()
    assert doc["id"] == "buildings" and doc["title"] == "楼栋"  # Chinese first
    assert link(doc, "self")["href"] == "http://testserver/ogc/collections/buildings"
    assert client.get("/ogc/collections/buildings?lang=en").json()["title"] == "Buildings"
    english = client.get("/ogc/collections/buildings", headers={"Accept-Language": "en-GB"})
    assert english.json()["title"] == "Buildings"
    tiles = link(doc, "http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector")
    assert client.get(tiles["href"]).status_code == 200  # the vector tiles' tilesets
    schema = client.get(link(doc, "describedby")["href"])
    assert schema.headers["content-type"] == "application/schema+json"
    props = schema.json()["properties"]["properties"]["properties"]
    assert props["households"] == {"type": "integer"}
    missing = client.get("/ogc/collections/nope")
    assert missing.status_code == 404
    assert missing.json()["code"] == "not_found" and "nope" in missing.json()["description"]


# --- items -------------------------------------------------------------------------------------


def test_items_paging_follows_next_links(client: TestClient, session: Session) -> None:
    expected = sorted(session.scalars(select(Building.id)))
    seen: list[int] = []
    url = "/ogc/collections/buildings/items?limit=5"
    pages = 0
    while url:
        r = client.get(url)
        assert r.status_code == 200 and r.headers["content-type"] == GEOJSON
        fc = r.json()
        assert fc["type"] == "FeatureCollection"
        assert fc["numberMatched"] == len(expected)
        assert fc["numberReturned"] == len(fc["features"]) <= 5
        assert fc["timeStamp"].endswith("Z")
        assert link(fc, "self")["type"] == GEOJSON
        assert link(fc, "collection")["href"].endswith("/ogc/collections/buildings")
        assert (link(fc, "prev") is not None) == (pages > 0)
        seen += [f["id"] for f in fc["features"]]
        nxt = link(fc, "next")
        url = nxt["href"].replace("http://testserver", "") if nxt else ""
        pages += 1
    assert seen == expected  # stable order by id, nothing twice, nothing missed
    assert pages == -(-len(expected) // 5)
    one = client.get("/ogc/collections/buildings/items?limit=2&offset=2").json()
    assert [f["id"] for f in one["features"]] == expected[2:4]
    prev = parse_qs(urlsplit(link(one, "prev")["href"]).query)
    assert prev["limit"] == ["2"] and "offset" not in prev
    nxt = parse_qs(urlsplit(link(one, "next")["href"]).query)
    assert nxt == {"limit": ["2"], "after": [str(expected[3])]}  # keyset from there on


def test_keyset_pages_go_back_and_forth_and_large_counts_are_left_out(
    client: TestClient, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    from renewmap.protocols.ogc import features

    add_test_community(session)
    expected = sorted(session.scalars(select(Building.id)))
    assert len(expected) >= 5
    monkeypatch.setattr(features, "COUNT_CAP", 3)  # fewer than there are: no numberMatched
    pages: list[list[int]] = []
    url = "/ogc/collections/buildings/items?limit=2"
    while url:
        fc = client.get(url).json()
        assert "numberMatched" not in fc
        pages.append([f["id"] for f in fc["features"]])
        nxt = link(fc, "next")
        url = nxt["href"].replace("http://testserver", "") if nxt else ""
    assert [i for page in pages for i in page] == expected
    # back from the last page by the prev links: the same pages in reverse
    fc = client.get(f"/ogc/collections/buildings/items?limit=2&after={pages[-2][-1]}").json()
    back = [[f["id"] for f in fc["features"]]]
    while (prev := link(fc, "prev")) is not None:
        assert "before=" in prev["href"] and "offset" not in prev["href"]
        fc = client.get(prev["href"].replace("http://testserver", "")).json()
        back.append([f["id"] for f in fc["features"]])
    assert back[::-1] == pages
    monkeypatch.setattr(features, "COUNT_CAP", 100_000)
    fc = client.get(f"/ogc/collections/buildings/items?limit=2&after={expected[0]}").json()
    assert fc["numberMatched"] == len(expected)  # counted while under the cap
    both = client.get("/ogc/collections/buildings/items?after=1&before=9")
    assert both.status_code == 400 and both.json()["code"] == "invalid_input"


def test_item_values_and_types(client: TestClient, session: Session, world) -> None:
    bids = building_ids(session)
    fc = client.get(f"/ogc/collections/buildings/items?bbox={wbox(0, 0, 3, 1)}").json()
    by_id = {f["id"]: f for f in fc["features"]}
    assert set(by_id) == {bids["A"], bids["B"]}
    a = by_id[bids["A"]]
    assert a["properties"]["households"] == 20  # a number, not a string
    assert a["properties"]["number"] == "1号楼"
    assert a["properties"]["community"] == "T0001" and a["properties"]["grid"] == "A"
    footprint = m2w(shapely.MultiPolygon([shapely.box(0.1, 0.4, 0.3, 0.6)]))
    got = shapely.geometry.shape(a["geometry"])
    assert got.geom_type == "MultiPolygon"
    assert shapely.equals_exact(got.normalize(), footprint.normalize(), tolerance=1e-9)
    one = client.get(f"/ogc/collections/buildings/items/{bids['A']}")
    assert one.status_code == 200 and one.headers["content-type"] == GEOJSON
    assert one.headers["content-crs"] == f"<{CRS84}>"
    feature = one.json()
    assert feature["type"] == "Feature" and feature["id"] == bids["A"]
    assert feature["properties"] == a["properties"]
    assert link(feature, "self")["href"].endswith(f"/collections/buildings/items/{bids['A']}")
    assert link(feature, "collection")["href"].endswith("/collections/buildings")
    # the suggestions' dates are ISO 8601 in UTC
    rb = client.get(f"/ogc/collections/suggestions/items/{world['ids']['rB']}").json()
    assert rb["properties"]["created_at"] == "2024-03-05T12:30:00Z"


@pytest.mark.parametrize("bad", ["999999999", "abc", "-1", "1.5"])
def test_items_that_do_not_exist_are_404(client: TestClient, bad: str) -> None:
    r = client.get(f"/ogc/collections/buildings/items/{bad}")
    assert r.status_code == 404 and r.json()["code"] == "not_found"


def test_bbox_known_answers(client: TestClient, session: Session, world) -> None:
    bids = building_ids(session)

    def found(box: str, collection: str = "buildings") -> set[int]:
        r = client.get(f"/ogc/collections/{collection}/items", params={"bbox": box})
        assert r.status_code == 200, r.text
        fc = r.json()
        assert fc["numberMatched"] == fc["numberReturned"] == len(fc["features"])
        return ids_of(fc)

    assert found(wbox(0, 0.3, 0.5, 0.7)) == {bids["A"]}  # contains A, not B
    assert found(wbox(0.5, 0, 1.4, 1)) == set()  # between them
    assert found(wbox(0, 0, 2, 1)) == {bids["A"], bids["B"]}
    assert found(wbox(0.3, 0.6, 0.5, 0.9)) == {bids["A"]}  # touches A's corner: intersects
    # just east of A: the indexes' rounded boxes would include it; the answer must not
    assert found(wbox(0.30001, 0, 1.4, 1)) == set()
    # six numbers (with heights) and an explicit CRS84
    minx, miny, maxx, maxy = (float(v) for v in wbox(0, 0.3, 0.5, 0.7).split(","))
    six = f"{minx},{miny},0,{maxx},{maxy},100"
    r = client.get("/ogc/collections/buildings/items", params={"bbox": six, "bbox-crs": CRS84})
    assert ids_of(r.json()) == {bids["A"]}
    # suggestions in T0001: the hidden rGap is never listed
    ids = world["ids"]
    assert found(wbox(0, 0, 3, 1), "suggestions") == {ids["rA"], ids["rB"]}


def test_bbox_selects_by_geometry_not_by_its_box(
    client: TestClient, session: Session, world
) -> None:
    """OGC: a feature is in a bbox when its geometry intersects it. A diagonal path and an
    L-shaped green area whose bounding boxes reach into the box, but not their shapes, are
    left out; a request drawn as an area is tested by its shape too."""
    community = world["places"]["community"]
    diagonal = m2w(shapely.LineString([(0, 0), (1, 1)]))
    l_shape = m2w(shapely.Polygon([(2, 0), (3, 0), (3, 0.2), (2.2, 0.2), (2.2, 1), (2, 1)]))
    path = PathRow(community_id=community, name="斜路", geom=to_db(as_multi(diagonal)))
    green = GreenArea(community_id=community, name="L形绿地", geom=to_db(as_multi(l_shape)))
    area, _ = create_request(
        session,
        geom=m2w(shapely.Polygon([(2, 0), (3, 0), (3, 0.2), (2.2, 0.2), (2.2, 1), (2, 1)])),
        category="greenery",
        title="L形区域",
    )
    session.add_all([path, green])
    session.flush()

    def found(box: str, collection: str) -> set[int]:
        r = client.get(f"/ogc/collections/{collection}/items", params={"bbox": box})
        assert r.status_code == 200, r.text
        fc = r.json()
        assert fc["numberMatched"] == len(fc["features"])
        return ids_of(fc)

    # the south-east corner of the diagonal's box, away from the line itself
    assert path.id not in found(wbox(0.8, 0, 1, 0.2), "paths")
    assert path.id in found(wbox(0.4, 0.4, 0.6, 0.6), "paths")  # on the line
    # inside the L's box, in the notch
    assert green.id not in found(wbox(2.5, 0.5, 2.9, 0.9), "green_areas")
    assert green.id in found(wbox(2.5, 0.05, 2.9, 0.15), "green_areas")  # on its foot
    assert area.id not in found(wbox(2.5, 0.5, 2.9, 0.9), "suggestions")
    assert area.id in found(wbox(2.5, 0.05, 2.9, 0.15), "suggestions")
    # points are settled by their box: rA is found as before
    assert world["ids"]["rA"] in found(wbox(0.4, 0.4, 0.6, 0.6), "suggestions")


def test_datetime_intervals(client: TestClient, world) -> None:
    ids = world["ids"]
    everywhere = wbox(-1, -1, 4, 2)  # T0001 only (Q0001 is at lon 20)

    def found(value: str) -> set[int]:
        r = client.get(
            "/ogc/collections/suggestions/items", params={"datetime": value, "bbox": everywhere}
        )
        assert r.status_code == 200, r.text
        return ids_of(r.json())

    assert found("2024-03-05") == {ids["rB"]}  # a date: that whole day
    assert found("2024-01-10T08:00:00Z") == {ids["rA"]}  # an instant
    assert found("2024-01-10T16:00:00+08:00") == {ids["rA"]}  # the same instant in Shanghai
    assert found("2024-01-10T08:00:01Z") == set()
    assert found("2024-01-01/2024-03-31") == {ids["rA"], ids["rB"]}
    assert found("../2024-02-01") == {ids["rA"]}
    assert found("2024-03-01T00:00:00Z/..") == {ids["rB"]}  # rGap is hidden
    assert found("2024-03-01T00:00:00Z/") == {ids["rB"]}
    assert found("2024-03-05T12:30:00Z/2024-03-05T12:30:00Z") == {ids["rB"]}
    # the Q0001 request of the same day, without the bbox
    r = client.get("/ogc/collections/suggestions/items", params={"datetime": "2024-03-05"})
    assert ids_of(r.json()) == {ids["rB"], ids["rQ"]}
    # collections without a time ignore it
    plain = client.get("/ogc/collections/grids/items", params={"datetime": "1999-01-01"})
    assert plain.json()["numberMatched"] > 0


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ("limit=0", "limit"),
        ("limit=abc", "limit"),
        ("limit=1&limit=2", "more than once"),
        ("offset=-1", "offset"),
        ("bbox=1,2,3", "bbox"),
        ("bbox=a,b,c,d", "bbox"),
        ("bbox=10,50,9,51", "antimeridian"),
        ("bbox=10,51,11,50", "latitude"),
        ("bbox=200,0,201,1", "CRS84"),
        ("bbox=1,2,3,nan", "bbox"),
        ("bbox-crs=EPSG:3857&bbox=1,2,3,4", "bbox-crs"),
        ("crs=http://www.opengis.net/def/crs/EPSG/0/3857", "crs"),
        ("datetime=2024-13-01", "datetime"),
        ("datetime=yesterday", "datetime"),
        ("datetime=../..", "datetime"),
        ("datetime=2024-05-01/2024-01-01", "datetime"),
        ("datetime=2024-01-01/2024-02-01/2024-03-01", "datetime"),
        ("f=html", "HTML"),
        ("f=xml", "f must be"),
        ("sortby=id", "unknown query parameter 'sortby'"),
    ],
)
def test_bad_parameters_are_400(client: TestClient, query: str, words: str) -> None:
    r = client.get(f"/ogc/collections/suggestions/items?{query}", headers={"Accept-Language": "en"})
    assert r.status_code == 400, r.text
    assert r.headers["content-type"] == "application/json"
    body = r.json()
    assert body["code"] == "invalid_input" and words in body["description"]
    # the exception document keeps its shape; without a language, it speaks Chinese
    chinese = client.get(f"/ogc/collections/suggestions/items?{query}").json()
    assert set(chinese) == {"code", "description"} and chinese["code"] == "invalid_input"
    assert any("\u4e00" <= ch <= "\u9fff" for ch in chinese["description"]), chinese


@pytest.mark.parametrize(
    "path", ["/ogc/", "/ogc", "/ogc/conformance", "/ogc/collections", "/ogc/api"]
)
def test_other_endpoints_refuse_unknown_parameters(client: TestClient, path: str) -> None:
    r = client.get(path, params={"limit": "5"})
    assert r.status_code == 400 and r.json()["code"] == "invalid_input", path


def test_limit_is_clamped_not_refused(client: TestClient, session: Session) -> None:
    r = client.get("/ogc/collections/suggestions/items?limit=50000")
    assert r.status_code == 200
    fc = r.json()
    total = session.scalar(select(func.count()).select_from(Request).where(~Request.hidden))
    assert fc["numberReturned"] == min(total, 10_000) == fc["numberMatched"]
    default = client.get("/ogc/collections/suggestions/items").json()
    assert default["numberReturned"] == min(total, 10)
    assert parse_qs(urlsplit(link(default, "next")["href"]).query)["limit"] == ["10"]


ITEMS_URL = "/ogc/collections/buildings/items?limit=1"


@pytest.mark.parametrize(
    ("params", "headers", "media"),
    [
        ("", {}, GEOJSON),
        ("&f=json", {}, GEOJSON),  # some clients send f=json: GeoJSON anyway
        ("&f=geojson", {}, GEOJSON),
        ("", {"Accept": "application/geo+json, application/json"}, GEOJSON),
        ("", {"Accept": "application/json"}, "application/json"),
        ("", {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}, GEOJSON),
        ("&f=json", {"Accept": "text/html"}, GEOJSON),  # f wins
    ],
)
def test_formats_and_accept(
    client: TestClient, params: str, headers: dict[str, str], media: str
) -> None:
    r = client.get(ITEMS_URL + params, headers=headers)
    assert r.status_code == 200
    assert r.headers["content-type"] == media, (params, headers)
    assert r.json()["features"][0]["type"] == "Feature"


def test_formats_nobody_asked_for_are_refused(client: TestClient) -> None:
    refused = client.get(ITEMS_URL, headers={"Accept": "text/html"})
    assert refused.status_code == 406 and refused.json()["code"] == "not_acceptable"
    assert client.get("/ogc/collections?f=json").headers["content-type"] == "application/json"
    assert client.get("/ogc/collections?f=geojson").status_code == 400


def test_unknown_paths_and_methods_answer_in_the_ogc_format(client: TestClient) -> None:
    r = client.get("/ogc/collections/buildings/nothing")
    assert r.status_code == 404 and set(r.json()) == {"code", "description"}
    r = client.post("/ogc/collections")
    assert r.status_code == 405 and set(r.json()) == {"code", "description"}


# --- personal data and the staff-only collection -----------------------------------------------


def test_public_suggestions_carry_no_personal_data(client: TestClient, world) -> None:
    ids = world["ids"]
    r = client.get("/ogc/collections/suggestions/items", params={"bbox": wbox(0, 0, 3, 1)})
    assert PHONE not in r.text and "小王" not in r.text
    by_id = {f["id"]: f["properties"] for f in r.json()["features"]}
    assert set(by_id) == {ids["rA"], ids["rB"]}
    for props in by_id.values():
        assert not {"phone", "receipt_code", "hidden"} & set(props)
    assert by_id[ids["rA"]]["nickname"] is None  # not allowed to be shown
    assert by_id[ids["rB"]]["nickname"] == "老李"
    hidden = client.get(f"/ogc/collections/suggestions/items/{ids['rGap']}")
    assert hidden.status_code == 404
    full = client.get("/ogc/collections/suggestions/items?limit=10000").text
    assert PHONE not in full


def test_staff_collection_needs_a_token(client: TestClient, world) -> None:
    rid = world["ids"]["rA"]
    for path in ("", "/items", f"/items/{rid}", "/schema"):
        r = client.get(f"/ogc/collections/requests{path}")
        assert r.status_code == 401, path
        assert r.json()["code"] == "unauthenticated"
        assert r.headers["www-authenticate"] == "Bearer"
    bad = {"Authorization": "Bearer not-a-token"}
    assert client.get("/ogc/collections", headers=bad).status_code == 401
    # a designer has no area with requests: not listed, and refused
    designer = world["tokens"]["designer_t"]
    listed = {
        c["id"] for c in client.get("/ogc/collections", headers=designer).json()["collections"]
    }
    assert listed == PUBLIC
    assert client.get("/ogc/collections/requests/items", headers=designer).status_code == 403


def test_grid_lead_sees_only_their_grid(client: TestClient, world) -> None:
    ids, lead = world["ids"], world["tokens"]["lead_a"]
    listed = client.get("/ogc/collections", headers=lead).json()["collections"]
    requests = next(c for c in listed if c["id"] == "requests")
    # its extent is the lead's own requests: the one in grid A
    a = pt(0.5, 0.5)
    assert requests["extent"]["spatial"]["bbox"][0] == pytest.approx([a.x, a.y, a.x, a.y])
    fc = client.get("/ogc/collections/requests/items?limit=10000", headers=lead).json()
    assert ids_of(fc) == {ids["rA"]} and fc["numberMatched"] == 1
    props = fc["features"][0]["properties"]
    assert props["phone"] == PHONE and props["nickname"] == "小王"  # contact details: in scope
    assert props["grid"] == "A" and props["receipt_code"] is None
    for name in ("rB", "rGap", "rQ"):  # out of scope: not found, whatever the reason
        r = client.get(f"/ogc/collections/requests/items/{ids[name]}", headers=lead)
        assert r.status_code == 404, name
    wide = client.get(
        "/ogc/collections/requests/items", params={"bbox": "-180,-90,180,90"}, headers=lead
    )
    assert ids_of(wide.json()) == {ids["rA"]}  # a wider box never widens the scope


def test_community_admin_sees_hidden_requests_of_the_community(client: TestClient, world) -> None:
    ids, admin = world["ids"], world["tokens"]["admin_t"]
    fc = client.get("/ogc/collections/requests/items?limit=10000", headers=admin).json()
    assert ids_of(fc) == {ids["rA"], ids["rB"], ids["rGap"]}
    gap = client.get(f"/ogc/collections/requests/items/{ids['rGap']}", headers=admin).json()
    assert gap["properties"]["hidden"] is True and gap["properties"]["grid"] is None
    assert gap["properties"]["created_at"] == "2024-06-01T00:00:00Z"
    when = client.get(
        "/ogc/collections/requests/items", params={"datetime": "2024-03-05"}, headers=admin
    )
    assert ids_of(when.json()) == {ids["rB"]}  # rQ (same day) is another community's


def test_codes_of_related_rows(client: TestClient, session: Session, world) -> None:
    """Codes looked up through joins: a merged compound names the one it joined (a table
    pointing at itself), buildings name their grid and community."""
    community = world["places"]["community"]
    outline = to_db(as_multi(m2w(shapely.box(0, 0, 1, 1))))
    kept = Compound(community_id=community, code="C-KEEP", name="保留小区", geom=outline)
    session.add(kept)
    session.flush()
    merged = Compound(
        community_id=community,
        code="C-GONE",
        name="并入小区",
        geom=outline,
        merged_into_id=kept.id,
    )
    session.add(merged)
    session.flush()
    fc = client.get("/ogc/collections/compounds/items", params={"bbox": wbox(0, 0, 1, 1)}).json()
    by_code = {f["properties"]["code"]: f["properties"] for f in fc["features"]}
    assert by_code["C-GONE"]["merged_into"] == "C-KEEP"
    assert by_code["C-KEEP"]["merged_into"] is None
    assert by_code["C-GONE"]["community"] == "T0001"
    bids = building_ids(session)
    one = client.get(f"/ogc/collections/buildings/items/{bids['B']}").json()
    assert one["properties"]["grid"] == "B" and one["properties"]["community"] == "T0001"
