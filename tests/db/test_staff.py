"""Staff accounts and the request workflow on fresh databases of each backend, committed as the
command line and the server commit them."""

from __future__ import annotations

from typing import Any

from renewmap.db.models import Request
from renewmap.db.queries.accounts import staff_user_by_username
from renewmap.services.access import accounts
from renewmap.services.access.scope import scope_of
from renewmap.services.requests import workflow
from renewmap.services.requests.intake import create_request
from tests.support.places import add_test_community, pt

PASSWORD = "correct horse battery"


def test_cli_user_add_and_password(database_url_factory, monkeypatch) -> None:
    """`renewmap user add` on a fresh database of each backend (committed, then checked)."""
    import io

    from sqlalchemy.orm import Session

    from renewmap.cli import main
    from renewmap.db.engine import make_engine
    from renewmap.db.migrate import upgrade

    url = database_url_factory()
    monkeypatch.setenv("RENEWMAP_DATABASE_URL", url)
    e = make_engine(url)
    try:
        upgrade(e)
        with Session(e) as s, s.begin():
            add_test_community(s)
        monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
        args = ["user", "add", "wang", "--display-name", "王网格长", "--password-stdin"]
        assert main([*args, "--role", "grid_lead=T0001/A"]) == 0
        assert main(["user", "add", "li", "--password-env", "NOPE"]) == 2
        assert main(["user", "add", "li", "--password-env", "NOPE", "--role", "x"]) == 2
        monkeypatch.setenv("NEWPW", "another long secret")
        assert main(["user", "password", "wang", "--password-env", "NEWPW"]) == 0
        with Session(e) as s:
            user = accounts.check_password(s, username="wang", password="another long secret")
            assert [r.role for r in user.roles] == ["grid_lead"]
            assert user.display_name == "王网格长"
            assert staff_user_by_username(s, username="li") is None
    finally:
        e.dispose()


def test_two_leads_at_the_same_moment(database_url_factory) -> None:
    """A real race: two threads, two connections, both acting on version 1 at once (the app's
    own session setup: row locks on PostGIS, BEGIN IMMEDIATE on SpatiaLite). Exactly one wins;
    the other gets a 409 with the winner's state; no update is lost."""
    import threading

    from sqlalchemy.orm import Session, sessionmaker

    from renewmap.db.dialect import write_bind
    from renewmap.db.engine import make_engine
    from renewmap.db.migrate import upgrade
    from renewmap.errors import Conflict

    engine = make_engine(database_url_factory())
    try:
        upgrade(engine)
        with Session(engine) as s, s.begin():
            add_test_community(s)
            request, _ = create_request(s, geom=pt(0.5, 0.5), category="lighting", title="灯")
            rid = request.id
            for name in ("lead_1", "lead_2"):
                accounts.create_user(
                    s, username=name, password=PASSWORD, roles=[("grid_lead", "T0001/A")]
                )
        factory = sessionmaker(write_bind(engine), expire_on_commit=False)
        barrier = threading.Barrier(2)
        outcomes: dict[str, Any] = {}

        def lead(name: str, action: str, note: str | None) -> None:
            with factory() as s:
                user = staff_user_by_username(s, username=name)
                principal = accounts.principal_of(user)
                scope = scope_of(s, principal)
                s.rollback()  # both start from scratch, together
                barrier.wait()
                try:
                    with s.begin():
                        workflow.act(
                            s,
                            principal=principal,
                            scope=scope,
                            request_id=rid,
                            action=action,
                            version=1,
                            note=note,
                        )
                    outcomes[name] = "ok"
                except Conflict as exc:
                    outcomes[name] = exc.details["current"]

        threads = [
            threading.Thread(target=lead, args=("lead_1", "accept", None)),
            threading.Thread(target=lead, args=("lead_2", "reject", "不归我们管")),
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert sorted(map(str, outcomes.values())).count("ok") == 1, outcomes
        loser = next(v for v in outcomes.values() if v != "ok")
        with Session(engine) as s:
            final = s.get(Request, rid)
            assert loser == {"id": rid, "status": final.status, "version": 2}
            assert final.version == 2 and final.status in ("accepted", "rejected")
            steps = [e.kind for e in final.events if e.kind in ("accept", "reject")]
            assert len(steps) == 1
    finally:
        engine.dispose()
