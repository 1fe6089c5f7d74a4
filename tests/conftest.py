"""Shared fixtures: every DB test runs on SpatiaLite and on PostGIS.

A throwaway PostGIS cluster is started for the session (no service needs to be running).
Locally, a machine without PostgreSQL/PostGIS skips the PostGIS half; in CI (CI=true) that
is an error, and any skipped PostGIS test fails the run.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from renewmap.db.engine import make_engine
from renewmap.db.migrate import upgrade
from renewmap.devtools.pgcluster import Cluster, ClusterUnavailable, postgis_cluster
from tests.support.paths import DEMO_DIR, OSM_EXTRACT, ROOT

__all__ = ["DEMO_DIR", "OSM_EXTRACT", "ROOT"]  # imported by tests from here until they move

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
BACKENDS = ["spatialite", "postgis"]

_skipped_postgis: list[str] = []


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Cluster | None]:
    try:
        with postgis_cluster() as cluster:
            yield cluster
    except ClusterUnavailable as exc:
        if IN_CI:
            pytest.fail(f"PostGIS is required in CI: {exc}")
        yield None


def _new_pg_database(cluster: Cluster) -> str:
    import psycopg

    name = f"t_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(cluster.dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE renewmap')
    return cluster.url.rsplit("/", 1)[0] + f"/{name}"


@pytest.fixture(scope="session")
def database_url_factory(pg_cluster, tmp_path_factory):  # type: ignore[no-untyped-def]
    """Make a fresh, empty (unmigrated) database URL for a backend."""

    def make(backend: str) -> str:
        if backend == "spatialite":
            return f"sqlite:///{tmp_path_factory.mktemp('db') / 'renewmap.sqlite'}"
        if pg_cluster is None:
            pytest.skip("PostGIS not available (apt-get install postgresql postgis)")
        return _new_pg_database(pg_cluster)

    return make


@pytest.fixture(scope="session", params=BACKENDS)
def engine(request, database_url_factory) -> Iterator[Engine]:  # type: ignore[no-untyped-def]
    """A migrated database per backend with the demo community committed once."""
    from renewmap.services.ingest.demo import load_demo

    eng = make_engine(database_url_factory(request.param))
    upgrade(eng)
    with Session(eng) as s, s.begin():
        load_demo(s, DEMO_DIR)
    yield eng
    eng.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A session inside a transaction that is rolled back after the test."""
    conn = engine.connect()
    trans = conn.begin()
    s = Session(bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False)
    try:
        yield s
    finally:
        s.close()
        trans.rollback()
        conn.close()


@pytest.fixture
def client(engine: Engine, session: Session) -> Iterator[Any]:
    """The app in-process (TestClient) on the test's rolled-back session."""
    from fastapi.testclient import TestClient

    from renewmap.api.app import create_app
    from renewmap.api.deps import get_read_session, get_session
    from renewmap.settings import Settings

    app = create_app(Settings(env="test", secret_key="test-secret"), engine=engine)
    app.dependency_overrides[get_session] = lambda: session
    app.dependency_overrides[get_read_session] = lambda: session
    with TestClient(app) as c:
        yield c


@pytest.fixture
def design_api(engine: Engine, session: Session) -> Iterator[tuple[Any, dict[str, dict[str, str]]]]:
    """Site S1 (tests/support/design.py: 20 m × 10 m, 7号楼 east of it) in community T0001; a
    designer and grid A's lead with API tokens; the app in-process. (client, headers by name)."""
    from fastapi.testclient import TestClient
    from shapely.geometry import box

    from renewmap.api.app import create_app
    from renewmap.api.deps import get_read_session, get_session
    from renewmap.db.models import Building, Community, Site
    from renewmap.services.access import accounts
    from renewmap.settings import Settings
    from renewmap.spatial.geometry import as_multi, to_db
    from tests.support.design import w
    from tests.support.places import add_test_community

    add_test_community(session)
    community = session.query(Community).filter_by(code="T0001").one()
    session.add(
        Site(
            community_id=community.id,
            code="S1",
            name="睦邻花园",
            geom=to_db(as_multi(w(box(0, 0, 20, 10)))),
        )
    )
    session.add(
        Building(
            community_id=community.id, number="7号楼", geom=to_db(as_multi(w(box(20, 0, 30, 10))))
        )
    )
    session.flush()
    headers = {}
    for name, role in (("designer", "designer=T0001"), ("lead", "grid_lead=T0001/A")):
        user = accounts.create_user(
            session,
            username=name,
            password="correct horse battery",
            roles=[tuple(role.split("=", 1))],
        )
        token, _ = accounts.issue_token(session, user=user, kind="api")
        headers[name] = {"Authorization": f"Bearer {token}"}
    app = create_app(Settings(env="test", secret_key="test-secret"), engine=engine)
    app.dependency_overrides[get_session] = lambda: session
    app.dependency_overrides[get_read_session] = lambda: session
    with TestClient(app) as c:
        yield c, headers


@dataclass(frozen=True)
class LiveServer:
    """``renewmap serve`` in a subprocess with the demo community, as in production."""

    url: str
    database_url: str
    backend: str

    def engine(self) -> Engine:
        """An engine on the server's database (to seed data and to check answers)."""
        return make_engine(self.database_url)

    def cli(self, *args: str) -> str:
        """Run ``renewmap …`` against the server's database; its standard output."""
        env = {**os.environ, **LIVE_ENV, "RENEWMAP_DATABASE_URL": self.database_url}
        done = subprocess.run(
            [sys.executable, "-m", "renewmap.cli", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout


LIVE_ENV = {"RENEWMAP_ENV": "test", "RENEWMAP_SECRET_KEY": "live-test-secret"}


@pytest.fixture(scope="session", params=BACKENDS)
def live_server(request, database_url_factory, tmp_path_factory) -> Iterator[LiveServer]:  # type: ignore[no-untyped-def]
    """A live server on loopback per backend, shared by the tests of real clients."""
    from renewmap.devtools.e2e import app_server

    url = database_url_factory(request.param)
    log = tmp_path_factory.mktemp("live") / "server.log"
    with app_server(url, log, demo_dir=DEMO_DIR, env=LIVE_ENV) as base:
        yield LiveServer(base, url, request.param)


@pytest.fixture
def backend(engine: Engine) -> str:
    return engine.dialect.name


def count(session: Session, table: str) -> int:
    return int(session.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped and "postgis" in report.nodeid:
        _skipped_postgis.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if IN_CI and _skipped_postgis:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:  # type: ignore[no-untyped-def]
    if _skipped_postgis:
        verdict = "FAILED (CI requires PostGIS)" if IN_CI else "skipped locally"
        terminalreporter.write_line(
            f"{len(_skipped_postgis)} PostGIS test(s) {verdict}: install postgresql + postgis",
            red=IN_CI,
        )
