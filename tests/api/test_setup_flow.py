"""The browser's setup flow through its API (issue 15), on both databases: a second community
(密云路居委会 on the compound 密云路454弄 of the shared Tongji OSM extract) from nothing to a
routed pin. Its outline from the extract, hidden from residents while in setup; its buildings
from the same extract (inside ones taken, the outside ones listed, one taken on purpose, a
re-import duplicating nothing); a proposed partition that the validator passes; publishing;
a grid lead invited by a one-time link that sets their own password."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import shapely
from shapely.geometry import shape
from sqlalchemy import select

from renewmap.db.models import AuthToken, Building, Community, Path
from renewmap.services.access import accounts
from renewmap.spatial.geometry import from_db
from tests.support.paths import OSM_EXTRACT

MIYUN = "310110009013"  # 密云路居委会, 四平路街道 (on the official list)
COMPOUND = "密云路454弄"
PASSWORD = "a long enough password"


@pytest.fixture
def api(make_client, session):
    headers = {}
    for name, role in (("sub", ("subdistrict_admin", "310110009")),):
        user = accounts.create_user(session, username=name, password=PASSWORD, roles=[role])
        token, _ = accounts.issue_token(session, user=user, kind="api")
        headers[name] = {"Authorization": f"Bearer {token}", "Accept-Language": "en"}
    return make_client(), headers


def upload(client, url, headers, data=None, name="tongji.osm.gz"):
    files = {"file": (name, OSM_EXTRACT.read_bytes(), "application/gzip")}
    return client.post(url, files=files, data=data or {}, headers=headers)


def test_a_second_community_from_nothing_to_a_routed_pin(api, session) -> None:
    client, h = api
    sub = h["sub"]
    # the outline: the extract's compounds, then the one chosen
    r = upload(client, "/api/staff/setup/outline", sub)
    assert r.status_code == 200, r.text
    assert COMPOUND in r.json()["compounds"] and r.json()["outline"] is None
    r = upload(client, "/api/staff/setup/outline", sub, {"compound": "没有这个小区"})
    assert r.status_code == 422 and r.json()["code"] == "setup_compound_unknown"
    r = upload(client, "/api/staff/setup/outline", sub, {"compound": COMPOUND})
    outline = r.json()["outline"]
    assert shape(outline).geom_type in ("Polygon", "MultiPolygon") and shape(outline).is_valid
    assert 1000 < shape(outline).area * 1e10 < 20000  # 密云路454弄: about 1.4 ha
    r = client.post("/api/staff/setup/overlaps", json={"outline": outline}, headers=sub)
    assert r.json() == {"overlaps": []}  # the demo's 巴林小区 is another compound
    r = client.post("/api/staff/communities", json={"code": MIYUN, "outline": outline}, headers=sub)
    assert r.status_code == 201, r.text
    assert r.json()["name"] == "密云路居委会"
    centre = shape(outline).representative_point()
    r = client.post("/api/route", json={"type": "Point", "coordinates": [centre.x, centre.y]})
    # in setup: not routed to (outside every community, or to a published one nearby)
    assert r.status_code == 422 or (r.json()["community"] or {}).get("code") != MIYUN
    # publishing before there are grids is refused
    r = client.post(f"/api/staff/communities/{MIYUN}/publish", headers=sub)
    assert r.status_code == 409 and r.json()["code"] == "community_without_grids"

    # the buildings: sorted first (nothing saved), the outside ones listed
    url = f"/api/staff/communities/{MIYUN}/buildings/file"
    r = upload(client, url, sub)
    assert r.status_code == 200, r.text
    sorted_ = r.json()
    assert len(sorted_["inside"]) == 10 and sorted_["saved"] is None
    assert all(b["share_inside"] >= 0.5 for b in sorted_["inside"])
    assert sorted_["outside"] and all(b["share_inside"] < 0.5 for b in sorted_["outside"])
    assert client.get(f"/api/staff/communities/{MIYUN}/setup", headers=sub).json()["buildings"] == 0
    # an unknown id to include is named
    r = upload(client, url, sub, {"include": "nope", "save": "true"})
    assert r.status_code == 422 and r.json()["code"] == "setup_building_unknown"
    extra = sorted_["outside"][0]["id"]
    r = upload(client, url, sub, {"include": extra, "save": "true"})
    assert r.status_code == 200, r.text
    # the extract's roads inside the outline came too (7 highway lines cross 密云路454弄)
    assert r.json()["saved"] == {"created": 11, "updated": 0, "unchanged": 0, "roads": 7}
    r = upload(client, url, sub, {"include": extra, "save": "true"})
    assert r.json()["saved"] == {"created": 0, "updated": 0, "unchanged": 11, "roads": 7}
    # no duplicates, of the buildings or of the roads
    community = session.scalars(select(Community).where(Community.code == MIYUN)).one()
    rows = session.scalars(select(Building).where(Building.community_id == community.id)).all()
    assert len(rows) == 11 and extra in {b.osm_id for b in rows}
    roads = session.scalars(select(Path).where(Path.community_id == community.id)).all()
    assert len(roads) == 7 and len({p.osm_id for p in roads}) == 7
    grown = shape(
        client.get(f"/api/staff/communities/{MIYUN}/setup", headers=sub).json()["outline"]
    )
    # the outline grew to hold the building taken from outside whole
    taken = next(from_db(b.geom) for b in rows if b.osm_id == extra)
    assert not shape(outline).contains(taken) and grown.buffer(1e-9).contains(taken)

    # the outline split along its roads: parts covering it, each building whole in one,
    # checked by the validator like any drawn set
    r = client.post(
        f"/api/staff/communities/{MIYUN}/grid-proposal", json={"method": "roads"}, headers=sub
    )
    assert r.status_code == 200, r.text
    by_roads = [shape(f["geometry"]) for f in r.json()["features"]]
    assert len(by_roads) >= 2
    assert shapely.union_all(by_roads).area == pytest.approx(grown.area, rel=1e-6)
    for b in rows:
        footprint = from_db(b.geom)
        holders = [p for p in by_roads if p.intersection(footprint).area > 1e-14]
        assert len(holders) == 1
    r = client.post(f"/api/staff/communities/{MIYUN}/grid-drafts", json=r.json(), headers=sub)
    assert r.status_code == 201 and r.json()["report"]["ok"] is True, r.json()["report"]

    # a proposed partition into 3 grids, validated as a draft, published
    r = client.post(f"/api/staff/communities/{MIYUN}/grid-proposal", json={"count": 3}, headers=sub)
    assert r.status_code == 200, r.text
    proposal = r.json()
    assert [f["properties"]["code"] for f in proposal["features"]] == ["G01", "G02", "G03"]
    assert proposal["features"][0]["properties"]["name"] == "Grid 1"
    parts = [shape(f["geometry"]) for f in proposal["features"]]
    assert shapely.union_all(parts).area == pytest.approx(grown.area, rel=1e-6)
    r = client.post(f"/api/staff/communities/{MIYUN}/grid-drafts", json=proposal, headers=sub)
    assert r.status_code == 201, r.text
    report = r.json()["report"]
    assert report["ok"] is True, report["issues"]
    draft = r.json()["id"]
    r = client.post(f"/api/staff/communities/{MIYUN}/grid-drafts/{draft}/publish", headers=sub)
    assert r.status_code == 200, r.text
    assert client.get(f"/api/communities/{MIYUN}").status_code == 404  # still in setup
    # its grids exist now, but a pin is not routed to them before the community is published
    early = parts[0].representative_point()
    r = client.post("/api/route", json={"type": "Point", "coordinates": [early.x, early.y]})
    assert r.status_code == 422 or (r.json()["community"] or {}).get("code") != MIYUN
    r = client.post(f"/api/staff/communities/{MIYUN}/publish", headers=sub)
    assert r.status_code == 200 and r.json()["state"] == "published" and r.json()["grids"] == 3
    assert client.get(f"/api/communities/{MIYUN}").json()["name"] == "密云路居委会"
    inside = parts[0].representative_point()
    pin = {"type": "Point", "coordinates": [inside.x, inside.y]}
    routed = client.post("/api/route", json=pin).json()
    assert routed["community"]["code"] == MIYUN and routed["grid"]["code"] == "G01"


def test_a_proposal_needs_a_sane_count(api) -> None:
    client, h = api
    outline = shapely.geometry.mapping(shapely.box(121.60, 31.30, 121.602, 31.302))
    r = client.post(
        "/api/staff/communities", json={"code": MIYUN, "outline": outline}, headers=h["sub"]
    )
    assert r.status_code == 201
    url = f"/api/staff/communities/{MIYUN}/grid-proposal"
    assert client.post(url, json={"count": 0}, headers=h["sub"]).status_code == 422
    r = client.post(url, json={"count": 2}, headers=h["sub"])
    # no buildings: the whole outline is one grid
    assert r.status_code == 200 and len(r.json()["features"]) == 1
    # no roads to split along: said so, with the way out
    r = client.post(url, json={"method": "roads"}, headers=h["sub"])
    assert r.status_code == 422 and r.json()["code"] == "setup_no_roads"
    assert "has no roads or paths to split along" in r.json()["message"]
    assert client.post(url, json={"method": "voronoi"}, headers=h["sub"]).status_code == 422


def test_a_file_of_another_kind_is_named(api) -> None:
    client, h = api
    r = client.post(
        "/api/staff/setup/outline",
        files={"file": ("plan.dwg", b"not a plan", "application/octet-stream")},
        headers=h["sub"],
    )
    assert r.status_code == 422 and r.json()["code"] == "setup_file_format"
    r = client.post(
        "/api/staff/setup/outline",
        files={
            "file": (
                "area.geojson",
                b'{"type": "FeatureCollection", "features": [',
                "application/geo+json",
            )
        },
        headers=h["sub"],
    )
    assert r.status_code == 422 and r.json()["code"] == "setup_file_unreadable"


def _invite(client, headers, **body):
    return client.post(
        "/api/staff/communities/310109010026/invitations", json=body, headers=headers
    )


@pytest.fixture
def demo_admin(make_client, session):
    user = accounts.create_user(
        session,
        username="admin",
        password=PASSWORD,
        roles=[("community_admin", "310109010026")],
    )
    token, _ = accounts.issue_token(session, user=user, kind="api")
    return make_client(), {"Authorization": f"Bearer {token}", "Accept-Language": "en"}


def test_a_grid_lead_invited_by_a_one_time_link_sets_their_own_password(
    demo_admin, session
) -> None:
    client, admin = demo_admin
    r = _invite(
        client, admin, username="lead7", display_name="王网格", role="grid_lead", place="G07"
    )
    assert r.status_code == 201, r.text
    link = r.json()["link"]
    assert "/staff/invite/" in link
    token = link.rsplit("/", 1)[1]
    # only the hash is stored; the account waits, disabled
    stored = session.scalars(select(AuthToken).where(AuthToken.kind == "invite")).one()
    assert stored.token_hash == accounts.token_hash(token) and token not in stored.token_hash
    r = client.post("/api/staff/session", json={"username": "lead7", "password": PASSWORD})
    assert r.status_code in (401, 403)
    # the invitation page says who it is for
    page = client.get(f"/staff/invite/{token}", headers={"Accept-Language": "en"})
    assert page.status_code == 200 and "王网格" in page.text and "Grid lead" in page.text
    r = client.post("/api/staff/invitations/accept", json={"token": token, "password": "short"})
    assert r.status_code == 422 and r.json()["code"] == "password_too_short"
    r = client.post("/api/staff/invitations/accept", json={"token": token, "password": PASSWORD})
    assert r.status_code == 200, r.text
    assert r.json()["csrf_token"] and "rm_staff" in "".join(r.headers.get_list("set-cookie"))
    # signed in as the grid lead of G07
    me = client.get("/api/staff/me")
    assert me.status_code == 200 and me.json()["username"] == "lead7"
    # once only
    r = client.post("/api/staff/invitations/accept", json={"token": token, "password": PASSWORD})
    assert r.status_code == 403 and r.json()["code"] == "invitation_used"
    assert client.get(f"/staff/invite/{token}").status_code == 403
    # and the password is theirs
    r = client.post("/api/staff/session", json={"username": "lead7", "password": PASSWORD})
    assert r.status_code == 200


def test_invitations_expire_and_stay_in_their_community(demo_admin, session) -> None:
    client, admin = demo_admin
    r = _invite(client, admin, username="late", display_name="迟到", role="designer")
    token = r.json()["link"].rsplit("/", 1)[1]
    row = session.scalars(
        select(AuthToken).where(AuthToken.token_hash == accounts.token_hash(token))
    ).one()
    row.expires_at = datetime.now(UTC) - timedelta(minutes=1)
    session.flush()
    r = client.post("/api/staff/invitations/accept", json={"token": token, "password": PASSWORD})
    assert r.status_code == 403 and r.json()["code"] == "invitation_expired"
    r = client.post("/api/staff/invitations/accept", json={"token": "x" * 43, "password": PASSWORD})
    assert r.status_code == 404 and r.json()["code"] == "invitation_unknown"
    r = _invite(client, admin, username="boss", display_name="x", role="subdistrict_admin")
    assert r.status_code == 422 and r.json()["code"] == "invite_role"
    r = _invite(client, admin, username="x1", display_name="x", role="grid_lead", place="G99")
    assert r.status_code == 404
    r = _invite(client, admin, username="x2", display_name="x", role="grid_lead")
    assert r.status_code == 422 and r.json()["code"] == "invite_grid_missing"


def test_an_expired_invitation_is_sent_again_with_a_new_link(demo_admin, session) -> None:
    client, admin = demo_admin
    r = _invite(
        client, admin, username="late7", display_name="李网格", role="grid_lead", place="G07"
    )
    old = r.json()["link"].rsplit("/", 1)[1]
    row = session.scalars(
        select(AuthToken).where(AuthToken.token_hash == accounts.token_hash(old))
    ).one()
    row.expires_at = datetime.now(UTC) - timedelta(minutes=1)
    session.flush()
    url = "/api/staff/communities/310109010026/invitations/late7/resend"
    # only the community's admins resend
    assert client.post(url).status_code == 401
    r = client.post(url, headers=admin)
    assert r.status_code == 200, r.text
    new = r.json()["link"].rsplit("/", 1)[1]
    assert new != old and r.json()["username"] == "late7" and r.json()["display_name"] == "李网格"
    expires = datetime.fromisoformat(r.json()["expires_at"])
    assert timedelta(days=6, hours=23) < expires - datetime.now(UTC) <= timedelta(days=7)
    # one link per invitation: the old one is unknown now, expired or not
    links = session.scalars(
        select(AuthToken).where(AuthToken.user_id == row.user_id, AuthToken.kind == "invite")
    ).all()
    assert [t.token_hash for t in links] == [accounts.token_hash(new)]
    r = client.post("/api/staff/invitations/accept", json={"token": old, "password": PASSWORD})
    assert r.status_code == 404 and r.json()["code"] == "invitation_unknown"
    # resent before it was used: the previous new link stops working too
    again = client.post(url, headers=admin).json()["link"].rsplit("/", 1)[1]
    r = client.post("/api/staff/invitations/accept", json={"token": new, "password": PASSWORD})
    assert r.status_code == 404
    r = client.post("/api/staff/invitations/accept", json={"token": again, "password": PASSWORD})
    assert r.status_code == 200
    # accepted: nothing to resend, they sign in
    r = client.post(url, headers=admin)
    assert r.status_code == 409 and r.json()["code"] == "invitation_accepted"
    assert r.json()["message"] == (
        "late7 has accepted the invitation already and signs in with their password"
    )
    # nobody invited by that name, or an account that was never invited
    r = client.post(url.replace("late7", "nobody"), headers=admin)
    assert r.status_code == 404 and r.json()["code"] == "invitation_not_found"
    r = client.post(url.replace("late7", "admin"), headers=admin)
    assert r.status_code == 404 and r.json()["code"] == "invitation_not_found"


def test_only_the_communitys_admins_resend_an_invitation(demo_admin, session) -> None:
    client, admin = demo_admin
    r = _invite(client, admin, username="lead8", display_name="x", role="grid_lead", place="G07")
    assert r.status_code == 201
    lead = accounts.create_user(
        session, username="lead9", password=PASSWORD, roles=[("grid_lead", "310109010026/G07")]
    )
    token, _ = accounts.issue_token(session, user=lead, kind="api")
    headers = {"Authorization": f"Bearer {token}", "Accept-Language": "en"}
    url = "/api/staff/communities/310109010026/invitations/lead8/resend"
    assert client.post(url, headers=headers).status_code == 403
    assert client.post(url, headers=admin).status_code == 200
