"""The live server the tests of real clients talk to (``renewmap serve`` in a subprocess)."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass

from sqlalchemy import Engine

from renewmap.db.engine import make_engine

LIVE_ENV = {"RENEWMAP_ENV": "test", "RENEWMAP_SECRET_KEY": "live-test-secret"}


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
