"""Where the tests find the repository's files."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src" / "renewmap"
DEMO_DIR = SRC / "data" / "demo"
OSM_EXTRACT = ROOT / "geodata" / "osm" / "tongji.osm.gz"
DATA = Path(__file__).resolve().parent / "data"
