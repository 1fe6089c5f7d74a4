"""Shared fixtures. Every DB test runs on SpatiaLite and on PostGIS: one session-scoped
``backend`` parameter, which every database fixture (``database_url_factory``, ``engine``,
``session``, ``make_client``, ``live_server``, the browser tests' servers) derives from.

A throwaway PostGIS cluster is started for the session (no service needs to be running).
Locally, a machine without PostgreSQL/PostGIS skips the PostGIS half, and one without an
external client (Chromium, GDAL, QGIS, Node: tests/support/clients.py) skips the tests that
drive it, each with a reason; in CI (CI=true) any such skip fails the run.

Folders: tests/unit (no database), tests/db (services and queries on both databases),
tests/api (HTTP in-process), tests/e2e (live servers, the browser, real clients); helpers the
tests import are in tests/support.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from renewmap.db.engine import make_engine
from renewmap.db.migrate import upgrade
from renewmap.devtools.pgcluster import Cluster, ClusterUnavailable, postgis_cluster
from renewmap.settings import Settings
from tests.support.app import build_app
from tests.support.clients import IN_CI, MISSING
from tests.support.live import LIVE_ENV, LiveServer
from tests.support.paths import DEMO_DIR

BACKENDS = ["spatialite", "postgis"]
# Fixtures that reach a database or the app: a test in tests/unit may use none of them.
DB_FIXTURES = {"backend", "engine", "session", "client", "make_client", "live_server"}

_missing: list[tuple[str, str]] = []  # (test, reason) of every skip CI does not allow


def pytest_configure(config: pytest.Config) -> None:
    """Photos and files the tests store go to a throwaway directory (never the checkout's
    var/): the apps, CLI commands and live servers the tests start all inherit it."""
    if "RENEWMAP_BLOB_DIR" not in os.environ:
        root = tempfile.mkdtemp(prefix="renewmap-test-blobs-")
        os.environ["RENEWMAP_BLOB_DIR"] = root
        config.add_cleanup(lambda: shutil.rmtree(root, ignore_errors=True))


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Cluster | None]:
    try:
        with postgis_cluster() as cluster:
            yield cluster
    except ClusterUnavailable:
        yield None


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The database this test runs on ("spatialite" or "postgis"); in every DB test's id."""
    return str(request.param)


def _new_pg_database(cluster: Cluster) -> str:
    import psycopg

    name = f"t_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(cluster.dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE renewmap')
    return cluster.url.rsplit("/", 1)[0] + f"/{name}"


@pytest.fixture(scope="session")
def database_url_factory(
    backend: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Callable[[], str]:
    """Make a fresh, empty (unmigrated) database on this test's backend; its URL."""

    def make() -> str:
        if backend == "spatialite":
            return f"sqlite:///{tmp_path_factory.mktemp('db') / 'renewmap.sqlite'}"
        cluster = request.getfixturevalue("pg_cluster")  # started only when PostGIS is used
        if cluster is None:
            pytest.skip("PostGIS not available (apt-get install postgresql postgis)")
        return _new_pg_database(cluster)

    return make


@pytest.fixture(scope="session")
def engine(database_url_factory: Callable[[], str]) -> Iterator[Engine]:
    """A migrated database per backend with the demo community committed once: bare (its
    requests as filed, S01 not started, no patrols), the state the tests build on; the demo's
    history has its own tests (tests/db/test_demo_history.py)."""
    from renewmap.services.ingest.demo import load_demo

    eng = make_engine(database_url_factory())
    upgrade(eng)
    with Session(eng) as s, s.begin():
        load_demo(s, DEMO_DIR, history=False)
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


class AppClient(TestClient):
    """A client whose app the ``make_client`` fixture starts and stops (lifespan included):
    ``with`` on it only marks a block."""

    def __enter__(self) -> AppClient:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


ClientFactory = Callable[..., AppClient]


@pytest.fixture
def make_client(engine: Engine, session: Session) -> Iterator[ClientFactory]:
    """The one way tests build the app in-process: ``make_client(**settings)`` is a client of a
    new app (test settings updated with ``settings``) on the test's rolled-back session, its
    lifespan running until the end of the test.

    ``make_client(settings)`` takes a whole Settings object instead; ``app=c.app`` gives
    another client (its own cookies) of an app already made; ``csrf=True`` a client that sends
    its CSRF token, as the pages do; ``on_session=False`` the app as deployed, with its own
    engine and sessions from the settings (and no rollback).
    """
    with ExitStack() as stack:
        started: set[int] = set()

        def make(
            settings: Settings | None = None,
            /,
            *,
            app: FastAPI | None = None,
            csrf: bool = False,
            on_session: bool = True,
            **values: Any,
        ) -> AppClient:
            if app is None:
                bound = {"engine": engine, "session": session} if on_session else {}
                app = build_app(settings, **bound, **values)
            client = AppClient(app)
            if id(app) in started:  # the app runs already: this is one more visitor
                stack.callback(client.close)
            else:
                started.add(id(app))
                TestClient.__enter__(client)  # the app's lifespan starts
                stack.callback(TestClient.__exit__, client, None, None, None)
            if csrf:
                client.headers["X-CSRF-Token"] = client.get("/api/session").json()["csrf_token"]
            return client

        yield make


@pytest.fixture
def client(make_client: ClientFactory) -> AppClient:
    """The app in-process (TestClient) on the test's rolled-back session."""
    return make_client()


@pytest.fixture
def design_api(
    make_client: ClientFactory, session: Session
) -> tuple[AppClient, dict[str, dict[str, str]]]:
    """Site S1 (tests/support/design.py: 20 m × 10 m, 7号楼 east of it) in community T0001; a
    designer and grid A's lead with API tokens; the app in-process. (client, headers by name)."""
    from shapely.geometry import box

    from renewmap.db.models import Building, Community, Site
    from renewmap.services.access import accounts
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
    return make_client(), headers


@pytest.fixture(scope="session")
def live_server(
    backend: str, database_url_factory: Callable[[], str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """A live server on loopback per backend, shared by the tests of real clients."""
    from renewmap.devtools.e2e import app_server

    url = database_url_factory()
    log = tmp_path_factory.mktemp("live") / "server.log"
    with app_server(url, log, demo_dir=DEMO_DIR, env=LIVE_ENV) as base:
        yield LiveServer(base, url, backend)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's headless Chromium through Playwright (a module's tests share it)."""
    from playwright.sync_api import sync_playwright

    from renewmap.devtools.e2e import CHROMIUM_ARGS
    from tests.support.clients import chromium

    executable = chromium()
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield b
        b.close()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A test in tests/unit reaches no database: it may not use a database fixture."""
    for item in items:
        if "/tests/unit/" in str(item.path).replace("\\", "/"):
            used = DB_FIXTURES & set(getattr(item, "fixturenames", ()))
            if used:
                raise pytest.UsageError(
                    f"{item.nodeid} uses {sorted(used)}: database tests belong in tests/db, "
                    "tests/api or tests/e2e"
                )


def _skip_reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple):
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if not report.skipped:
        return
    reason = _skip_reason(report)
    if "postgis" in report.nodeid or MISSING in reason:
        _missing.append((report.nodeid, reason))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if IN_CI and _missing:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    if not _missing:
        return
    verdict = "FAILED (CI requires them)" if IN_CI else "skipped locally"
    reasons = sorted({reason for _, reason in _missing})
    terminalreporter.write_line(
        f"{len(_missing)} test(s) needing PostGIS or an external client {verdict}:", red=IN_CI
    )
    for reason in reasons:
        terminalreporter.write_line(f"  {reason}", red=IN_CI)
