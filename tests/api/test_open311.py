"""Open311 GeoReport v2 (``/open311/v2/``) on both databases.

In-process tests use the tiny community T0001 (tests/support/places.py: grid A with branch A支部,
grid B with branch B支部, a strip in no grid under the general branch 测试党总支; building 1号楼
in A, 2号楼 in B) and Q0001 elsewhere. Real clients nobody here wrote (georeport, civicbot,
schemathesis with the standard's own Swagger file, corrected) talk to a live server with the
demo community in tests/e2e/test_open311_clients.py.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import xmltodict
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from renewmap.db.models import Grid, Notification, Request, RequestEvent
from renewmap.i18n import catalog
from renewmap.protocols.open311 import georeport
from renewmap.protocols.open311.xml import render
from renewmap.services.access import accounts
from renewmap.vocabulary import CATEGORIES
from tests.support.db import count
from tests.support.open311 import API, EMAIL, FIRST, LAST, PHONE, WITH_ATTRIBUTES
from tests.support.places import add_quad_community, add_test_community, pt

DEMO = "310109010026"
JSON_TYPE = "application/json; charset=utf-8"
XML_TYPE = "text/xml; charset=utf-8"


@pytest.fixture
def world(session: Session) -> dict[str, Any]:
    ids = add_test_community(session)
    add_quad_community(session)
    key = georeport.issue_key(session, community_code="T0001", client="miniapp", actor="test")
    lead = accounts.create_user(
        session,
        username="lead_a",
        password="correct horse battery",
        email="lead-a@example.org",
        roles=[("grid_lead", "T0001/A")],
    )
    session.flush()
    return {**ids, "key": key.key, "lead": lead}


def form(world: dict[str, Any], where: Any = None, **fields: Any) -> dict[str, Any]:
    """A POST's fields: the key, a service and a location in grid A unless given."""
    where = where if where is not None else pt(0.5, 0.5)
    data = {"api_key": world["key"], "service_code": "greenery", "lat": where.y, "long": where.x}
    data.update(fields)
    return {k: v for k, v in data.items() if v is not None}


def post(c: TestClient, data: dict[str, Any], fmt: str = "json") -> Any:
    return c.post(f"{API}/requests.{fmt}", data=data)


def xml(response: Any) -> ET.Element:
    assert response.headers["content-type"] == XML_TYPE
    assert response.content.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    return ET.fromstring(response.content)


def errors_of(response: Any) -> list[dict[str, Any]]:
    """The standard's error list, from either format."""
    if response.headers["content-type"] == XML_TYPE:
        root = xml(response)
        assert root.tag == "errors"
        return [
            {"code": int(e.findtext("code") or 0), "description": e.findtext("description")}
            for e in root.findall("error")
        ]
    assert response.headers["content-type"] == JSON_TYPE
    return response.json()


def assert_error(response: Any, status: int, fragment: str) -> None:
    assert response.status_code == status, response.text
    body = errors_of(response)
    assert len(body) == 1 and body[0]["code"] == status, body
    assert fragment in body[0]["description"], body


# --- services and discovery ------------------------------------------------------------------


def test_services_in_both_formats_and_languages(client, world) -> None:
    r = client.get(f"{API}/services.json", params={"jurisdiction_id": "T0001"})
    assert r.status_code == 200 and r.headers["content-type"] == JSON_TYPE
    services = r.json()
    assert [s["service_code"] for s in services] == list(CATEGORIES)
    by_code = {s["service_code"]: s for s in services}
    # names are the categories' labels, Simplified Chinese by default
    assert by_code["ebike_parking"]["service_name"] == "电动自行车停放"
    assert by_code["pipes_drainage"]["service_name"] == "管道与排水"
    assert by_code["pets"]["group"] == "环境"
    assert {c for c, s in by_code.items() if s["metadata"]} == WITH_ATTRIBUTES
    assert {s["type"] for s in services} == {"realtime"}
    en = client.get(f"{API}/services.json", headers={"Accept-Language": "en-GB,en;q=0.8"})
    assert {s["service_code"]: s["service_name"] for s in en.json()}["ebike_parking"] == (
        "E-bike parking"
    )
    # ?locale= beats the header
    zh = client.get(
        f"{API}/services.json", params={"locale": "zh"}, headers={"Accept-Language": "en"}
    )
    assert zh.json()[0]["service_name"] == "绿化"

    root = xml(client.get(f"{API}/services.xml"))
    assert root.tag == "services"
    items = root.findall("service")
    assert [s.findtext("service_code") for s in items] == list(CATEGORIES)
    assert {s.findtext("service_code") for s in items if s.findtext("metadata") == "true"} == (
        WITH_ATTRIBUTES
    )
    assert {s.findtext("metadata") for s in items} == {"true", "false"}


def test_service_definitions(client, world) -> None:
    r = client.get(f"{API}/services/pipes_drainage.json", params={"locale": "en"})
    assert r.status_code == 200
    d = r.json()
    assert d["service_code"] == "pipes_drainage"
    assert [(a["code"], a["datatype"], a["required"], a["order"]) for a in d["attributes"]] == [
        ("building", "string", True, 1),
        ("problem", "singlevaluelist", True, 2),
    ]
    assert [v["key"] for v in d["attributes"][1]["values"]] == ["leak", "blocked", "pooling"]
    assert d["attributes"][1]["values"][0]["name"] == "Leaking water pipe"
    assert all(a["variable"] is True for a in d["attributes"])
    greenery = client.get(f"{API}/services/greenery.json").json()
    assert greenery == {"service_code": "greenery", "attributes": []}

    root = xml(client.get(f"{API}/services/safety_fire.xml"))
    assert root.tag == "service_definition" and root.findtext("service_code") == "safety_fire"
    first = root.find("attributes/attribute")
    assert first is not None
    assert (first.findtext("code"), first.findtext("datatype"), first.findtext("required")) == (
        "hazards",
        "multivaluelist",
        "true",
    )
    assert [v.findtext("key") for v in first.findall("values/value")] == [
        "blocked_exit",
        "indoor_charging",
        "extinguisher",
    ]
    assert first.findtext("description") == "有哪些隐患？"


def test_discovery(client) -> None:
    d = client.get(f"{API}/discovery.json").json()
    (endpoint,) = d["endpoints"]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["url"] == "http://testserver/open311/v2"
    assert endpoint["formats"] == ["text/xml", "application/json"]
    assert d["changeset"] == endpoint["changeset"]
    assert datetime.fromisoformat(d["changeset"]).tzinfo is not None
    assert "apikey" in d["key_service"]
    root = xml(client.get(f"{API}/discovery.xml", params={"locale": "en"}))
    assert root.tag == "discovery"
    assert [f.text for f in root.findall("endpoints/endpoint/formats/format")] == [
        "text/xml",
        "application/json",
    ]
    assert root.findtext("endpoints/endpoint/url") == "http://testserver/open311/v2"


# --- posting ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("where", "grid", "agency"),
    [
        ((0.5, 0.5), "A", "A网格 · A支部"),
        ((1.5, 0.2), "B", "B网格 · B支部"),
        ((1.0, 0.5), "B", "B网格 · B支部"),  # on the A|B edge: the nearer buildings' grid
        ((2.5, 0.5), None, "测试社区 · 测试党总支"),  # in no grid: the level above
    ],
)
def test_a_posted_request_is_routed_like_any_other(
    client, session, world, where: tuple[float, float], grid: str | None, agency: str
) -> None:
    r = post(client, form(world, pt(*where), description="路灯旁的花坛被踩坏了"))
    assert r.status_code == 200 and r.headers["content-type"] == JSON_TYPE, r.text
    (answer,) = r.json()
    assert answer["service_notice"] == f"将由 {agency} 处理"
    request = session.get(Request, int(answer["service_request_id"]))
    assert request is not None and request.source == "open311"
    stored_grid = session.get(Grid, request.grid_id) if request.grid_id else None
    assert (stored_grid.code if stored_grid else None) == grid
    one = client.get(f"{API}/requests/{request.id}.json").json()
    assert len(one) == 1
    assert one[0]["agency_responsible"] == agency
    assert one[0]["service_notice"] == f"将由 {agency} 处理"
    assert (one[0]["status"], one[0]["service_code"]) == ("open", "greenery")
    assert one[0]["lat"] == pytest.approx(where[1] * 0.001 + 50, abs=1e-7)
    assert one[0]["long"] == pytest.approx(where[0] * 0.001 + 10, abs=1e-7)


def test_post_stores_answers_and_private_details(client, session, world) -> None:
    r = post(
        client,
        form(
            world,
            pt(0.2, 0.3),
            service_code="pipes_drainage",
            description="厨房下水管漏水\n已经两天了",
            media_url="https://img.example.org/leak.jpg",
            email=EMAIL,
            first_name=FIRST,
            last_name=LAST,
            phone=PHONE,
            **{"attribute[building]": "1", "attribute[problem]": "leak"},
        ),
        fmt="xml",
    )
    assert r.status_code == 200, r.text
    root = xml(r)
    assert root.tag == "service_requests"
    (item,) = root.findall("request")
    rid, token = int(item.findtext("service_request_id") or 0), item.findtext("token")
    assert item.findtext("service_notice") == "将由 A网格 · A支部 处理"
    request = session.get(Request, rid)
    assert request is not None
    assert request.title == "厨房下水管漏水"  # the description's first line
    assert request.description == "厨房下水管漏水\n已经两天了"
    assert request.attributes == {"building": "1号楼", "problem": "leak"}
    assert request.media_url == "https://img.example.org/leak.jpg"
    assert (request.phone, request.contact_email, request.contact_name) == (
        PHONE,
        EMAIL,
        f"{FIRST} {LAST}",
    )
    assert request.receipt_code == token and request.api_key_id is not None
    created = next(e for e in request.events if e.kind == "created")
    assert created.actor == "Open311: miniapp"
    assert created.data == {"open311_client": "miniapp", "api_key_id": request.api_key_id}
    # the token resolves to the id, in either case and format
    for t in (token, (token or "").lower()):
        assert client.get(f"{API}/tokens/{t}.json").json() == [
            {"service_request_id": str(rid), "token": token}
        ]
    tok = xml(client.get(f"{API}/tokens/{token}.xml")).find("request")
    assert tok is not None and tok.findtext("service_request_id") == str(rid)
    got = client.get(f"{API}/requests/{rid}.json").json()[0]
    assert got["media_url"] == "https://img.example.org/leak.jpg"

    # a list of values, and a number; no description: the title is the service's name
    r = post(
        client,
        form(
            world,
            service_code="safety_fire",
            **{"attribute[hazards][]": ["indoor_charging", "blocked_exit"]},
        ),
    )
    fire = session.get(Request, int(r.json()[0]["service_request_id"]))
    assert fire is not None and fire.attributes == {"hazards": ["blocked_exit", "indoor_charging"]}
    assert fire.title == "安全与消防"
    r = post(
        client,
        form(
            world,
            service_code="ebike_parking",
            **{"attribute[need]": "parking", "attribute[bikes]": "12"},
        ),
    )
    bikes = session.get(Request, int(r.json()[0]["service_request_id"]))
    assert bikes is not None and bikes.attributes == {"need": "parking", "bikes": 12}


def test_posted_request_reaches_the_grid_lead(client, session, world) -> None:
    r = post(client, form(world, phone=PHONE, email=EMAIL, description="楼下路灯不亮"))
    rid = int(r.json()[0]["service_request_id"])
    token, _ = accounts.issue_token(session, user=world["lead"], kind="api")
    h = {"Authorization": f"Bearer {token}"}
    listing = client.get("/api/staff/requests", headers=h).json()
    assert rid in [f["id"] for f in listing["features"]]
    detail = client.get(f"/api/staff/requests/{rid}", headers=h).json()["properties"]
    assert detail["phone"] == PHONE  # the lead may call back, as for a resident's suggestion
    assert detail["open311"]["email"] == EMAIL
    # announced to the grid's lead like a resident's suggestion
    sent = session.scalars(select(Notification).where(Notification.request_id == rid)).all()
    assert [(n.reason, n.channel, n.target) for n in sent] == [
        ("new", "email", "lead-a@example.org")
    ]


def _rows(session: Session) -> tuple[int, int, int]:
    return (
        count(session, "request"),
        count(session, "request_event"),
        count(session, "notification"),
    )


REVOKED, OTHER_COMMUNITY = "<revoked key>", "<Q0001's key>"  # keys the test issues first
POST_ERRORS: list[tuple[dict[str, Any], int, str]] = [
    ({"api_key": None}, 403, "api_key was not provided"),
    ({"api_key": "rm311_not-a-key"}, 403, "api_key is invalid"),
    ({"api_key": REVOKED}, 403, "revoked"),
    ({"api_key": OTHER_COMMUNITY}, 403, "the location lies in T0001"),
    ({"jurisdiction_id": "Q0001"}, 403, "not valid for jurisdiction_id 'Q0001'"),
    ({"jurisdiction_id": "NOPE"}, 404, "jurisdiction_id 'NOPE' not found"),
    ({"service_code": None}, 400, "service_code was not provided"),
    ({"service_code": "graffiti"}, 400, "service_code 'graffiti' not found"),
    ({"lat": None, "long": None}, 400, "lat and long are required"),
    ({"long": None, "address_string": "国和路"}, 400, "address_string cannot"),
    ({"lat": "north"}, 400, "lat must be a number"),
    ({"lat": "95"}, 400, "lat must be between -90 and 90"),
    ({"lat": "nan"}, 400, "lat must be between"),
    ({"lat": "0", "long": "0"}, 400, "outside every community"),
    ({"attribute[colour]": "red"}, 400, "attribute 'colour': not defined"),
    (
        {"service_code": "pipes_drainage", "attribute[problem]": "leak"},
        400,
        "attribute 'building': required",
    ),
    (
        {
            "service_code": "pipes_drainage",
            "attribute[building]": "1",
            "attribute[problem]": "fire",
        },
        400,
        "attribute 'problem': 'fire' is not one of leak, blocked, pooling",
    ),
    (
        {
            "service_code": "pipes_drainage",
            "attribute[building]": "99",
            "attribute[problem]": "leak",
        },
        400,
        "attribute 'building': no building '99号楼'",
    ),
    (
        {"service_code": "ebike_parking", "attribute[need]": "parking", "attribute[bikes]": "many"},
        400,
        "attribute 'bikes': 'many' is not a number",
    ),
    ({"phone": "call me"}, 400, "phone must be"),
    ({"email": "not-an-address"}, 400, "email is not"),
    ({"media_url": "ftp://example.org/x.jpg"}, 400, "media_url must be an http"),
    ({"description": "长" * 2001}, 400, "description is longer than 2000"),
    ({"description": "a\x00b"}, 400, "description contains a NUL character"),
]


@pytest.mark.parametrize(
    ("changes", "status", "fragment", "fmt"),
    [(*case, "xml" if i % 2 else "json") for i, case in enumerate(POST_ERRORS)],
    ids=[fragment for _, _, fragment in POST_ERRORS],
)
def test_post_errors_use_the_standards_statuses_and_write_nothing(
    client, session, world, changes: dict[str, Any], status: int, fragment: str, fmt: str
) -> None:
    client.headers["Accept-Language"] = "en"  # descriptions in English (Chinese by default)
    revoked = georeport.issue_key(session, community_code="T0001", client="old", actor="test")
    georeport.revoke_key(session, community_code="T0001", client="old")
    q_key = georeport.issue_key(session, community_code="Q0001", client="q-app", actor="test").key
    keys = {REVOKED: revoked.key, OTHER_COMMUNITY: q_key}
    data = form(
        world, **{k: keys.get(v, v) if isinstance(v, str) else v for k, v in changes.items()}
    )
    before = _rows(session)
    assert_error(post(client, data, fmt=fmt), status, fragment)
    assert _rows(session) == before


def test_an_unknown_format_is_refused_and_writes_nothing(client, session, world) -> None:
    client.headers["Accept-Language"] = "en"  # descriptions in English (Chinese by default)
    before = _rows(session)
    assert_error(client.post(f"{API}/requests.csv", data=form(world)), 400, "unknown format")
    assert _rows(session) == before


def test_rate_limited_per_key(make_client, session, world) -> None:
    other = georeport.issue_key(session, community_code="T0001", client="other", actor="test").key
    with make_client(rate_open311=2) as c:
        c.headers["Accept-Language"] = "en"
        assert [post(c, form(world)).status_code for _ in range(2)] == [200, 200]
        for fmt in ("json", "xml"):
            r = post(c, form(world), fmt)
            assert_error(r, 429, "too many service requests with this api_key")
            assert 1 <= int(r.headers["retry-after"]) <= 601
        assert post(c, form(world, api_key=other)).status_code == 200  # each key its own window


# --- reading requests ------------------------------------------------------------------------


@pytest.fixture
def posted(client, session, world) -> dict[str, Any]:
    """Five requests of T0001 posted with personal data, then handled in different ways:
    r1 open; r2 resolved with a public note (and a later internal one); r3 five months old;
    r4 hidden by a moderator; r5 a duplicate of r1."""
    spec = {
        "r1": ("greenery", pt(0.5, 0.5)),
        "r2": ("lighting", pt(1.5, 0.2)),
        "r3": ("lighting", pt(0.4, 0.4)),
        "r4": ("pets", pt(2.5, 0.5)),
        "r5": ("greenery", pt(0.6, 0.6)),
    }
    ids, tokens = {}, {}
    for name, (code, where) in spec.items():
        data = form(
            world,
            where,
            service_code=code,
            description=f"{name} 的描述",
            phone=PHONE,
            email=EMAIL,
            first_name=FIRST,
            last_name=LAST,
        )
        if code == "lighting":
            data["attribute[lamps]"] = "2"
        r = post(client, data)
        assert r.status_code == 200, r.text
        ids[name], tokens[name] = int(r.json()[0]["service_request_id"]), r.json()[0]["token"]
    now = datetime.now(UTC)
    r2 = session.get(Request, ids["r2"])
    r2.status = "resolved"
    r2.events.append(RequestEvent(kind="resolve", actor="lead", note="灯已修好", public=True))
    r2.events.append(RequestEvent(kind="note", actor="lead", note="内部备注", public=False))
    session.get(Request, ids["r3"]).created_at = now - timedelta(days=150)
    session.get(Request, ids["r4"]).hidden = True
    r5 = session.get(Request, ids["r5"])
    r5.status, r5.duplicate_of_id = "duplicate", ids["r1"]
    session.flush()
    return {"ids": ids, "tokens": tokens, "now": now}


def listed(client: TestClient, **params: Any) -> list[int]:
    r = client.get(f"{API}/requests.json", params={"jurisdiction_id": "T0001", **params})
    assert r.status_code == 200, r.text
    return [int(x["service_request_id"]) for x in r.json()]


def test_get_requests_filters(client, world, posted) -> None:
    i = posted["ids"]
    # the last 90 days by default, newest first; never hidden ones
    assert listed(client) == [i["r5"], i["r2"], i["r1"]]
    assert listed(client, status="open") == [i["r1"]]
    assert listed(client, status="closed") == [i["r5"], i["r2"]]
    assert listed(client, status="open,closed") == [i["r5"], i["r2"], i["r1"]]
    assert listed(client, service_code="lighting") == [i["r2"]]
    assert listed(client, service_code="lighting,greenery") == [i["r5"], i["r2"], i["r1"]]
    old = posted["now"] - timedelta(days=150)
    window = {
        "start_date": (old - timedelta(days=1)).isoformat(),
        "end_date": (old + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    assert listed(client, **window) == [i["r3"]]
    assert listed(client, start_date=window["start_date"]) == [i["r3"]]  # 90 days from there
    # an unencoded "+" of the offset arrives as a space
    assert listed(client, start_date=window["start_date"].replace("+", " ")) == [i["r3"]]
    # ids override every other filter, but never show a hidden request
    ids = f"{i['r3']},{i['r4']}, {i['r1']}"
    assert listed(client, service_request_id=ids, status="closed") == [i["r1"], i["r3"]]
    assert listed(client, service_request_id="2147483648") == []
    # the jurisdiction is a community; without it, every community
    assert listed(client, jurisdiction_id="Q0001") == []
    everywhere = client.get(f"{API}/requests.json").json()
    assert {i["r1"], i["r2"], i["r5"]} <= {int(x["service_request_id"]) for x in everywhere}

    by_id = {
        int(x["service_request_id"]): x
        for x in client.get(f"{API}/requests.json", params={"jurisdiction_id": "T0001"}).json()
    }
    assert by_id[i["r2"]]["status_notes"] == "灯已修好"  # the public note, not the internal one
    assert by_id[i["r5"]]["status_notes"] == f"与诉求 {i['r1']} 重复"
    assert by_id[i["r1"]]["status_notes"] is None
    assert by_id[i["r2"]]["service_name"] == "照明"
    assert by_id[i["r1"]]["address"] == "A网格, 测试社区"
    for x in by_id.values():
        for field in ("requested_datetime", "updated_datetime"):
            assert datetime.fromisoformat(x[field]).utcoffset() == timedelta(0)

    root = xml(client.get(f"{API}/requests.xml", params={"jurisdiction_id": "T0001"}))
    assert root.tag == "service_requests"
    assert [
        (r.findtext("service_request_id"), r.findtext("status")) for r in root.findall("request")
    ] == [
        (str(i["r5"]), "closed"),
        (str(i["r2"]), "closed"),
        (str(i["r1"]), "open"),
    ]
    one = xml(client.get(f"{API}/requests/{i['r2']}.xml")).findall("request")
    assert len(one) == 1 and one[0].findtext("agency_responsible") == "B网格 · B支部"
    assert one[0].findtext("status_notes") == "灯已修好"

    # hidden: not found, by id and by token
    assert_error(client.get(f"{API}/requests/{i['r4']}.json"), 404, f"“{i['r4']}”")
    token = posted["tokens"]["r4"]
    assert_error(client.get(f"{API}/tokens/{token}.xml"), 404, f"找不到令牌“{token}”")


def test_error_descriptions_follow_the_readers_language(client) -> None:
    """The standard's error list keeps its shape; its description is Chinese by default and
    follows Accept-Language or the standard's ``locale`` parameter."""
    url = f"{API}/services.json"
    zh = client.get(url, params={"jurisdiction_id": "NOPE"})
    assert zh.json() == [
        {
            "code": 404,
            "description": "找不到 jurisdiction_id“NOPE”：请使用社区编号，例如 310109010026",
        }
    ]
    en = client.get(url, params={"jurisdiction_id": "NOPE"}, headers={"Accept-Language": "en"})
    assert en.json()[0]["description"].startswith("jurisdiction_id 'NOPE' not found")
    by_param = client.get(url, params={"jurisdiction_id": "NOPE", "locale": "en"})
    assert by_param.json() == en.json()
    root = xml(client.get(f"{API}/services.xml", params={"jurisdiction_id": "NOPE"}))
    assert [e.findtext("description") for e in root.findall("error")] == [
        zh.json()[0]["description"]
    ]


def test_no_personal_data_in_any_get(client, world, posted) -> None:
    bodies = []
    for fmt in ("json", "xml"):
        bodies.append(client.get(f"{API}/requests.{fmt}").text)
        bodies.append(client.get(f"{API}/requests.{fmt}", params={"jurisdiction_id": "T0001"}).text)
        ids = ",".join(str(v) for v in posted["ids"].values())
        bodies.append(client.get(f"{API}/requests.{fmt}", params={"service_request_id": ids}).text)
        for rid in posted["ids"].values():
            bodies.append(client.get(f"{API}/requests/{rid}.{fmt}").text)
        for token in posted["tokens"].values():
            bodies.append(client.get(f"{API}/tokens/{token}.{fmt}").text)
    listing = client.get(f"{API}/requests.json", params={"jurisdiction_id": "T0001"}).json()
    assert {d for x in listing for d in [x["description"]]} == {
        "r1 的描述",
        "r2 的描述",
        "r5 的描述",
    }
    for body in bodies:
        for secret in (PHONE, EMAIL, FIRST, LAST):
            assert secret not in body


GET_ERRORS: list[tuple[str, str, dict[str, str], int, str]] = [
    # (method, path under the API with its format, query, status, what the error says)
    ("GET", "requests", {"start_date": "yesterday"}, 400, "start_date must be a W3C date-time"),
    ("GET", "requests", {"end_date": "2026-01-01T00:00:00"}, 400, "end_date needs a timezone"),
    (
        "GET",
        "requests",
        {"start_date": "2026-03-01T00:00:00Z", "end_date": "2026-02-01T00:00:00Z"},
        400,
        "end_date is before start_date",
    ),
    (
        "GET",
        "requests",
        {"start_date": "2026-01-01T00:00:00Z", "end_date": "2026-06-01T00:00:00+08:00"},
        400,
        "may not span more than 90 days",
    ),
    ("GET", "requests", {"status": "pending"}, 400, "status 'pending' is not one of open, closed"),
    ("GET", "requests", {"service_code": "graffiti"}, 400, "service_code 'graffiti' is not one of"),
    (
        "GET",
        "requests",
        {"service_request_id": "12,abc"},
        400,
        "service_request_id 'abc' is not a request id",
    ),
    *[
        ("GET", path, {"jurisdiction_id": "NOPE"}, 404, "jurisdiction_id 'NOPE' not found")
        for path in ("services", "requests", "services/greenery", "requests/1", "tokens/RMX")
    ],
    ("GET", "services/graffiti", {}, 404, "'graffiti' not found"),
    ("GET", "requests/99999999", {}, 404, "'99999999' not found"),
    ("GET", "requests/abc", {}, 404, "'abc' not found"),
    ("GET", "tokens/RMNOPE22", {}, 404, "'RMNOPE22' not found"),
    ("GET", "no-such-thing", {}, 404, "no page or endpoint"),
    ("PUT", "services", {}, 405, "PUT is not allowed"),
]


@pytest.mark.parametrize("fmt", ["json", "xml"])
@pytest.mark.parametrize(
    ("method", "path", "params", "status", "fragment"),
    GET_ERRORS,
    ids=[f"{path} {fragment}" for _, path, _, _, fragment in GET_ERRORS],
)
def test_get_errors(
    client, world, method: str, path: str, params: dict[str, str], status: int, fragment: str,
    fmt: str,
) -> None:  # fmt: skip
    client.headers["Accept-Language"] = "en"  # descriptions in English (Chinese by default)
    r = client.request(method, f"{API}/{path}.{fmt}", params=params)
    assert_error(r, status, fragment)


def test_an_unknown_format_is_400(client, world) -> None:
    client.headers["Accept-Language"] = "en"  # descriptions in English (Chinese by default)
    assert_error(client.get(f"{API}/services.html"), 400, "unknown format '.html'")


@pytest.mark.parametrize(
    ("url", "params", "name"),
    [
        (f"{API}/services.json", {"jurisdiction_id": "T\x000"}, "jurisdiction_id"),
        (f"{API}/requests.xml", {"service_code": "a\x00"}, "service_code"),
        (f"{API}/services/a%00b.json", {}, "path"),
        (f"{API}/tokens/RM%00.json", {}, "path"),
    ],
)
def test_nul_is_a_clear_400(client, world, url: str, params: dict[str, str], name: str) -> None:
    """PostgreSQL cannot compare text holding NUL: a clear 400 on both databases, never a 500."""
    client.headers["Accept-Language"] = "en"  # descriptions in English (Chinese by default)
    assert_error(client.get(url, params=params), 400, f"{name} contains a NUL character")


# --- pieces ----------------------------------------------------------------------------------


def test_xml_rendering() -> None:
    doc = render(
        "service_requests",
        [
            {
                "service_request_id": "7",
                "description": "a\x00b <c> & \U0001f6b2",
                "lat": None,
                "x": True,
            }
        ],
    )
    parsed = xmltodict.parse(doc)["service_requests"]["request"]
    assert parsed == {
        "service_request_id": "7",
        "description": "ab <c> & \U0001f6b2",
        "lat": None,
        "x": "true",
    }


def test_every_open311_text_is_translated() -> None:
    zh = catalog("zh_CN")
    missing = sorted(m for m in georeport.msgids() if not zh.get(m))
    assert missing == []
    assert len(georeport.msgids()) > 30
    assert georeport.service_name("en", "overhead_wires") == "Overhead wires"
