"""Design metrics and rule checks against hand-computed geometry (no database).

Everything is drawn in metres in UTM zone 32N (EPSG:32632, near lon 10, lat 50) and stored in
WGS84, as the app stores it; the module measures back in the same metric CRS, so the known
answers hold to a few millimetres.
"""

from __future__ import annotations

import pytest
import shapely
from shapely.geometry import LineString, Point, box

from renewmap.spatial.design import Feature, Rules, UnitCosts, check, metrics, species_table
from tests.support.design import EPSG, w

SITE = w(box(0, 0, 20, 10))  # 200 m²
BUILDING = ("7号楼", w(box(20, 0, 30, 10)))  # just east of the site, sharing its edge


def garden() -> list[Feature]:
    return [
        Feature(
            "bed",
            "green",
            w(box(1, 1, 6, 5)),
            {"layer": "shrub", "species": "gardenia_jasminoides"},
        ),
        Feature(
            "lawn", "green", w(box(8, 1, 18, 3)), {"layer": "lawn", "species": "lolium_perenne"}
        ),
        Feature(
            "walk",
            "path",
            w(LineString([(0, 7), (10, 7)])),
            {"width_m": 1.5, "surface": "permeable_concrete", "purpose": "fitness"},
        ),
        Feature("t1", "plant", w(Point(2, 8.5)), {"species": "osmanthus_fragrans"}),
        Feature("t2", "plant", w(Point(12, 8.5)), {"species": "prunus_serrulata"}),
        Feature("s1", "plant", w(Point(3, 3)), {"species": "rhododendron_simsii"}),
        Feature("bench", "facility", w(Point(15, 6)), {"type": "bench"}),
    ]


def test_species_table() -> None:
    table = species_table()
    assert len(table) >= 30
    assert (
        table["osmanthus_fragrans"].name_zh == "桂花"
        and table["osmanthus_fragrans"].layer == "tree"
    )
    assert {s for sp in table.values() for s in sp.seasons} == {
        "spring",
        "summer",
        "autumn",
        "winter",
    }
    assert {sp.layer for sp in table.values()} == {"tree", "shrub", "ground_cover", "lawn"}


def test_metrics_known_answers() -> None:
    m = metrics(SITE, garden(), epsg=EPSG)
    assert m["site_area_m2"] == pytest.approx(200, abs=0.01)
    assert m["green_by_layer_m2"] == pytest.approx({"lawn": 20.0, "shrub": 20.0}, abs=0.01)
    assert m["green_area_m2"] == pytest.approx(40, abs=0.01)
    assert m["green_ratio"] == pytest.approx(0.2, abs=1e-4)
    assert m["hard_area_m2"] == pytest.approx(15, abs=0.01)  # 10 m × 1.5 m, flat ends
    assert m["path_length_m"] == pytest.approx({"permeable_concrete": 10.0}, abs=0.01)
    assert m["plants_by_layer"] == {"shrub": 1, "tree": 2}
    assert m["facilities"] == {"bench": 1}
    # 桂花 autumn, 樱花 spring, 栀子 summer, 黑麦草 winter+spring, 杜鹃 spring
    assert m["seasons"] == ["spring", "summer", "autumn", "winter"] and m["all_seasons"]
    bill = {b["code"]: b for b in m["bill"]}
    assert bill["green:shrub"]["cost"] == pytest.approx(20 * 120, abs=1)
    assert bill["path:permeable_concrete"]["cost"] == pytest.approx(15 * 260, abs=1)
    assert bill["plant:tree"]["cost"] == 2 * 1500 and bill["facility:bench"]["cost"] == 2500
    # a cost estimate: each line is its rounded quantity times the unit price, to the yuan,
    # and the total is the sum of the lines
    for b in m["bill"]:
        assert isinstance(b["cost"], int) and b["cost"] == round(b["quantity"] * b["unit_cost"])
    assert m["total_cost"] == sum(b["cost"] for b in m["bill"])
    # items and units as people read them, in their language
    zh = {k: (b["item"].render("zh_CN"), b["unit"].render("zh_CN")) for k, b in bill.items()}
    assert zh["green:shrub"] == ("种植池 · 灌木", "㎡")
    assert zh["plant:tree"] == ("植物 · 乔木", "株")
    assert zh["path:permeable_concrete"] == ("步道 · 透水混凝土", "㎡")
    assert zh["facility:bench"] == ("座椅", "个")
    assert bill["green:shrub"]["item"].render("en") == "planting bed · shrubs"
    assert bill["plant:tree"]["unit"].render("en") == "nr"
    assert {b["unit_code"] for b in m["bill"]} == {"m2", "plant", "each"}
    # shrub bed 20 m² × 120 + lawn 20 m² × 30 + 2 trees × 1500 + 1 shrub × 200
    # + path 15 m² × 260 + a bench 2500 = 12,600 yuan
    expected = 20 * 120 + 20 * 30 + 2 * 1500 + 1 * 200 + 15 * 260 + 2500
    assert expected == 12_600
    assert m["total_cost"] == pytest.approx(expected, abs=1)
    cheap = metrics(SITE, garden(), epsg=EPSG, costs=UnitCosts(facility_each={"bench": 100.0}))
    assert cheap["total_cost"] == pytest.approx(expected - 2500 + 100, abs=1)


def test_seasons_gap_is_reported() -> None:
    only_spring = [Feature("t", "plant", w(Point(5, 5)), {"species": "prunus_serrulata"})]
    m = metrics(SITE, only_spring, epsg=EPSG)
    assert m["seasons"] == ["spring"] and not m["all_seasons"]


def test_a_good_garden_breaks_no_rule() -> None:
    assert check(SITE, garden(), [BUILDING], epsg=EPSG) == []


@pytest.mark.parametrize(
    ("feature", "rule"),
    [
        # reaches 2 m past the site's west edge
        (Feature("out", "green", w(box(-2, 1, 3, 4)), {"layer": "lawn"}), "inside_site"),
        (Feature("far", "plant", w(Point(-5, 5)), {"species": "ginkgo_biloba"}), "inside_site"),
        # 2 m from the building wall at x = 20
        (
            Feature("close", "plant", w(Point(18, 8)), {"species": "ginkgo_biloba"}),
            "tree_wall_distance",
        ),
        # a bed drawn over the building
        (Feature("onto", "green", w(box(19, 4, 22, 6)), {"layer": "shrub"}), "building_overlap"),
        # a bed over the existing bed
        (Feature("twice", "green", w(box(4, 2, 7, 4)), {"layer": "shrub"}), "feature_overlap"),
        # barrier-free, 1.0 m wide
        (
            Feature(
                "narrow",
                "path",
                w(LineString([(0, 9), (10, 9)])),
                {"width_m": 1.0, "purpose": "barrier_free"},
            ),
            "barrier_free_width",
        ),
        # a bow tie
        (
            Feature(
                "bowtie",
                "green",
                w(shapely.Polygon([(1, 1), (3, 3), (3, 1), (1, 3)])),
                {"layer": "lawn"},
            ),
            "valid_geometry",
        ),
    ],
)
def test_each_rule_fails_when_it_should(feature: Feature, rule: str) -> None:
    found = check(SITE, [*garden(), feature], [BUILDING], epsg=EPSG)
    assert rule in {v["rule"] for v in found if feature.id in (v["feature"], v.get("other"))}, found
    # …and the same garden without it passes
    assert check(SITE, garden(), [BUILDING], epsg=EPSG) == []


def test_violations_name_the_feature_and_the_numbers() -> None:
    close = Feature("t9", "plant", w(Point(18, 8)), {"species": "ginkgo_biloba"})
    (v,) = check(SITE, [close], [BUILDING], epsg=EPSG)
    assert (v["feature"], v["rule"], v["building"]) == ("t9", "tree_wall_distance", "7号楼")
    # named as people name it (kind, ordinal in the draft, species), never by its id
    assert v["message"].render("zh_CN") == "1号植物（银杏）是乔木，距7号楼 2.0 米；至少应保持 3 米"
    assert v["message"].render("en") == (
        "plant no. 1 (Ginkgo biloba) is a tree 2.0 m from 7号楼; keep at least 3 m"
    )
    wide_ok = Feature(
        "ok", "path", w(LineString([(0, 9), (10, 9)])), {"width_m": 1.2, "purpose": "barrier_free"}
    )
    assert check(SITE, [wide_ok], [BUILDING], epsg=EPSG) == []
    looser = check(SITE, [close], [BUILDING], epsg=EPSG, rules=Rules(tree_wall_m=1.5))
    assert looser == []


def test_species_by_code_chinese_or_latin_name_and_mixed_beds() -> None:
    from renewmap.spatial.design import find_species

    table = species_table()
    assert [s.code for s in find_species("月季; 绣球", table)] == [
        "rosa_chinensis",
        "hydrangea_macrophylla",
    ]
    assert [s.code for s in find_species("红枫", table)] == ["acer_palmatum"]  # a cultivar
    assert [s.code for s in find_species("osmanthus fragrans", table)] == ["osmanthus_fragrans"]
    assert find_species("不认识的草", table) == [] and find_species(None, table) == []
    # a mixed bed counts every species' seasons: 蜡梅 (winter) + 月季 (spring–autumn)
    bed = Feature("b", "green", w(box(1, 1, 3, 3)), {"layer": "shrub", "species": "蜡梅、月季"})
    assert metrics(SITE, [bed], epsg=EPSG)["all_seasons"] is True


def test_violations_name_features_by_their_names_never_by_id() -> None:
    """A named bed and path are named; unnamed ones get their kind and ordinal in the draft."""
    bed = Feature("901", "green", w(box(19, 4, 22, 6)), {"layer": "shrub", "name": "睦邻花圃"})
    path = Feature(
        "902", "path", w(LineString([(1, 9), (25, 9)])), {"width_m": 1, "name": "健身步道"}
    )
    first = Feature("903", "path", w(LineString([(1, 2), (5, 2)])), {"width_m": 1})
    second = Feature("904", "path", w(LineString([(1, 5), (28, 5)])), {"width_m": 1})
    shed = Feature("905", "facility", w(Point(40, 40)), {"type": "ebike_shed"})
    found = check(SITE, [bed, path, first, second, shed], [BUILDING], epsg=EPSG)
    zh = {(v["rule"], v["feature"]): v["message"].render("zh_CN") for v in found}
    assert zh[("building_overlap", "901")] == "种植池「睦邻花圃」与7号楼重叠"
    assert zh[("inside_site", "902")] == "步道「健身步道」超出场地范围"
    # the third path drawn (numbers count every path, so naming one renumbers none)
    assert zh[("inside_site", "904")] == "3号步道超出场地范围"
    assert zh[("inside_site", "905")] == "1号电动自行车棚超出场地范围"
    en = {(v["rule"], v["feature"]): v["message"].render("en") for v in found}
    assert en[("building_overlap", "901")] == "planting bed “睦邻花圃” overlaps 7号楼"
    assert en[("inside_site", "904")] == "path no. 3 reaches outside the site"
    for v in found:  # database ids appear nowhere in what people read
        for text in (v["message"].render("zh_CN"), v["message"].render("en")):
            assert not any(i in text for i in ("901", "902", "903", "904", "905")), text


def test_buildings_without_a_number_are_named_by_their_name_or_as_unnumbered() -> None:
    from renewmap import names

    assert names.building("7").render("zh_CN") == "7号楼"
    assert names.building("7").render("en") == "building 7"
    assert names.building("7号楼") == "7号楼"
    assert names.building(None, "党群服务站") == "党群服务站"
    assert names.building(None, None).render("zh_CN") == "一栋没有楼号的楼"
