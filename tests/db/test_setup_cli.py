"""Setting a community up from the command line (issue 15), on both databases: the official
code list, overlap warnings, renaming and retiring, idempotent re-imports keyed by source id,
buildings kept inside the outline, building numbers, the branches list.

Each test gets a fresh, empty database; commands commit as users would run them.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from renewmap.cli import main
from tests.support.paths import DEMO_DIR, OSM_EXTRACT

BALIN = "310109010026"  # 巴林居委会 (the demo's)
MIYUN = "310110009013"  # 密云路居委会, 四平路街道: the compound 密云路454弄 in the extract


def run(capsys, *args: object, lang: str = "en") -> tuple[int, str, str]:
    code = main(["--lang", lang, *(str(a) for a in args)])
    out, err = capsys.readouterr()
    return code, out, err


def counts(out: str, kind: str) -> tuple[int, int, int, int]:
    """(created, updated, unchanged, removed) of one kind's line."""
    m = re.search(rf": {kind}: (\d+) created, (\d+) updated, (\d+) unchanged, (\d+) removed", out)
    assert m, out
    c, u, n, r = (int(v) for v in m.groups())
    return c, u, n, r


def buildings(capsys, community: str) -> list[list[str]]:
    code, out, _ = run(capsys, "building", "list", "--community", community)
    assert code == 0
    return [line.split("\t") for line in out.splitlines() if "\t" in line]


def test_the_official_list_is_searched_and_unofficial_codes_need_the_flag(
    cli_db, capsys, tmp_path: Path
) -> None:
    code, out, _ = run(capsys, "community", "search", "巴林")
    assert code == 0 and f"{BALIN}\t巴林居委会\t曲阳路街道" in out
    assert "1 residents' committee(s) found" in out
    code, out, _ = run(capsys, "community", "search", "同济", "四平路")
    assert code == 0 and out.count("\t四平路街道") == 2  # 同济新村, 同济绿园
    outline = DEMO_DIR / "compound.geojson"

    code, _, err = run(capsys, "community", "create", "999001", "--outline", outline)
    assert code == 2 and "'999001' is not on the official list" in err
    code, _, err = run(
        capsys, "community", "create", "999001", "--outline", outline, "--unofficial"
    )
    assert code == 2 and "needs a name" in err
    # a file import of a made-up code is refused too, unless asked for
    code, _, err = run(capsys, "import", DEMO_DIR / "community.geojson", "--kind", "community")
    assert code == 0  # the demo's own code is official
    made_up = tmp_path / "made_up.geojson"
    data = json.loads((DEMO_DIR / "community.geojson").read_text(encoding="utf-8"))
    data["features"][0]["properties"]["code"] = "X-1"
    made_up.write_text(json.dumps(data), encoding="utf-8")
    code, _, err = run(capsys, "import", made_up, "--kind", "community")
    assert code == 2 and "'X-1' is not on the official list" in err
    code, out, err = run(capsys, "import", made_up, "--kind", "community", "--unofficial")
    assert code == 0 and counts(out, "community") == (1, 0, 0, 0)
    # the same ground as the demo community: warned, with how much
    assert re.search(r"overlaps community 巴林居委会 \(310109010026\) by \d+ m² \(100% of", err)

    code, out, err = run(
        capsys,
        "community",
        "create",
        "999001",
        "--outline",
        outline,
        "--unofficial",
        "--name",
        "试点小区",
    )
    assert code == 0 and "community 999001 试点小区 created" in out
    assert "overlaps community 巴林居委会 (310109010026)" in err
    assert "overlaps community 巴林居委会 (X-1)" in err  # the imported one keeps the name
    code, _, err = run(
        capsys,
        "community",
        "create",
        "999001",
        "--outline",
        outline,
        "--unofficial",
        "--name",
        "again",
    )
    assert code == 2 and "exists already" in err

    assert run(capsys, "community", "rename", "999001", "--name", "试点居民区")[0] == 0
    code, out, _ = run(capsys, "community", "list")
    assert "999001\t试点居民区\t—" in out and f"{BALIN}\t巴林居委会\t曲阳路街道" in out
    assert "3 community(ies)" in out
    code, out, _ = run(capsys, "community", "retire", "999001")
    assert code == 0 and "community 999001 试点居民区 retired" in out
    code, out, _ = run(capsys, "community", "list")
    assert "999001" not in out and "2 community(ies)" in out


def test_a_community_holding_requests_cannot_be_retired(cli_db, capsys) -> None:
    assert run(capsys, "demo", "load", "--dir", DEMO_DIR, "--bare")[0] == 0
    code, _, err = run(capsys, "community", "retire", BALIN)
    assert code == 2 and "holds 200 request(s) and cannot be retired" in err
    code, out, _ = run(capsys, "community", "list")
    assert BALIN in out
    # without requests, everything it holds goes with it: grids, branches, buildings, layers
    code, out, _ = run(capsys, "branches", "list", "--community", BALIN)
    assert (
        code == 0 and f"{BALIN}-B4\t第四网格党支部\tgrid party branch\t{BALIN}-GB\t{BALIN}\t" in out
    )
    assert re.search(rf"{BALIN}-GB\t\S+\tgeneral party branch\t—\t{BALIN}\t—", out)


def test_retiring_takes_everything_of_the_community(cli_db, capsys) -> None:
    assert (
        run(capsys, "import-osm", OSM_EXTRACT, "--compound", "巴林小区", "--community", BALIN)[0]
        == 0
    )
    assert run(capsys, "import-branches", DEMO_DIR / "branches.csv")[0] == 0
    grids = DEMO_DIR / "grids.geojson"
    assert run(capsys, "import", grids, "--kind", "grid", "--community", BALIN)[0] == 0
    assert run(capsys, "assign-buildings", "--community", BALIN)[0] == 0
    code, out, _ = run(capsys, "branches", "list")
    assert code == 0 and "G07" in out
    code, out, _ = run(capsys, "community", "retire", BALIN)
    assert code == 0
    code, out, _ = run(capsys, "branches", "list")
    assert out.strip() == "0 branch(es)"
    code, _, err = run(capsys, "building", "list", "--community", BALIN)
    assert code == 2 and f"community '{BALIN}' not found" in err
    # and it can be set up again from scratch
    code, out, _ = run(
        capsys, "import-osm", OSM_EXTRACT, "--compound", "巴林小区", "--community", BALIN
    )
    assert code == 0 and counts(out, "building") == (18, 0, 0, 0)


def test_osm_reimport_is_idempotent_and_keeps_buildings_inside(cli_db, capsys) -> None:
    args = ("import-osm", OSM_EXTRACT, "--compound", "密云路454弄", "--community", MIYUN)
    code, out, _ = run(capsys, *args)
    assert code == 0
    assert counts(out, "community") == (1, 0, 0, 0)
    assert counts(out, "building") == (10, 0, 0, 0)
    # 22 buildings meet the outline grown by 20 m; 12 of them lie mostly outside: listed
    assert "12 building(s) mostly outside the outline were not imported" in out
    listed = re.findall(r"OSM (\d+): .*, (\d+)% inside", out)
    assert len(listed) == 12 and all(int(share) < 50 for _, share in listed)
    assert len(buildings(capsys, MIYUN)) == 10

    code, out, _ = run(capsys, *args)  # the same extract again: nothing changes
    assert code == 0
    assert counts(out, "community") == (0, 0, 1, 0)
    assert counts(out, "building") == (0, 0, 10, 0)
    assert counts(out, "compound") == (0, 0, 1, 0)
    path_counts = counts(out, "path")
    assert path_counts[0] == path_counts[1] == path_counts[3] == 0
    assert len(buildings(capsys, MIYUN)) == 10

    code, out, _ = run(capsys, *args, "--buffer", "0")  # paths clipped tighter, no duplicates
    assert code == 0 and counts(out, "building") == (0, 0, 10, 0)
    assert counts(out, "path")[0] == 0

    one = listed[0][0]
    code, out, _ = run(capsys, *args, "--include", one)
    assert code == 0 and counts(out, "building") == (1, 0, 10, 0)
    assert "11 building(s) mostly outside" in out
    code, out, _ = run(capsys, *args, "--include-outside")
    assert code == 0 and counts(out, "building") == (11, 0, 11, 0)
    assert "mostly outside" not in out
    assert len(buildings(capsys, MIYUN)) == 22
    code, out, _ = run(capsys, *args)  # back to the default: the outside ones are removed
    assert code == 0 and counts(out, "building") == (0, 0, 10, 12)
    assert len(buildings(capsys, MIYUN)) == 10


def test_file_reimport_is_keyed_by_the_files_id_column(cli_db, capsys, tmp_path: Path) -> None:
    assert run(capsys, "import", DEMO_DIR / "community.geojson", "--kind", "community")[0] == 0
    source = json.loads((DEMO_DIR / "buildings.geojson").read_text(encoding="utf-8"))
    features = []
    for n, f in enumerate(source["features"][:3], start=1):
        props = {"id": f"F{n}", "number": f"{n}号楼", "households": 10 * n}
        features.append({"type": "Feature", "properties": props, "geometry": f["geometry"]})
    path = tmp_path / "buildings.geojson"

    def write(fs: list[dict]) -> None:
        path.write_text(json.dumps({"type": "FeatureCollection", "features": fs}), "utf-8")

    write(features)
    common = ("import", path, "--kind", "building", "--community", BALIN)
    code, out, _ = run(capsys, *common)
    assert code == 0 and counts(out, "building") == (3, 0, 0, 0)
    code, out, _ = run(capsys, *common)
    assert code == 0 and counts(out, "building") == (0, 0, 3, 0)
    features[0]["properties"]["households"] = 99
    write(features[:2])
    code, out, _ = run(capsys, *common, "--replace")
    assert code == 0 and counts(out, "building") == (0, 1, 1, 1)
    rows = {r[1]: r for r in buildings(capsys, BALIN)}
    assert sorted(rows) == ["F1", "F2"] and rows["F1"][3] == "99"
    # grids are never removed by a re-import (their requests and leads): the boundary drafts
    code, _, err = run(
        capsys,
        "import",
        DEMO_DIR / "grids.geojson",
        "--kind",
        "grid",
        "--community",
        BALIN,
        "--replace",
    )
    assert code == 2 and "only building or green or water or path or facility can be" in err
    # a source id twice in one file is an error naming both features
    twice = tmp_path / "twice.geojson"
    twice.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {**features[0], "properties": {"osm_id": "7"}},
                    {**features[1], "properties": {"osm_id": "7"}},
                ],
            }
        ),
        "utf-8",
    )
    code, _, err = run(capsys, "import", twice, "--kind", "building", "--community", BALIN)
    assert code == 2 and "feature 2, field 'osm_id': duplicate OSM id '7' (also feature 1)" in err


def test_building_numbers_are_set_and_buildings_removed(cli_db, capsys) -> None:
    args = ("import-osm", OSM_EXTRACT, "--compound", "密云路454弄", "--community", MIYUN)
    assert run(capsys, *args)[0] == 0
    rows = buildings(capsys, MIYUN)
    unnumbered = [r for r in rows if "without a number" in r[0]]
    assert unnumbered, rows
    first, second = unnumbered[0][2], unnumbered[1][2]  # by OSM id
    code, out, _ = run(
        capsys,
        "building",
        "set",
        first,
        "--community",
        MIYUN,
        "--number",
        "7",
        "--households",
        "24",
    )
    assert code == 0 and out.strip() == "7号楼 saved"
    code, out, _ = run(capsys, "building", "set", "7号楼", "--community", MIYUN, "--number", "7")
    assert code == 0  # the same building keeps its number
    code, _, err = run(capsys, "building", "set", second, "--community", MIYUN, "--number", "7号楼")
    assert code == 2 and "numbered 7号楼 already" in err
    code, _, err = run(capsys, "building", "set", "7", "--community", MIYUN, "--households", "-3")
    assert code == 2
    rows = {r[2]: r for r in buildings(capsys, MIYUN)}
    assert rows[first][0] == "7号楼" and rows[first][3] == "24"
    code, out, _ = run(capsys, "building", "remove", "7", "--community", MIYUN, lang="zh_CN")
    assert code == 0 and out.strip() == f"已从 {MIYUN} 删除7号楼"
    assert len(buildings(capsys, MIYUN)) == 9
    code, _, err = run(capsys, "building", "remove", "7", "--community", MIYUN)
    assert code == 2 and "no building '7'" in err
    # a re-import brings the removed building back (it is inside the outline)
    code, out, _ = run(capsys, *args)
    assert counts(out, "building") == (1, 0, 9, 0)


def test_import_help_names_each_kinds_properties(capsys) -> None:
    with pytest.raises(SystemExit):
        main(["--lang", "en", "import", "--help"])
    out = capsys.readouterr().out
    for kind, props in {
        "building": ("number", "households", "grid_code", "osm_id"),
        "grid": ("branch_code", "compound_code"),
        "path": ("width_m", "surface", "purpose"),
        "community": ("subdistrict_code", "metric_epsg"),
    }.items():
        block = out.split(f"--kind {kind}\n", 1)[1].split("--kind", 1)[0]
        for p in props:
            assert re.search(rf"^\s+{p}\s+\S", block, re.M), (kind, p)
    with pytest.raises(SystemExit):
        main(["--lang", "zh_CN", "import", "--help"])
    out = capsys.readouterr().out
    assert "门牌" in out or "楼号" in out  # the meanings in the reader's language


def test_demo_accounts_one_per_role_printed_once_and_refused_in_prod(
    cli_db, capsys, monkeypatch
) -> None:
    from sqlalchemy.orm import Session

    from renewmap.db.engine import make_engine
    from renewmap.errors import Unauthenticated
    from renewmap.services.access import accounts
    from renewmap.services.access.scope import scope_of

    assert run(capsys, "demo", "load", "--dir", DEMO_DIR, "--bare")[0] == 0
    code, out, _ = run(capsys, "demo", "accounts")
    assert code == 0 and out.startswith("Demo staff accounts (passwords shown only now")
    printed = dict(re.findall(r"^  (demo-[a-z-]+)\s+(\S+)\s", out, re.M))
    assert sorted(printed) == [
        "demo-branch-secretary",
        "demo-community-admin",
        "demo-designer",
        "demo-general-secretary",
        "demo-grid-lead",
        "demo-group-leader",
        "demo-owners",
        "demo-property",
        "demo-subdistrict-admin",
    ]
    assert len(set(printed.values())) == 9
    code, again, _ = run(capsys, "demo", "accounts")  # a new start: new passwords
    second = dict(re.findall(r"^  (demo-[a-z-]+)\s+(\S+)\s", again, re.M))
    assert sorted(second) == sorted(printed)
    assert all(second[u] != printed[u] for u in printed)

    engine = make_engine(cli_db)
    try:
        with Session(engine) as s:
            areas = {}
            for username, password in second.items():
                user = accounts.check_password(s, username=username, password=password)
                principal = accounts.principal_of(user)
                scope = scope_of(s, principal)
                areas[username] = (len(scope.grid_ids), len(scope.community_ids))
                if scope.building_ids or scope.org_ids:
                    areas[username] += (len(scope.building_ids), len(scope.org_ids))
            with pytest.raises(Unauthenticated):  # the first start's passwords are gone
                accounts.check_password(
                    s, username="demo-grid-lead", password=printed["demo-grid-lead"]
                )
    finally:
        engine.dispose()
    assert areas["demo-grid-lead"] == (1, 0)
    assert areas["demo-branch-secretary"] == (1, 0)  # the fourth branch's grid
    assert areas["demo-general-secretary"][1] == 1  # the whole community
    assert areas["demo-community-admin"] == (0, 1)
    assert areas["demo-subdistrict-admin"] == (0, 1)
    assert areas["demo-designer"] == (0, 0)  # drafts, not requests
    assert areas["demo-group-leader"] == (0, 0, 1, 0)  # 1号楼, which its group serves
    assert areas["demo-property"] == (0, 0, 0, 1)  # what was handed to the company
    assert areas["demo-owners"] == (0, 0)  # follows the property company, no requests

    monkeypatch.setenv("RENEWMAP_ENV", "prod")
    monkeypatch.setenv("RENEWMAP_SECRET_KEY", "x" * 40)
    monkeypatch.setenv("RENEWMAP_ALLOWED_HOSTS", "renewmap.example.org")
    monkeypatch.setenv("RENEWMAP_PUBLIC_BASE_URL", "https://renewmap.example.org")
    code, out, err = run(capsys, "demo", "accounts")
    assert code == 2 and "not with RENEWMAP_ENV=prod" in err and "demo-" not in out
    code, out, err = run(capsys, "serve", "--demo", "--port", "1")
    assert code == 2 and "--demo creates staff accounts" in err and out == ""


def test_a_community_set_up_in_the_browser_is_listed_and_published_from_the_cli(
    cli_db, capsys, tmp_path
) -> None:
    import shapely
    from shapely.geometry import mapping
    from sqlalchemy.orm import Session

    from renewmap.db.engine import make_engine
    from renewmap.db.migrate import upgrade
    from renewmap.services.places import communities

    area = shapely.box(121.60, 31.30, 121.602, 31.302)
    engine = make_engine(cli_db)
    try:
        upgrade(engine)
        with Session(engine) as s, s.begin():
            communities.create(s, code=MIYUN, outline=area, state="setup")
    finally:
        engine.dispose()
    code, out, _ = run(capsys, "community", "list")
    assert code == 0 and f"{MIYUN}\t密云路居委会\t四平路街道\tin setup" in out
    code, _, err = run(capsys, "community", "publish", MIYUN)
    assert code == 2 and "has no grids yet: publish a grid set first" in err
    grid = {"type": "Feature", "properties": {"code": "G01", "name": "第1网格"}}
    grids = tmp_path / "grids.geojson"
    grids.write_text(
        json.dumps(
            {"type": "FeatureCollection", "features": [{**grid, "geometry": mapping(area)}]}
        ),
        encoding="utf-8",
    )
    assert run(capsys, "import", grids, "--kind", "grid", "--community", MIYUN)[0] == 0
    code, out, _ = run(capsys, "community", "publish", MIYUN)
    assert code == 0 and f"community {MIYUN} is published: residents see it" in out
    code, out, _ = run(capsys, "community", "list")
    assert f"{MIYUN}\t密云路居委会\t四平路街道\n" in out


def test_building_set_gives_stairwells_as_the_setup_page_does(cli_db, capsys) -> None:
    """``building set --stairwells``: a count (1单元…) or numbers (bare ones become 单元)."""
    assert run(capsys, "import", DEMO_DIR / "community.geojson", "--kind", "community")[0] == 0
    assert run(capsys, "import-branches", DEMO_DIR / "branches.csv")[0] == 0
    compound = DEMO_DIR / "compound.geojson"
    assert run(capsys, "import", compound, "--kind", "compound", "--community", BALIN)[0] == 0
    grids = DEMO_DIR / "grids.geojson"
    assert run(capsys, "import", grids, "--kind", "grid", "--community", BALIN)[0] == 0
    assert (
        run(
            capsys,
            "import",
            DEMO_DIR / "buildings.geojson",
            "--kind",
            "building",
            "--community",
            BALIN,
        )[0]
        == 0
    )
    code, out, _ = run(
        capsys, "building", "set", "7号楼", "--community", BALIN, "--stairwells", "3"
    )
    assert code == 0, out
    assert buildings(capsys, BALIN)[6][-1] == "1单元 2单元 3单元"
    code, _, _ = run(
        capsys, "building", "set", "7", "--community", BALIN, "--stairwells", "2, 东单元"
    )
    assert code == 0
    rows = {r[0]: r for r in buildings(capsys, BALIN)}
    assert rows["7号楼"][-1] == "2单元 东单元" and rows["8号楼"][-1] == "—"
    code, _, err = run(
        capsys, "building", "set", "7", "--community", BALIN, "--stairwells", "2,2单元"
    )
    assert code != 0 and "stairwell 2单元 is named twice" in err
