"""The app as the tests build it: ``create_app`` with test settings, optionally bound to the
test's rolled-back session. Tests get clients from the ``make_client`` fixture (conftest);
this function is for the few that need an app without a database."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from renewmap.api.app import create_app
from renewmap.api.deps import get_public_session, get_read_session, get_session
from renewmap.settings import Settings

TEST_SETTINGS: dict[str, Any] = {"env": "test", "secret_key": "test-secret"}


def build_app(
    settings: Settings | None = None,
    *,
    engine: Engine | None = None,
    session: Session | None = None,
    **values: Any,
) -> FastAPI:
    """``create_app`` with ``settings``, or the test settings updated with ``values``.

    With ``session``, every request of the app reads and writes through it (the test's
    transaction, rolled back afterwards); without it, the app makes its own engine and sessions
    from the settings, as deployed.
    """
    settings = settings or Settings(**{**TEST_SETTINGS, **values})
    if session is not None and "rate_limit_backend" not in settings.model_fields_set:
        # counters in the database would be written beside the test's rolled-back transaction
        # (and kept): an app on the test's session counts in memory unless a test says so
        settings = settings.model_copy(update={"rate_limit_backend": "memory"})
    app = create_app(settings, engine=engine)
    if session is not None:
        app.dependency_overrides[get_session] = lambda: session
        app.dependency_overrides[get_read_session] = lambda: session
        app.dependency_overrides[get_public_session] = lambda: session
    return app
