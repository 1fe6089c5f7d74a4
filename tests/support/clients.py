"""The external programs some tests drive: Chromium, GDAL, QGIS, Node, PgBouncer.

A test that needs one asks here. A missing program skips the test with a reason that names
it and how to install it; tests/conftest.py collects those skips, and in CI (CI=true) any of
them fails the run, as a skipped PostGIS test does (./dev test installs them all).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import NoReturn

import pytest

from renewmap.devtools.e2e import CHROMIUM
from renewmap.devtools.pgcluster import PGBOUNCER

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
MISSING = "missing external client:"  # the skip reasons tests/conftest.py counts
QGIS_PYTHON = "/usr/bin/python3"  # QGIS's Python bindings belong to the system Python


def missing(what: str, install: str) -> NoReturn:
    """Skip the test: ``what`` is not installed (in CI the run then fails)."""
    pytest.skip(f"{MISSING} {what} is not installed ({install})")


def chromium() -> str:
    """Debian's Chromium, which Playwright drives (never a downloaded browser)."""
    if not Path(CHROMIUM).exists():
        missing(CHROMIUM, "apt-get install chromium")
    return CHROMIUM


def gdal(tool: str) -> str:
    """A GDAL command-line tool (ogrinfo, ogr2ogr): its path."""
    path = shutil.which(tool)
    if path is None:
        missing(tool, "apt-get install gdal-bin")
    return path


def qgis() -> str:
    """The Python that imports QGIS (python3-qgis, qgis-providers): its path."""
    probe = subprocess.run(
        [QGIS_PYTHON, "-c", "import qgis.core"], capture_output=True, text=True, timeout=60
    )
    if probe.returncode != 0:
        missing("QGIS", "apt-get install python3-qgis qgis-providers")
    return QGIS_PYTHON


def node() -> str:
    """Node.js (the pages' scripts are checked with it): its path."""
    path = shutil.which("node")
    if path is None:
        missing("node", "apt-get install nodejs")
    return path


def axe() -> str:
    """axe-core's browser script, from the npm registry into node_modules (package.json's
    devDependencies; ./dev test runs npm ci): its path."""
    from tests.support.paths import ROOT

    path = ROOT / "node_modules" / "axe-core" / "axe.min.js"
    if not path.exists():
        missing("axe-core", "npm ci")
    return str(path)


def s3rver() -> str:
    """s3rver, an S3-compatible server in Node (npm, package.json's devDependencies; ./dev
    test runs npm ci): its path. The S3 blob store's tests run against it on loopback."""
    from tests.support.paths import ROOT

    node()
    path = ROOT / "node_modules" / ".bin" / "s3rver"
    if not path.exists():
        missing("s3rver", "npm ci")
    return str(path)


def pgbouncer() -> str:
    """Debian's PgBouncer (the connection pooler the operations tests put in front of
    PostgreSQL): its path."""
    if not Path(PGBOUNCER).exists():
        missing(PGBOUNCER, "apt-get install pgbouncer")
    return PGBOUNCER
