"""Fixtures of the database-level tests."""

from __future__ import annotations

import pytest

from renewmap.cli import main


@pytest.fixture
def cli_db(database_url_factory, monkeypatch):
    """A fresh database on the test's backend, brought to the current schema by `renewmap db
    upgrade` (the commands only check it), where the commands run."""
    url = database_url_factory()
    monkeypatch.setenv("RENEWMAP_DATABASE_URL", url)
    assert main(["db", "upgrade"]) == 0
    return url
