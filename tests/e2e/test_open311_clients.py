"""Open311 GeoReport v2 with real clients nobody here wrote (georeport, civicbot, schemathesis
with the standard's own Swagger file, corrected) and our command line, against a live server
with the demo community on each backend."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import xmltodict
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from renewmap.db.models import Grid, PartyBranch, Request
from renewmap.services.access import accounts
from renewmap.vocabulary import CATEGORIES, CLOSED_STATUSES, OPEN_STATUSES
from tests.support.db import count
from tests.support.open311 import API, EMAIL, PHONE, SWAGGER, WITH_ATTRIBUTES

DEMO = "310109010026"


def test_keys_from_the_command_line(live_server, monkeypatch, capsys) -> None:
    from renewmap.cli import main

    out = live_server.cli(
        "--lang", "en", "apikey", "add", "--community", DEMO, "--name", "cli-check"
    )
    key = out.strip().splitlines()[-1]
    assert key.startswith("rm311_") and "shown only once" in out
    with Session(live_server.engine()) as s:
        stored = s.execute(
            text("SELECT key_hash FROM api_key WHERE client = 'cli-check'")
        ).scalar_one()
    assert stored == accounts.token_hash(key) and key not in stored
    listing = live_server.cli("--lang", "en", "apikey", "list", "--community", DEMO)
    assert re.search(rf"\t{DEMO}\tcli-check\t\S+\tactive", listing) and key not in listing
    monkeypatch.setenv("RENEWMAP_DATABASE_URL", live_server.database_url)
    en = ["--lang", "en"]
    assert main([*en, "apikey", "add", "--community", DEMO, "--name", "cli-check"]) == 2
    assert "already has an active key" in capsys.readouterr().err
    assert main([*en, "apikey", "add", "--community", "NOPE", "--name", "x"]) == 2
    assert main([*en, "apikey", "revoke", "--community", DEMO, "--name", "nobody"]) == 2
    assert "has no active key" in capsys.readouterr().err
    assert main(["--lang", "zh_CN", "apikey", "revoke", "--community", DEMO, "--name", "x"]) == 2
    assert "应用“x”在 310109010026 没有有效密钥" in capsys.readouterr().err
    live_server.cli("apikey", "revoke", "--community", DEMO, "--name", "cli-check")
    listing = live_server.cli("--lang", "en", "apikey", "list")
    assert re.search(r"cli-check\t\S+\trevoked ", listing)


def _demo_place(live_server) -> dict[str, Any]:
    """A point well inside the demo's first grid, with the grid and its branch's names."""
    from renewmap.db.models import Community
    from renewmap.spatial.geometry import from_db

    eng = live_server.engine()
    try:
        with Session(eng) as s:
            grid = s.scalars(
                select(Grid)
                .join(Community, Community.id == Grid.community_id)
                .where(Community.code == DEMO, Grid.branch_id.is_not(None))
                .order_by(Grid.code)
            ).first()
            assert grid is not None
            branch = s.get(PartyBranch, grid.branch_id)
            assert branch is not None
            p = from_db(grid.geom).representative_point()
            return {
                "lon": p.x,
                "lat": p.y,
                "grid_id": grid.id,
                "agency": f"{grid.name} · {branch.name}",
            }
    finally:
        eng.dispose()


def _as_list(value: Any) -> list[Any]:
    """xmltodict gives one child element as a dict and several as a list."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def test_civicbot_posts_and_georeport_reads_it_back(live_server) -> None:
    from civicbot import Endpoint, HttpError, Open311Client, ValidationError
    from georeport import GeoReport

    out = live_server.cli("apikey", "add", "--community", DEMO, "--name", "civicbot")
    key = out.strip().splitlines()[-1]
    place = _demo_place(live_server)
    bot = Open311Client(
        Endpoint(id="renewmap", name="RenewMap", base_url=live_server.url + API, write=True),
        jurisdiction_id=DEMO,
    )
    send = {"dry_run": False, "confirm": "SEND", "api_key": key, "validate_remote": True}
    where = {"lat": place["lat"], "lng": place["lon"]}
    # civicbot reads our definition from the server and refuses to send what it forbids
    with pytest.raises(ValidationError, match="required attribute 'need' missing"):
        bot.create_request("ebike_parking", **send, **where, attributes={"bikes": 3})
    with pytest.raises(
        ValidationError, match=r"'need': \['fly'\] not in \['charging', 'parking'\]"
    ):
        bot.create_request("ebike_parking", **send, **where, attributes={"need": "fly"})
    sent = bot.create_request(
        "ebike_parking",
        **send,
        **where,
        description="车棚里没有充电桩\n晚上很多人把车推上楼充电",
        attributes={"need": "charging", "bikes": 30},
        phone=PHONE,
        email=EMAIL,
    )
    (answer,) = sent.response
    rid = answer["service_request_id"]
    assert answer["service_notice"] == f"将由 {place['agency']} 处理"
    eng = live_server.engine()
    try:
        with Session(eng) as s:
            stored = s.get(Request, int(rid))
            assert stored is not None and stored.grid_id == place["grid_id"]
            assert (stored.source, stored.title, stored.phone) == (
                "open311",
                "车棚里没有充电桩",
                PHONE,
            )
            assert stored.attributes == {"need": "charging", "bikes": 30}
            assert stored.receipt_code == answer["token"]
        assert bot.get_token(answer["token"]) == [
            {"service_request_id": rid, "token": answer["token"]}
        ]
        for fmt in ("json", "xml"):
            reader = GeoReport(live_server.url + API, jurisdiction=DEMO, output_format=fmt)
            got = reader.get_service_request(rid)
            assert (got["service_request_id"], got["status"], got["service_code"]) == (
                rid,
                "open",
                "ebike_parking",
            )
            assert got["agency_responsible"] == place["agency"]
            assert got["description"] == "车棚里没有充电桩\n晚上很多人把车推上楼充电"
            assert PHONE not in str(got) and EMAIL not in str(got)
            again = _as_list(reader.get_service_requests(service_request_id=rid))
            assert [r["service_request_id"] for r in again] == [rid]

        # the admin revokes the key: the next post is refused with the standard's 403
        live_server.cli("apikey", "revoke", "--community", DEMO, "--name", "civicbot")
        with Session(eng) as s:
            before = count(s, "request")
        with pytest.raises(HttpError) as refused:
            bot.create_request("ebike_parking", **send, **where, attributes={"need": "parking"})
        assert refused.value.status == 403
        # a client that sends no Accept-Language reads Chinese
        assert "api_key 已被吊销" in refused.value.body
        with Session(eng) as s:
            assert count(s, "request") == before
    finally:
        eng.dispose()


def _expected(s: Session, now: datetime, **filters: Any) -> list[tuple[str, str]]:
    """(id, open/closed) of the demo's visible requests, newest first, straight from SQL."""
    from renewmap.db.models import Community

    stmt = (
        select(Request.id, Request.status)
        .join(Community, Community.id == Request.community_id)
        .where(Community.code == DEMO, Request.hidden.is_(False))
    )
    if "ids" in filters:
        stmt = stmt.where(Request.id.in_(filters["ids"]))
    else:
        start = filters.get("start", now - timedelta(days=90))
        end = filters.get("end", start + timedelta(days=90))
        stmt = stmt.where(Request.created_at >= start, Request.created_at <= end)
        if "category" in filters:
            stmt = stmt.where(Request.category == filters["category"])
        if "statuses" in filters:
            stmt = stmt.where(Request.status.in_(filters["statuses"]))
    rows = s.execute(stmt.order_by(Request.created_at.desc(), Request.id.desc()).limit(1000))
    return [(str(i), "open" if st in OPEN_STATUSES else "closed") for i, st in rows]


def test_georeport_lists_match_the_database(live_server) -> None:
    from georeport import GeoReport

    from renewmap.db.models import Community

    now = datetime.now(UTC)
    eng = live_server.engine()
    try:
        # three demo requests from half a year ago and one hidden by a moderator
        with Session(eng) as s, s.begin():
            demo = s.scalars(
                select(Request)
                .join(Community, Community.id == Request.community_id)
                .where(Community.code == DEMO, Request.source == "demo")
                .order_by(Request.id)
                .limit(4)
            ).all()
            for i, r in enumerate(demo[:3]):
                r.created_at = now - timedelta(days=200, minutes=i)
            demo[3].hidden = True
            old, hidden = [r.id for r in demo[:3]], demo[3].id
        with Session(eng) as s:
            default = _expected(s, now)
            lighting = _expected(s, now, category="lighting")
            closed = _expected(s, now, statuses=list(CLOSED_STATUSES))
            back_then = _expected(s, now, start=now - timedelta(days=210))
            by_ids = _expected(s, now, ids=[*old, hidden, int(default[0][0])])
        assert 150 < len(default) < 200 and len(closed) > 10 and len(lighting) > 5
        assert [i for i, _ in back_then] == [str(i) for i in old]
        assert str(hidden) not in {i for i, _ in default} | {i for i, _ in by_ids}

        for fmt in ("json", "xml"):
            reader = GeoReport(live_server.url + API, jurisdiction=DEMO, output_format=fmt)

            def ids(**params: Any) -> list[tuple[str, str]]:
                got = _as_list(reader.get_service_requests(**params))  # noqa: B023
                return [(r["service_request_id"], r["status"]) for r in got]

            assert ids() == default
            assert ids(service_code="lighting") == lighting
            assert ids(status="closed") == closed
            start = (now - timedelta(days=210)).strftime("%Y-%m-%dT%H:%M:%SZ")
            assert ids(start_date=start) == back_then
            joined = ",".join(str(i) for i in [*old, hidden, default[0][0]])
            assert ids(service_request_id=joined) == by_ids

            services = _as_list(reader.get_service_list())
            assert [x["service_code"] for x in services] == list(CATEGORIES)
            flags = {x["service_code"] for x in services if x["metadata"] in (True, "true")}
            assert flags == WITH_ATTRIBUTES
            definition = reader.get_service_definition("pipes_drainage")
            attributes = definition["attributes"]
            if fmt == "xml":
                attributes = _as_list(attributes["attribute"])
            assert [a["code"] for a in attributes] == ["building", "problem"]
    finally:
        eng.dispose()


def test_schemathesis_finds_no_server_errors(live_server) -> None:
    """The standard's own Swagger file (corrected) drives generated requests: never a 5xx,
    JSON answers match its schemas, XML answers are the standard's documents."""
    import schemathesis
    from hypothesis import HealthCheck, Phase, given, settings
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        response_schema_conformance,
    )

    key = live_server.cli("apikey", "add", "--community", DEMO, "--name", "schemathesis")
    key = key.strip().splitlines()[-1]
    base = live_server.url + API
    seen: dict[str, set[int]] = {}

    def xml_document(ctx: Any, response: Any, case: Any) -> bool | None:
        """An XML answer is a UTF-8 document with the standard's root element."""
        if not response.headers.get("content-type", [""])[0].startswith("text/xml"):
            return None
        assert response.content.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
        root = next(iter(xmltodict.parse(response.content)))
        path = case.operation.path
        if response.status_code >= 400:
            assert root == "errors"
        elif path.startswith("/services/"):
            assert root == "service_definition"
        elif path.startswith("/services"):
            assert root == "services"
        else:
            assert root == "service_requests"
        return True

    schema = schemathesis.openapi.from_path(SWAGGER)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 6
    posts = 0
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=30,
            derandomize=True,
            database=None,
            deadline=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        def run(case: Any) -> None:
            nonlocal posts
            if case.method == "POST" and isinstance(case.body, dict):
                posts += 1  # a real key, and every other time a real service: deeper checks
                case.body["api_key"] = key
                if posts % 2:
                    case.body["service_code"] = "lighting"
            response = case.call(base_url=base)
            seen.setdefault(f"{case.method} {case.operation.path}", set()).add(response.status_code)
            case.validate_response(
                response,
                checks=[
                    not_a_server_error,
                    response_schema_conformance,
                    content_type_conformance,
                    xml_document,
                ],
            )

        run()
    assert set(seen) == {f"{o.method.upper()} {o.path}" for o in operations}
    assert all(code < 500 for codes in seen.values() for code in codes)
    assert 200 in seen["GET /services.{response_format}"]
    assert 200 in seen["GET /requests.{response_format}"]
    assert {400, 404} & seen["POST /requests.{response_format}"]
