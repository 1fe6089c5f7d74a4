"""The package as a user installs it: the wheel built from this tree, installed with no extras
into a fresh virtual environment (nothing of the development environment visible), and
``renewmap serve --demo`` started from another directory serves the demo community.

(``orjson`` was imported but not declared, and the demo data lived outside the package: an
installed ``renewmap serve`` crashed at start, and ``--demo`` found no files.)"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.request
import zipfile
from pathlib import Path

import pytest

from renewmap.devtools.e2e import free_port
from tests.support.paths import ROOT

pytestmark = pytest.mark.slow

DEMO = "310109010026"


# nothing of this tree or of the development environment reaches the installed package
CLEAN_ENV = {
    k: v for k, v in os.environ.items() if not k.startswith(("RENEWMAP_", "PYTHON", "VIRTUAL_ENV"))
}


def _run(cmd: list[str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=900, cwd=cwd, env=CLEAN_ENV)
    assert done.returncode == 0, f"{cmd}\n{done.stdout}\n{done.stderr}"
    return done


def test_the_wheel_installs_alone_and_serves_the_demo(tmp_path: Path) -> None:
    # built from a copy, so the build leaves nothing (egg-info, build/) in the tree
    tree = tmp_path / "tree"
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "*.pyc")
    shutil.copytree(ROOT / "src", tree / "src", ignore=ignore)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, tree / name)
    dist = tmp_path / "dist"
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(tree)])
    (wheel,) = dist.glob("renewmap-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for needed in (
        "renewmap/data/demo/grids.geojson",
        "renewmap/data/demo/branches.csv",
        "renewmap/db/migrations/versions/0019_prod.py",
        "renewmap/web/templates/base.html",
        "renewmap/static/js/resident.js",
        "renewmap/locales/zh_CN/LC_MESSAGES/messages.po",
    ):
        assert needed in names, needed
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", str(venv)])  # no system site-packages
    python = venv / "bin" / "python"
    _run([str(python), "-m", "pip", "install", "-q", str(wheel)])  # no extras
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RENEWMAP_", "PYTHONPATH"))}
    env["RENEWMAP_DATABASE_URL"] = f"sqlite:///{elsewhere / 'renewmap.sqlite'}"
    log = (tmp_path / "server.log").open("wb")
    proc = subprocess.Popen(
        [str(venv / "bin" / "renewmap"), "serve", "--demo", "--port", str(port)],
        cwd=elsewhere,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                with urllib.request.urlopen(base + "/health/ready", timeout=2) as r:
                    assert r.status == 200
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError((tmp_path / "server.log").read_text()) from None
                time.sleep(0.2)
        with urllib.request.urlopen(f"{base}/api/communities/{DEMO}", timeout=30) as r:
            assert b"\xe5\xb7\xb4\xe6\x9e\x97" in r.read()  # 巴林
        with urllib.request.urlopen(f"{base}/ogc/collections/buildings/items?limit=1") as r:
            assert r.status == 200  # OGC pages are dumped by orjson, now a dependency
        with urllib.request.urlopen(f"{base}/c/{DEMO}", timeout=30) as r:
            assert r.status == 200
        # the installed code is the one that answered, not this tree's
        code = "import renewmap, sys; print(renewmap.__file__)"
        where = _run([str(python), "-c", code]).stdout
        assert str(venv) in where and str(ROOT / "src") not in where
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()
