"""Hostile load against a live ``renewmap serve`` on both databases: whose forwarded headers
are believed (none by default, the configured proxies otherwise), limits per address applied
to the resolved client, a per-account delay after failed sign-ins that holds across
addresses (and an admin's unlock), the Host header never reflected, CSRF tokens always the
server's, and concurrent +1s answered without a 5xx."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session

from renewmap.db.engine import make_engine
from renewmap.db.models import StaffUser
from renewmap.services.access import accounts
from tests.support.live import LIVE_ENV, LiveServer
from tests.support.places import add_test_community, pt

PASSWORD = "correct horse battery"
PROXY = "127.0.0.1"  # the reverse proxy on the same host (where uvicorn trusts by default)


def _seed(url: str) -> None:
    engine = make_engine(url)
    try:
        with Session(engine) as s, s.begin():
            add_test_community(s)
            for name in ("owner", "other"):
                accounts.create_user(
                    s, username=name, password=PASSWORD, roles=[("community_admin", "T0001")]
                )
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def servers(backend, database_url_factory, tmp_path_factory) -> Iterator[dict[str, LiveServer]]:
    """Per backend: ``plain`` (no setting: trusts nobody) and ``proxied`` (behind a proxy on
    127.0.0.1, with its host names and public address), each on its own database."""
    from renewmap.devtools.e2e import app_server

    configs = {
        "plain": {},
        "proxied": {
            "RENEWMAP_TRUSTED_PROXIES": PROXY,
            "RENEWMAP_ALLOWED_HOSTS": "renewmap.test, 127.0.0.1",
            "RENEWMAP_RATE_INTERACTIONS": "1000",
        },
    }
    with ExitStack() as stack:
        out = {}
        for name, env in configs.items():
            url = database_url_factory()
            log = tmp_path_factory.mktemp(f"live-{name}") / "server.log"
            base = stack.enter_context(app_server(url, log, env={**LIVE_ENV, **env}))
            _seed(url)
            out[name] = LiveServer(base, url, backend)
        yield out


def sign_in(base: str, username: str, password: str, forwarded: str | None = None) -> Any:
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    return httpx.post(
        f"{base}/api/staff/session",
        json={"username": username, "password": password},
        headers=headers,
        timeout=30,
    )


def test_forwarded_for_is_ignored_unless_a_proxy_is_trusted(servers) -> None:
    """Without RENEWMAP_TRUSTED_PROXIES a rotating X-Forwarded-For from 127.0.0.1 does not
    escape the per-address limit (uvicorn alone would believe it): the 11th of 14 is a 429.
    (A new unknown name each try: a name tried five times waits like an account would.)"""
    base = servers["plain"].url
    statuses = [
        sign_in(base, f"nobody{i}", "wrong guess", forwarded=f"203.0.113.{i}").status_code
        for i in range(14)
    ]
    assert statuses == [401] * 10 + [429] * 4


def test_a_trusted_proxy_names_the_client_and_limits_follow_it(servers) -> None:
    base = servers["proxied"].url
    # every client its own address: no one reaches the limit
    rotating = [
        sign_in(base, f"nobody{i}", "wrong guess", forwarded=f"198.51.100.{i}").status_code
        for i in range(14)
    ]
    assert rotating == [401] * 14
    # one client behind the proxy, whatever it writes to the left of the chain: limited
    spoofed = [
        sign_in(base, f"someone{i}", "wrong guess", forwarded=f"10.9.9.{i}, 192.0.2.7").status_code
        for i in range(11)
    ]
    assert spoofed == [401] * 10 + [429]


def test_the_scheme_comes_from_a_trusted_proxy_only(servers) -> None:
    """Links name the public address; X-Forwarded-Proto counts only from a trusted proxy."""
    plain, proxied = servers["plain"].url, servers["proxied"].url
    headers = {"X-Forwarded-Proto": "https"}
    links = httpx.get(f"{plain}/ogc/", headers=headers, timeout=30).json()["links"]
    assert all(link["href"].startswith(plain + "/") for link in links)
    links = httpx.get(f"{proxied}/ogc/", headers=headers, timeout=30).json()["links"]
    port = proxied.rsplit(":", 1)[1]
    assert all(link["href"].startswith(f"https://127.0.0.1:{port}/") for link in links)


def test_the_host_header_is_never_reflected(servers) -> None:
    plain, proxied = servers["plain"].url, servers["proxied"].url
    evil = {"Host": "evil.example", "Accept-Language": "en"}  # the refusal in English
    refusal = "this server does not answer for the host 'evil.example'"
    for path, refused in (
        ("/ogc/", lambda j: j == {"code": "invalid_host", "description": refusal}),
        ("/open311/v2/discovery.json", lambda j: j == [{"code": 400, "description": refusal}]),
        ("/api/communities", lambda j: (j["error"], j["message"]) == ("invalid_host", refusal)),
    ):
        r = httpx.get(f"{plain}{path}", headers=evil, timeout=30)
        assert r.status_code == 200 and "evil.example" not in r.text, path
        r = httpx.get(f"{proxied}{path}", headers=evil, timeout=30)
        assert r.status_code == 400 and refused(r.json()), (path, r.text)
    ok = httpx.get(f"{proxied}/ogc/", headers={"Host": "renewmap.test"}, timeout=30)
    assert ok.status_code == 200 and "renewmap.test" not in ok.text


def test_failed_sign_ins_delay_the_account_across_addresses(servers) -> None:
    """25 wrong passwords from 25 addresses no longer leave the door open: after 5 the
    account waits (even the right password is refused, with the wait), an admin's unlock or
    the wait's end lets the owner in, and the count starts again."""
    server = servers["proxied"]
    base = server.url
    wrong = [sign_in(base, "owner", f"guess {i}", forwarded=f"192.0.2.{100 + i}") for i in range(5)]
    assert [r.status_code for r in wrong] == [401] * 5
    locked = sign_in(base, "owner", PASSWORD, forwarded="192.0.2.200")
    assert locked.status_code == 429 and locked.json()["error"] == "rate_limited"
    assert 55 <= int(locked.headers["Retry-After"]) <= 60
    assert locked.json()["code"] == "account_locked" and "秒后再试" in locked.json()["message"]
    # another account is not affected
    assert sign_in(base, "other", PASSWORD, forwarded="192.0.2.201").status_code == 200
    # the admin clears it
    assert "may sign in again" in server.cli("--lang", "en", "user", "unlock", "owner")
    assert sign_in(base, "owner", PASSWORD, forwarded="192.0.2.202").status_code == 200
    # again 5 failures, then the wait passes (moved into the past): the owner is let in
    for i in range(5):
        sign_in(base, "owner", "guess", forwarded=f"192.0.2.{110 + i}")
    assert sign_in(base, "owner", PASSWORD, forwarded="192.0.2.203").status_code == 429
    engine = server.engine()
    try:
        with Session(engine) as s, s.begin():
            s.execute(
                update(StaffUser)
                .where(StaffUser.username == "owner")
                .values(locked_until=datetime.now(UTC) - timedelta(seconds=1))
            )
    finally:
        engine.dispose()
    assert sign_in(base, "owner", PASSWORD, forwarded="192.0.2.204").status_code == 200
    with Session(server.engine()) as s:
        owner = s.query(StaffUser).filter_by(username="owner").one()
        assert (owner.failed_logins, owner.locked_until) == (0, None)


def test_csrf_tokens_are_always_the_servers(servers) -> None:
    base = servers["plain"].url
    chosen = httpx.Client(base_url=base, timeout=30)
    chosen.cookies.set("rm_csrf", "attacker-chosen-value")
    r = chosen.get("/api/session")
    token = r.json()["csrf_token"]
    assert token != "attacker-chosen-value" and r.cookies["rm_csrf"] == token
    # the planted pair is refused even when cookie and header agree
    planted = httpx.Client(base_url=base, timeout=30)
    planted.cookies.set("rm_csrf", "attacker-chosen-value")
    p = pt(0.5, 0.5)
    form = {"category": "lighting", "title": "灯", "lon": str(p.x), "lat": str(p.y)}
    refused = planted.post(
        "/api/suggestions", data=form, headers={"X-CSRF-Token": "attacker-chosen-value"}
    )
    assert refused.status_code == 403 and refused.json()["error"] == "forbidden"
    # the server's own token is kept by the next visit and works
    assert chosen.get("/api/session").json()["csrf_token"] == token
    ok = chosen.post("/api/suggestions", data=form, headers={"X-CSRF-Token": token})
    assert ok.status_code == 201, ok.text


def _resident(base: str, forwarded: str) -> httpx.Client:
    c = httpx.Client(base_url=base, timeout=60, headers={"X-Forwarded-For": forwarded})
    c.headers["X-CSRF-Token"] = c.get("/api/session").json()["csrf_token"]
    return c


def test_concurrent_supports_answer_without_a_5xx(servers) -> None:
    """60 +1s at once from one device: one counts, the others are told it already does
    (409) — on PostGIS 30 of them used to be 500s; then 30 devices at once all count."""
    base = servers["proxied"].url
    author = _resident(base, "192.0.2.50")
    p = pt(0.6, 0.5)
    made = author.post(
        "/api/suggestions",
        data={"category": "lighting", "title": "一起+1", "lon": str(p.x), "lat": str(p.y)},
    )
    assert made.status_code == 201, made.text
    url = f"/api/suggestions/{made.json()['id']}/supports"
    one = _resident(base, "192.0.2.51")
    statuses: list[int] = []
    barrier = threading.Barrier(60)

    def plus_one(client: httpx.Client) -> None:
        barrier.wait()
        statuses.append(client.post(url).status_code)

    clones = []
    for _ in range(60):
        clone = httpx.Client(
            base_url=base, timeout=60, headers=dict(one.headers), cookies=dict(one.cookies)
        )
        clones.append(clone)
    threads = [threading.Thread(target=plus_one, args=(c,)) for c in clones]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert Counter(statuses) == {201: 1, 409: 59}
    devices = [_resident(base, f"192.0.2.{60 + i}") for i in range(30)]
    statuses.clear()
    barrier = threading.Barrier(30)
    threads = [threading.Thread(target=plus_one, args=(c,)) for c in devices]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert Counter(statuses) == {201: 30}
    view = httpx.get(f"{base}/api/suggestions/{made.json()['id']}", timeout=30).json()
    assert view["properties"]["supports"] == 31  # none lost to a race
