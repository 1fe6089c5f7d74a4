"""The HTTP API on both databases; bodies validated against our own schemas."""

from __future__ import annotations

import json
import re

import pytest
from fastapi.testclient import TestClient

from renewmap.api.schemas.common import ErrorBody, FeatureCollection
from renewmap.api.schemas.places import CommunityOut, Health, RouteOut
from renewmap.settings import Settings
from tests.support.app import build_app
from tests.support.places import add_test_community, pt

DEMO = "310109010026"


def test_health(client, engine) -> None:
    body = Health.model_validate(client.get("/health").json())
    assert body.database == engine.dialect.name


def test_communities_and_layers(client) -> None:
    items = [CommunityOut.model_validate(c) for c in client.get("/api/communities").json()]
    demo = next(c for c in items if c.code == DEMO)
    assert demo.name == "巴林居委会" and demo.subdistrict.name == "曲阳路街道"
    assert "ODbL" in demo.attribution
    expected = {"grid": 7, "building": 21, "plant": 8, "site": 1}
    for kind, n in expected.items():
        r = client.get(f"/api/communities/{DEMO}/layers/{kind}")
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("application/geo+json")
        fc = FeatureCollection.model_validate(r.json())
        assert len(fc.features) == n, kind
    buildings = client.get(f"/api/communities/{DEMO}/layers/building").json()["features"]
    assert {f["properties"]["number"] for f in buildings} == {f"{i}号楼" for i in range(1, 22)}
    lon, lat = buildings[0]["geometry"]["coordinates"][0][0][0]
    assert 121 < lon < 122 and 31 < lat < 32  # x = longitude


def test_layer_errors(client) -> None:
    r = client.get("/api/communities/NOPE/layers/grid")
    assert r.status_code == 404
    body = ErrorBody.model_validate(r.json())
    assert (body.error, body.code, body.params) == ("not_found", "community_not_found", EN)
    assert body.message == "找不到社区“NOPE”"  # Simplified Chinese by default
    # requests hold residents' phone numbers: never a public layer
    r = client.get(f"/api/communities/{DEMO}/layers/request")
    assert r.status_code == 404 and r.json()["code"] == "requests_not_public_layer"
    assert "suggestions" in r.json()["message"]
    assert "phone" not in r.text
    r = client.get(f"/api/communities/{DEMO}/layers/unicorns?lang=en")
    assert r.status_code == 404 and r.json()["code"] == "layer_unknown"
    assert "unknown layer 'unicorns'" in r.json()["message"]


EN = {"code": "NOPE"}


def test_errors_speak_the_readers_language(client) -> None:
    """Chinese by default; English with ?lang=en, the rm_lang cookie or Accept-Language."""
    url = "/api/communities/NOPE/layers/grid"
    zh = client.get(url).json()
    assert zh["message"] == "找不到社区“NOPE”" and zh["code"] == "community_not_found"
    english = "community 'NOPE' not found"
    assert client.get(url, params={"lang": "en"}).json()["message"] == english
    assert client.get(url, headers={"Accept-Language": "en-GB,en;q=0.8"}).json()["message"] == (
        english
    )
    client.cookies.set("rm_lang", "en")  # the pages' language switch
    assert client.get(url).json()["message"] == english
    client.cookies.clear()
    # ?lang= beats Accept-Language
    r = client.get(url, params={"lang": "zh"}, headers={"Accept-Language": "en"})
    assert r.json()["message"] == zh["message"]
    for body in (zh, client.get(url, params={"lang": "en"}).json()):
        assert (body["error"], body["code"], body["params"]) == (
            "not_found",
            "community_not_found",
            {"code": "NOPE"},
        )
    # FastAPI's own checks of a request read the same way
    bad = client.post(
        "/api/route", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert bad.json()["code"] == "invalid_request" and bad.json()["message"].startswith("请求有误")
    bad = client.post(
        "/api/route?lang=en", content=b"{not json", headers={"content-type": "application/json"}
    )
    message = bad.json()["message"]
    assert message.startswith("invalid request: body") and "not valid JSON" in message
    # no route at all
    gone = client.get("/api/no/such/thing")
    assert gone.status_code == 404 and gone.json()["code"] == "no_route"
    assert (
        "/api/no/such/thing" in gone.json()["message"]
        and "没有页面或接口" in gone.json()["message"]
    )


def test_route_known_answers(client, session) -> None:
    add_test_community(session)
    p = pt(1.0, 0.5)  # exactly on the A|B edge → B (nearer buildings)
    r = client.post("/api/route", json={"type": "Point", "coordinates": [p.x, p.y]})
    assert r.status_code == 200
    body = RouteOut.model_validate(r.json())
    assert (body.rule, body.grid.code, body.branch.code) == ("boundary", "B", "T-BB")
    assert [c.code for c in body.chain] == ["T-BB", "T-GB", "T00"]
    assert body.message == "将由 B网格 · B支部 处理"
    english = client.post(
        "/api/route?lang=en", json={"type": "Point", "coordinates": [p.x, p.y]}
    ).json()
    assert english["message"] == "B网格 · B支部 will handle this"
    feature = {
        "type": "Feature",
        "properties": {},
        "geometry": {"type": "Point", "coordinates": [p.x, p.y]},
    }
    assert client.post("/api/route", json=feature).json()["grid"]["code"] == "B"


@pytest.mark.parametrize(
    ("body", "code", "message"),
    [
        (
            {"type": "Point", "coordinates": [31.289, 121.4905]},
            "coordinates_swapped",
            "look like (latitude, longitude)",
        ),
        (
            {"type": "Point", "coordinates": [200, 31]},
            "coordinates_out_of_range",
            "outside WGS84 range",
        ),
        ({"type": "Point"}, "geojson_incomplete", "needs 'type' and 'coordinates'"),
        (
            {
                "type": "Polygon",
                "coordinates": [
                    [
                        [121.49, 31.28],
                        [121.5, 31.29],
                        [121.5, 31.28],
                        [121.49, 31.29],
                        [121.49, 31.28],
                    ]
                ],
            },
            "geometry_invalid",
            "invalid geometry: the outline crosses itself at (",
        ),
        (
            {"type": "Point", "coordinates": [121.6, 31.2]},
            "location_outside_communities",
            "outside every community",
        ),
        ({"type": "Triangle", "coordinates": [1, 2]}, "geojson_unknown_type", "malformed GeoJSON"),
    ],
)
def test_route_bad_input_is_422_with_message(client, body, code, message) -> None:
    r = client.post("/api/route", json=body)
    assert r.status_code == 422
    assert ErrorBody.model_validate(r.json()).code == code
    english = client.post("/api/route", json=body, headers={"Accept-Language": "en"})
    assert message in ErrorBody.model_validate(english.json()).message


def test_a_place_outside_every_community_is_explained_to_residents(client) -> None:
    r = client.post("/api/route", json={"type": "Point", "coordinates": [121.6, 31.2]})
    body = r.json()
    assert body["code"] == "location_outside_communities"
    assert body["params"] == {"lon": 121.6, "lat": 31.2, "snap_distance_m": 50.0}
    assert "不在任何社区范围内" in body["message"] and "50 米" in body["message"]


def test_openapi_documents_route(client) -> None:
    spec = client.get("/openapi.json").json()
    assert "/api/route" in spec["paths"]
    assert "RouteOut" in spec["components"]["schemas"]


def test_demo_page_uses_no_external_assets(client) -> None:
    r = client.get(f"/c/{DEMO}")
    assert r.status_code == 200
    html = r.text
    external = re.findall(r"""(?:src|href)\s*=\s*["'](https?:)?//""", html)
    assert external == []
    assert "/static/vendor/leaflet/leaflet.js" in html
    assert "ODbL" in html
    # building labels (folium may JSON-escape non-ASCII text inside scripts)
    assert "17号楼" in html or json.dumps("17号楼")[1:-1] in html
    asset = client.get("/static/vendor/leaflet/leaflet.js")
    assert asset.status_code == 200 and "Leaflet" in asset.text[:200]


@pytest.mark.parametrize("env", ["prod", "test"])
def test_no_default_secret_outside_dev(env: str) -> None:
    with pytest.raises(ValueError, match="RENEWMAP_SECRET_KEY"):
        Settings(env=env)


# prod: a secret of 32 bytes or more, the host names served and the public address
PROD = {
    "env": "prod",
    "secret_key": "s3cret-from-vault-" + "x" * 14,
    "allowed_hosts": "renewmap.example.org",
    "public_base_url": "https://renewmap.example.org",
}


def test_default_secret_only_in_dev() -> None:
    assert Settings(env="dev").env == "dev"
    assert Settings(**PROD).env == "prod"


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"secret_key": ""}, "at least 32 bytes in prod (got 0)"),
        ({"secret_key": "x"}, "at least 32 bytes in prod (got 1)"),
        ({"secret_key": "s3cret-from-vault"}, "at least 32 bytes in prod (got 17)"),
        ({"allowed_hosts": ""}, "RENEWMAP_ALLOWED_HOSTS is required in prod"),
        ({"public_base_url": None}, "RENEWMAP_PUBLIC_BASE_URL is required in prod"),
        ({"public_base_url": "renewmap.example.org"}, "must be an http(s) URL"),
        ({"trusted_proxies": "10.0.0.0/8, nginx"}, "'nginx' is not an IP address"),
    ],
)
def test_prod_needs_its_settings(change: dict[str, object], named: str) -> None:
    with pytest.raises(ValueError, match=re.escape(named)):
        Settings(**{**PROD, **change})


@pytest.mark.parametrize(
    ("body", "code", "message"),
    [
        (
            {"type": "MultiPoint", "coordinates": [[121.49, 31.289]]},
            "geometry_not_routable",
            "cannot be routed",
        ),
        (
            {"type": "GeometryCollection", "geometries": []},
            "geojson_incomplete",
            "needs 'type' and 'coordinates'",
        ),
        (
            {"type": "Point", "coordinates": [[121.49, 31.289]]},
            "geojson_bad_nesting",
            "nested wrongly",
        ),
        ({"type": "Point", "coordinates": [True, False]}, "geojson_bad_position", "2 or 3 numbers"),
        (
            {"type": "Polygon", "coordinates": [[[121.49, 31.28], [121.5, 31.28], [121.5, 31.29]]]},
            "geojson_ring_not_closed",
            "ring is not closed",
        ),
        ("not an object", "invalid_request", "body: an object is required"),
    ],
)
def test_route_rejects_unroutable_shapes(client, body, code, message) -> None:
    r = client.post("/api/route", json=body, params={"lang": "en"})
    assert r.status_code == 422
    got = ErrorBody.model_validate(r.json())
    assert got.code == code and message in got.message


def test_framework_errors_use_our_error_body(client) -> None:
    r = client.post(
        "/api/route", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert r.status_code == 422
    body = ErrorBody.model_validate(r.json())
    assert body.error == "invalid_input" and body.code == "invalid_request"
    assert body.message.startswith("请求有误：")


@pytest.mark.parametrize("url", ["/api/communities/NO%00PE/layers/grid", "/api/communities?x=%00"])
def test_nul_in_the_address_is_refused_on_both_databases(client, url: str) -> None:
    """PostgreSQL text cannot hold NUL: it is a clear 422 everywhere, never a 500."""
    r = client.get(url)
    assert r.status_code == 422, url
    body = ErrorBody.model_validate(r.json())
    assert body.code == "nul_character" and "NUL" in body.message


def test_oversize_body_is_413(make_client) -> None:
    c = make_client(max_json_bytes=1000)
    coords = [[121.49 + i * 1e-6, 31.289] for i in range(200)]
    r = c.post("/api/route", json={"type": "LineString", "coordinates": coords})
    assert r.status_code == 413
    assert ErrorBody.model_validate(r.json()).error == "payload_too_large"


def test_database_down_is_503(tmp_path) -> None:
    url = "postgresql+psycopg://nobody@127.0.0.1:1/none"
    with TestClient(build_app(database_url=url)) as c:
        r = c.get("/health")
        assert r.status_code == 503
        assert ErrorBody.model_validate(r.json()).error == "database_unavailable"


def test_user_text_is_escaped_on_the_map(client, session) -> None:
    from renewmap.maps import community_map
    from renewmap.services.places.layers import community_layers
    from renewmap.services.requests.intake import create_request

    add_test_community(session)
    create_request(session, geom=pt(0.5, 0.5), category="other", title="<script>alert(1)</script>")
    # the notebooks' folium map puts no text from people into the code folium generates
    html = community_map(community_layers(session, community_code="T0001")).get_root().render()
    assert "alert(1)" not in html
    # the residents' page embeds no suggestions at all: they are fetched by view
    page = client.get("/c/T0001").text
    assert "alert(1)" not in page


def test_real_lifespan_without_overrides(make_client, database_url_factory) -> None:
    """The app as deployed: its own engines from settings, no dependency overrides."""
    from renewmap.db.engine import make_engine
    from renewmap.db.migrate import upgrade

    url = database_url_factory()
    eng = make_engine(url)
    upgrade(eng)
    eng.dispose()
    c = make_client(on_session=False, database_url=url)
    assert c.get("/health").json()["status"] == "ok"
    assert c.get("/api/communities").json() == []
    r = c.post("/api/route", json={"type": "Point", "coordinates": [121.49, 31.289]})
    assert r.status_code == 422 and r.json()["error"] == "not_routable"


@pytest.mark.parametrize(
    ("xy", "rule", "grid"),
    [
        ((0.5, 0.5), "inside", "A"),
        ((0.2, 0.5), "building", "A"),
        ((1.0, 0.5), "boundary", "B"),
        ((2.5, 0.5), "community", None),
        ((3.28, 0.5), "snapped", "B"),
    ],
)
def test_every_rule_through_the_api(client, session, xy, rule, grid) -> None:
    add_test_community(session)
    p = pt(*xy)
    body = RouteOut.model_validate(
        client.post("/api/route", json={"type": "Point", "coordinates": [p.x, p.y]}).json()
    )
    assert body.rule == rule and (body.grid.code if body.grid else None) == grid


def csp_nonce(response) -> str:
    """The nonce a page's Content-Security-Policy allows scripts with."""
    found = re.search(r"'nonce-([^']+)'", response.headers["content-security-policy"])
    assert found is not None
    return found.group(1)


def test_residents_page_is_cached_until_the_site_plan_changes(client, session) -> None:
    """The rendered page is reused and revalidated by ETag; an import changes it."""
    import geopandas as gpd
    import shapely

    from renewmap.services.ingest.importer import import_frame

    add_test_community(session)
    cache = client.app.state.page_cache
    first = client.get("/c/T0001")
    assert first.status_code == 200 and "测试社区" in first.text
    etag = first.headers["etag"]
    assert first.headers["cache-control"] == "no-cache"
    again = client.get("/c/T0001")
    # the same page, with each response's own CSP nonce on its scripts
    nonces = [csp_nonce(r) for r in (first, again)]
    assert nonces[0] != nonces[1] and all(
        f'nonce="{n}"' in r.text for n, r in zip(nonces, (first, again), strict=True)
    )
    same = [r.text.replace(n, "NONCE") for n, r in zip(nonces, (first, again), strict=True)]
    assert (same[1], again.headers["etag"], cache.renders) == (same[0], etag, 1)
    not_modified = client.get("/c/T0001", headers={"If-None-Match": etag})
    assert (not_modified.status_code, not_modified.content) == (304, b"")
    english = client.get("/c/T0001", headers={"Accept-Language": "en"})
    assert english.headers["etag"] != etag and cache.renders == 2

    # a new building in the plan: a new version, a new page that shows it
    square = shapely.box(*pt(2.2, 0.2).bounds[:2], *pt(2.4, 0.4).bounds[:2])
    gdf = gpd.GeoDataFrame({"code": ["B9"], "number": ["99号"]}, geometry=[square], crs=4326)
    import_frame(session, gdf, kind="building", community_code="T0001")
    changed = client.get("/c/T0001", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag
    assert '"number":"99号"' in changed.text and cache.renders == 3  # in the map's JSON


@pytest.mark.parametrize("path", ["/c/NOPE", "/api/communities/NOPE", "/no/such/page"])
def test_programs_get_json_for_what_is_not_there(client, session, path: str) -> None:
    add_test_community(session)
    r = client.get(path)
    assert r.status_code == 404 and ErrorBody.model_validate(r.json()).error == "not_found"


def test_people_get_error_pages_and_programs_get_json(client, session) -> None:
    """The same honest status either way; a browser gets a translated page, the API JSON."""
    add_test_community(session)
    html = {"Accept": "text/html,application/xhtml+xml"}
    page = client.get("/c/NOPE", headers=html)
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert "找不到这个页面" in page.text and "NOPE" in page.text
    english = client.get("/c/NOPE?lang=en", headers=html)
    assert english.status_code == 404 and "Page not found" in english.text
    bad_link = client.get("/r/RMZZZZZZ", params={"t": "x" * 20}, headers=html)
    assert bad_link.status_code == 404 and "找不到回执编号“RMZZZZZZ”" in bad_link.text
    bad_link = client.get("/r/RMZZZZZZ", params={"t": "x" * 20, "lang": "en"}, headers=html)
    assert bad_link.status_code == 404 and "receipt" in bad_link.text
    nowhere = client.get("/no/such/page", headers=html)
    assert nowhere.status_code == 404 and "/no/such/page" in nowhere.text
    # an API path answers JSON even to a browser
    assert client.get("/api/communities/NOPE", headers=html).json()["error"] == "not_found"
    r = client.delete("/api/communities")
    assert r.status_code == 405 and ErrorBody.model_validate(r.json()).error == "method_not_allowed"
