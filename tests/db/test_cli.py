"""The command line on the real Tongji OSM extract, on both databases.

Each test gets a fresh, empty database; commands commit as users would run them.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pyogrio
import shapely

from renewmap.cli import main
from tests.support.paths import DEMO_DIR, OSM_EXTRACT

CODE = "310109010026"


def run(capsys, *args: str, lang: str | None = "en") -> tuple[int, str, str]:
    """Run a command; in English unless ``lang`` says otherwise (None: from the environment)."""
    code = main([*(["--lang", lang] if lang else []), *(str(a) for a in args)])
    out, err = capsys.readouterr()
    return code, out, err


def test_the_command_line_speaks_chinese_unless_told_otherwise(
    cli_db, capsys, tmp_path: Path, monkeypatch
) -> None:
    """LANG/LC_ALL choose (en* is English); without them, Simplified Chinese; --lang wins."""
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(name, raising=False)
    missing = tmp_path / "nope.geojson"
    code, _, err = run(capsys, "import", missing, "--kind", "community", lang=None)
    assert code == 2 and err.startswith("错误：nope.geojson：找不到文件")
    monkeypatch.setenv("LANG", "en_US.UTF-8")
    code, _, err = run(capsys, "import", missing, "--kind", "community", lang=None)
    assert code == 2 and err.startswith("error: nope.geojson: file not found")
    code, _, err = run(capsys, "import", missing, "--kind", "community", lang="zh_CN")
    assert err.startswith("错误：")
    monkeypatch.setenv("LC_ALL", "C.UTF-8")  # LC_ALL beats LANG; C is not English
    code, out, _ = run(
        capsys, "import", DEMO_DIR / "community.geojson", "--kind", "community", lang=None
    )
    assert code == 0 and out.startswith("community.geojson：社区：新建 1 个，更新 0 个")


def test_osm_import_validate_route_export(cli_db, capsys, tmp_path: Path) -> None:
    assert OSM_EXTRACT.exists(), "the Tongji extract ships in geodata/osm/"
    # the demo's grids were drawn over the compound with its 3 edge buildings (mostly outside)
    code, out, _ = run(
        capsys,
        "import-osm",
        OSM_EXTRACT,
        "--compound",
        "巴林小区",
        "--community",
        CODE,
        "--include-outside",
    )
    assert code == 0 and "building: 21 created" in out and "ODbL" in out
    # no grids yet: the whole community is a gap and every building is unassigned
    code, out, _ = run(capsys, "validate-grids", "--community", CODE, "--json")
    assert code == 1
    report = json.loads(out)
    assert {i["kind"] for i in report["issues"]} == {"gap", "unassigned"}
    assert sum(i["kind"] == "unassigned" for i in report["issues"]) == 21
    # governance data from the demo files
    assert run(capsys, "import-branches", DEMO_DIR / "branches.csv")[0] == 0
    assert (
        run(capsys, "import", DEMO_DIR / "grids.geojson", "--kind", "grid", "--community", CODE)[0]
        == 0
    )
    code, out, _ = run(capsys, "assign-buildings", "--community", CODE)
    assert code == 0 and out.startswith("21 buildings assigned")
    code, out, _ = run(capsys, "validate-grids", "--community", CODE)
    assert code == 0 and "OK: no problems found" in out

    pts = tmp_path / "points.csv"
    pts.write_text("id,lon,lat\n1,121.4905,31.2890\n2,121.6,31.2\n")
    code, out, _ = run(capsys, "route", pts, "--out", tmp_path / "routed.csv")
    assert code == 0
    routed = pd.read_csv(tmp_path / "routed.csv", dtype=str, keep_default_na=False)
    assert list(routed.columns) == [
        "id",
        "lon",
        "lat",
        "community_code",
        "grid_code",
        "branch_code",
        "rule",
        "building",
        "building_group_code",
    ]
    assert routed.loc[0, "community_code"] == CODE and routed.loc[0, "rule"] == "inside"
    assert routed.loc[0, "grid_code"].startswith("G")
    assert routed.loc[0, "branch_code"].startswith(CODE + "-B")
    assert (routed.loc[1, "rule"], routed.loc[1, "grid_code"]) == ("outside", "")

    gpkg = tmp_path / "out.gpkg"
    code, out, _ = run(capsys, "export", "--community", CODE, "--out", gpkg)
    assert code == 0
    layers = {name for name, _ in pyogrio.list_layers(gpkg)}
    assert {"community", "compound", "grid", "building", "path", "green"} <= layers
    assert len(pyogrio.read_dataframe(gpkg, layer="building")) == 21


def test_bad_import_exits_nonzero_and_writes_nothing(cli_db, capsys, tmp_path: Path) -> None:
    assert run(capsys, "import", DEMO_DIR / "community.geojson", "--kind", "community")[0] == 0
    assert run(capsys, "import-branches", DEMO_DIR / "branches.csv")[0] == 0
    bad = tmp_path / "grids.geojson"
    fc = json.loads((DEMO_DIR / "grids.geojson").read_text())
    x, y = 121.4905, 31.2890  # a bow-tie: self-intersecting
    fc["features"][3]["geometry"] = {
        "type": "Polygon",
        "coordinates": [[[x, y], [x + 0.001, y + 0.001], [x + 0.001, y], [x, y + 0.001], [x, y]]],
    }
    fc["features"][5]["properties"]["branch_code"] = "NO-SUCH-BRANCH"
    bad.write_text(json.dumps(fc))
    code, _, err = run(capsys, "import", bad, "--kind", "grid", "--community", CODE)
    assert code == 2
    assert "grids.geojson, feature 4, field 'geometry': invalid geometry" in err
    assert (
        "grids.geojson, feature 6, field 'branch_code': unknown party branch code "
        "'NO-SUCH-BRANCH'" in err
    )
    code, _, _ = run(capsys, "export", "--community", CODE, "--out", tmp_path / "x.geojson")
    assert code == 0
    layers = {
        f["properties"]["renewmap_layer"]
        for f in json.loads((tmp_path / "x.geojson").read_text())["features"]
    }
    assert layers == {"community"}, "no grid may have been written"


def test_route_rejects_bad_rows(cli_db, capsys, tmp_path: Path) -> None:
    run(capsys, "import", DEMO_DIR / "community.geojson", "--kind", "community")
    pts = tmp_path / "p.csv"
    pts.write_text("lon,lat\n121.49,31.289\n31.289,121.49\n")
    code, _, err = run(capsys, "route", pts, "--out", tmp_path / "o.csv")
    assert code == 2 and "p.csv, feature 2, field 'geometry': coordinates look like" in err
    assert not (tmp_path / "o.csv").exists()


def test_demo_load_and_reroute(cli_db, capsys, tmp_path: Path) -> None:
    code, out, _ = run(capsys, "demo", "load", "--dir", DEMO_DIR)
    assert code == 0 and "requests 200" in out
    assert "already loaded" in run(capsys, "demo", "load", "--dir", DEMO_DIR)[1]
    code, out, _ = run(capsys, "reroute", "--community", CODE)
    assert code == 0 and "0 open request(s) changed owner" in out
    # the monthly report of one grid, a standalone offline HTML file
    report = tmp_path / "reports" / "g07.html"
    code, out, _ = run(
        capsys,
        "report",
        "--community",
        CODE,
        "--grid",
        "G07",
        "--month",
        "2026-11",
        "--out",
        report,
        lang="zh_CN",
    )
    assert code == 0 and report.exists()
    html = report.read_text(encoding="utf-8")
    heading = re.search(r"<h1>(.*?)</h1>", html, re.S)
    assert heading is not None and re.sub(r"<[^>]+>", "", heading.group(1)) == (
        "第7网格 · 2026年11月 诉求报告"
    )
    # nothing loaded from anywhere: every tag's src/href is local (scripts are inlined)
    from html.parser import HTMLParser

    links: list[str] = []

    class Links(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            links.extend(v or "" for k, v in attrs if k in ("src", "href"))

    Links().feed(html)
    assert [u for u in links if "//" in u] == []
    code, _, err = run(capsys, "report", "--community", CODE, "--grid", "NOPE")
    assert code == 2 and "grid 'NOPE' not found" in err


def test_unknown_compound_lists_names(cli_db, capsys) -> None:
    code, _, err = run(
        capsys, "import-osm", OSM_EXTRACT, "--compound", "不存在小区", "--community", CODE
    )
    assert code == 2 and "available:" in err and "巴林小区" in err and "同济新村" in err


def test_demo_files_regenerate_identically(tmp_path: Path) -> None:
    from renewmap.services.ingest.demo import build_demo_files

    build_demo_files(OSM_EXTRACT, tmp_path)
    for f in sorted(DEMO_DIR.iterdir()):
        if f.suffix in (".geojson", ".csv", ".json"):
            assert (tmp_path / f.name).read_bytes() == f.read_bytes(), f.name
    grids = pyogrio.read_dataframe(DEMO_DIR / "grids.geojson")
    union = shapely.union_all(grids.geometry)
    community = pyogrio.read_dataframe(DEMO_DIR / "community.geojson").geometry[0]
    # Grids are snapped to a 1 cm grid so shared edges are identical; along the outline
    # that leaves slivers of about a millimetre: well under 1e-4 of the area (≈ 8 m²).
    assert abs(union.area - community.area) / community.area < 1e-4


def test_route_vector_file_and_output_errors(cli_db, capsys, tmp_path: Path) -> None:
    assert run(capsys, "demo", "load", "--dir", DEMO_DIR, "--bare")[0] == 0
    src = tmp_path / "in.geojson"
    src.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "properties": {"name": "lamp"},
                        "geometry": {"type": "Point", "coordinates": [121.4905, 31.2890]},
                    },
                    {
                        "type": "Feature",
                        "properties": {"name": "path"},
                        "geometry": {
                            "type": "LineString",
                            "coordinates": [[121.4905, 31.2890], [121.4906, 31.2890]],
                        },
                    },
                ],
            }
        )
    )
    code, _, _ = run(capsys, "route", src, "--out", tmp_path / "out.gpkg")
    assert code == 0
    out = pyogrio.read_dataframe(tmp_path / "out.gpkg")
    assert list(out["rule"]) == ["inside", "overlap"] and list(out["name"]) == ["lamp", "path"]
    assert out["grid_code"].notna().all()
    # --snap 0 means no snapping at all (not "use the default")
    outside = tmp_path / "near.csv"
    outside.write_text("lon,lat\n121.48885,31.2890\n")  # a few metres west of the community
    run(capsys, "route", outside, "--out", tmp_path / "a.csv")
    assert pd.read_csv(tmp_path / "a.csv")["rule"][0] == "snapped"
    run(capsys, "route", outside, "--out", tmp_path / "b.csv", "--snap", "0")
    assert pd.read_csv(tmp_path / "b.csv")["rule"][0] == "outside"
    # an unwritable destination is a clear error, not a traceback
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code, _, err = run(capsys, "export", "--community", CODE, "--out", blocker / "x.gpkg")
    assert code == 2 and err.startswith("error: ") and "cannot write" in err
