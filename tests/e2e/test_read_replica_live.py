"""A streaming read replica behind ``RENEWMAP_DATABASE_READ_URL`` (issue 19 item 10).

PostGIS only (a replica is a PostgreSQL server of its own): a primary cluster of this test's
own and a standby made from it with ``pg_basebackup -R`` on another loopback port. With the
standby's replay paused, a suggestion posted through the app is on the primary only, so who
reads where is visible:

* public reads that may lag (the map's list, OGC items and vector tiles) come from the
  replica: they do not show it yet;
* reads that must see one's own writes stay on the primary: the resident's private follow
  page and the staff list show it at once;
* replay resumed, the public reads show it too;
* the replica down: public reads answer an honest 503 ``database_unavailable`` with
  ``Retry-After`` (never a 500, never a silent switch to the primary), while posting, the
  follow page and the staff views keep working; the replica back, public reads recover by
  themselves.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import mapbox_vector_tile
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from renewmap.db.engine import make_engine
from renewmap.db.migrate import upgrade
from renewmap.devtools.pgcluster import Cluster, ClusterUnavailable, postgis_cluster
from renewmap.services.access import accounts
from tests.support.app import build_app
from tests.support.clients import IN_CI
from tests.support.places import add_test_community, pt
from tests.support.receivers import wait_for

Z = 16


@pytest.fixture
def primary_and_replica() -> Iterator[tuple[Cluster, Cluster]]:
    try:
        with postgis_cluster() as primary, primary.replica() as replica:
            yield primary, replica
    except ClusterUnavailable as exc:
        if IN_CI:
            raise
        pytest.skip(f"PostGIS not available: {exc}")


def tile_of(lon: float, lat: float) -> str:
    """The z16 suggestions tile holding a point (the OpenStreetMap wiki's formula)."""
    n = 2**Z
    x = int((lon + 180.0) / 360.0 * n)
    y = int((1.0 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2.0 * n)
    return f"/ogc/collections/suggestions/tiles/WebMercatorQuad/{Z}/{x}/{y}"


class Views:
    """What each kind of reader sees of suggestion ids (or the status code when refused)."""

    def __init__(self, client: TestClient, staff: dict[str, str]) -> None:
        self.client = client
        self.staff = staff

    def public_list(self) -> set[int] | int:
        r = self.client.get("/api/communities/T0001/suggestions")
        return {f["id"] for f in r.json()["features"]} if r.status_code == 200 else r.status_code

    def ogc_items(self) -> set[int] | int:
        r = self.client.get("/ogc/collections/suggestions/items?limit=1000")
        return {f["id"] for f in r.json()["features"]} if r.status_code == 200 else r.status_code

    def tile(self) -> set[int] | int:
        r = self.client.get(tile_of(*pt(0.5, 0.5).coords[0]))
        if r.status_code != 200:
            return r.status_code
        decoded = mapbox_vector_tile.decode(r.content) if r.content else {}
        return {f["id"] for f in decoded.get("suggestions", {}).get("features", [])}

    def staff_list(self) -> set[int]:
        r = self.client.get("/api/staff/requests", headers=self.staff)
        assert r.status_code == 200, r.text
        return {f["id"] for f in r.json()["features"]}

    def follow(self, made: dict) -> str:
        code = made["receipt_code"]
        token = made["follow_url"].split("t=", 1)[1]
        r = self.client.get(f"/api/receipts/{code}", params={"token": token})
        assert r.status_code == 200, r.text
        return str(r.json()["title"])

    def public(self) -> tuple[set[int] | int, set[int] | int, set[int] | int]:
        return self.public_list(), self.ogc_items(), self.tile()


def post(client: TestClient, title: str) -> dict:
    p = pt(0.5, 0.5)
    r = client.post(
        "/api/suggestions",
        data={"category": "lighting", "title": title, "lon": str(p.x), "lat": str(p.y)},
    )
    assert r.status_code == 201, r.text
    made: dict = r.json()
    return made


def test_public_reads_come_from_the_replica_own_writes_from_the_primary(
    primary_and_replica,
) -> None:
    primary, replica = primary_and_replica
    engine = make_engine(primary.url)
    try:
        upgrade(engine)
        with Session(engine) as s, s.begin():
            add_test_community(s)
            lead = accounts.create_user(
                s,
                username="lead",
                password="correct horse battery",
                roles=[("grid_lead", "T0001/A")],
            )
            token, _ = accounts.issue_token(s, user=lead, kind="api")
    finally:
        engine.dispose()
    app = build_app(
        database_url=primary.url,
        database_read_url=replica.url,
        rate_limit_backend="memory",
        notify_dispatcher=False,
    )
    with TestClient(app) as client:
        client.headers["X-CSRF-Token"] = client.get("/api/session").json()["csrf_token"]
        views = Views(client, {"Authorization": f"Bearer {token}"})
        first = post(client, "第一条")
        replica.wait_replayed(primary)
        assert views.public() == ({first["id"]},) * 3

        replica.pause_replay()  # the replica lags: it stops applying the primary's changes
        lagging = post(client, "复制还没到")
        assert views.public() == ({first["id"]},) * 3  # from the replica: not there yet
        assert views.follow(lagging) == "复制还没到"  # the resident's own write: the primary
        assert views.staff_list() == {first["id"], lagging["id"]}  # staff: the primary

        replica.resume_replay()
        replica.wait_replayed(primary)
        assert views.public() == ({first["id"], lagging["id"]},) * 3

        replica.stop("fast")  # the replica goes away
        for status in views.public():
            assert status == 503
        down = client.get("/api/communities/T0001/suggestions")
        assert down.json()["code"] == "database_unavailable" and down.headers["retry-after"]
        while_down = post(client, "副本停了也能提交")  # writes and own reads: the primary
        assert views.follow(while_down) == "副本停了也能提交"
        assert while_down["id"] in views.staff_list()

        replica.start()
        wait_for(lambda: views.public_list() != 503, timeout=60, what="public reads back")
        replica.wait_replayed(primary)
        everything = {first["id"], lagging["id"], while_down["id"]}
        assert views.public() == (everything,) * 3
