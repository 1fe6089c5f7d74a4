"""Consultation residents can trust (issue 17), over HTTP on both databases, on the demo
community's site S01: steps skipped only with a reason and shown as not held; joint meetings
left only with minutes or a reason; the general branch's secretary runs the process; household
forms with one-time codes (read back from the printed PDF), one vote per household, a reused
code refused, guessing rate limited, turnout by building; informal votes said to be so; the
decision, the display with objections and answers; the build (plants get cards and can be
adopted; the old layers stay retrievable); the printed plan (A3 PDF read back, PNG); publishing
a draft that breaks rules; what a draft changes, in words; sites and facilities made over the
API."""

from __future__ import annotations

import io
import re
from datetime import date, timedelta

import pypdf
import pytest
from fastapi.testclient import TestClient
from PIL import Image
from shapely.geometry import box, mapping, shape

from renewmap.db.models import GreenArea, HouseholdCode, Site
from renewmap.services.access import accounts
from renewmap.spatial.geometry import from_db

DEMO = "310109010026"
SITE = f"/api/design/communities/{DEMO}/sites/S01"
PUBLIC = f"/api/sites/{DEMO}/S01"
CODE = re.compile(r"(?<![0-9A-Z])([2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4})(?![0-9A-Z])")


@pytest.fixture
def demo(make_client, session):
    """Staff of the demo community with API tokens, and residents' clients (each its own
    phone, all from one address)."""
    headers = {}
    for name, role in (
        ("designer", f"designer={DEMO}"),
        ("secretary", f"branch_secretary={DEMO}-GB"),
        ("grid_secretary", f"branch_secretary={DEMO}-B1"),
        ("lead", f"grid_lead={DEMO}/G01"),
    ):
        user = accounts.create_user(
            session, username=name, password="correct horse battery", roles=[tuple(role.split("="))]
        )
        token, _ = accounts.issue_token(session, user=user, kind="api")
        headers[name] = {"Authorization": f"Bearer {token}"}
    session.flush()
    staff = make_client(rate_codes=5)

    def resident() -> TestClient:
        return make_client(app=staff.app, csrf=True)

    return staff, headers, resident


def _move(staff, h, stage, reason=None, who="designer", status=200):
    body = {"stage": stage} | ({"reason": reason} if reason else {})
    r = staff.post(f"{SITE}/stage", headers=h[who], json=body)
    assert r.status_code == status, r.text
    return r.json()


def _draft(staff, h, name, *, from_site=True, public=True):
    d = staff.post(
        f"{SITE}/drafts", headers=h["designer"], json={"name": name, "from_site": from_site}
    ).json()
    if public:
        r = staff.put(
            f"/api/design/drafts/{d['id']}/public",
            headers=h["designer"],
            json={"public": True, "acknowledge_violations": True},
        )
        assert r.status_code == 200, r.text
    return d


def _site_box(session) -> tuple[float, float, float, float]:
    site = session.query(Site).filter_by(code="S01").one()
    return from_db(site.geom).bounds


def _add_feature(staff, h, d, feature) -> dict:
    fresh = staff.get(f"/api/design/drafts/{d['id']}", headers=h["designer"]).json()
    feats = fresh["features"]["features"] + [feature]
    r = staff.put(
        f"/api/design/drafts/{d['id']}/features",
        headers=h["designer"],
        json={
            "version": fresh["version"],
            "features": {"type": "FeatureCollection", "features": feats},
        },
    )
    assert r.status_code == 200, r.text
    return r.json()


def _bed_feature(session, fx0, fy0, fx1, fy1, **props):
    x0, y0, x1, y1 = _site_box(session)
    w, hgt = x1 - x0, y1 - y0
    geom = box(x0 + fx0 * w, y0 + fy0 * hgt, x0 + fx1 * w, y0 + fy1 * hgt)
    return {"type": "Feature", "geometry": mapping(geom), "properties": {"kind": "green", **props}}


def pdf_text(page) -> str:
    """A PDF page's text as read back, without spaces and the NULs between wide glyphs."""
    return "".join(c for c in page.extract_text() if c.isprintable() and not c.isspace())


# --- the process ---------------------------------------------------------------------------


def test_skipped_steps_need_a_reason_and_show_as_not_held(demo) -> None:
    staff, h, resident = demo
    r = staff.post(f"{SITE}/stage", headers=h["designer"], json={"stage": "consultation"})
    assert r.status_code == 409 and r.json()["code"] == "steps_skipped_without_reason"
    assert r.json()["details"]["skipped"] == [
        "survey",
        "interviews",
        "drafts",
        "co_design",
        "revision",
        "joint_meeting",
        "optimisation",
    ]
    timeline = _move(staff, h, "consultation", reason="上级要求年底前完成征询")
    states = {s["stage"]: s for s in timeline["steps"]}
    for step in ("survey", "interviews", "joint_meeting", "optimisation"):
        assert states[step]["state"] == "skipped"
        assert states[step]["skip_reason"] == "上级要求年底前完成征询"
        assert "designer" in states[step]["skipped_by"]
    assert states["consultation"]["state"] == "current"
    assert states["announcement"]["state"] == "upcoming"
    assert [s["stage"] for s in timeline["steps"]][-3:] == [
        "construction",
        "acceptance",
        "maintenance",
    ]
    # the residents' page says so, with who and why, and numbers each step once
    page = resident().get(f"/c/{DEMO}/sites/S01").text
    assert page.count("未举行") == 7
    assert "上级要求年底前完成征询" in page
    assert "1. " not in page.split('id="rm-timeline"')[1]
    # a skipped step held later is held after all
    timeline = _move(staff, h, "survey")
    assert timeline["steps"][0]["state"] == "current"
    assert timeline["steps"][0]["skip_reason"] is None


def test_a_joint_meeting_is_left_with_minutes_or_a_reason(demo) -> None:
    staff, h, _resident = demo
    _move(staff, h, "joint_meeting", reason="前期工作已在线下完成")
    r = staff.post(f"{SITE}/stage", headers=h["designer"], json={"stage": "optimisation"})
    assert r.status_code == 409 and r.json()["code"] == "meeting_without_minutes"
    assert r.json()["details"]["stage"] == "joint_meeting"
    r = staff.put(
        f"{SITE}/stages/joint_meeting",
        headers=h["designer"],
        json={"minutes": "四方共议：同意方案一，增加座椅"},
    )
    assert r.status_code == 200
    _move(staff, h, "optimisation")
    _move(staff, h, "final_joint_meeting", reason="征询在线下进行")
    refused = _move(staff, h, "announcement", status=409)  # the meeting has no minutes
    assert refused["code"] == "meeting_without_minutes"
    assert refused["details"]["stage"] == "final_joint_meeting"
    assert refused["details"]["field"] == "reason"
    refused = _move(staff, h, "announcement", reason="纪要待整理", status=409)
    assert refused["code"] == "display_without_decision"  # and nothing was decided
    # going on from the final meeting without minutes: the override is recorded and shown
    _draft(staff, h, "方案一")
    r = staff.put(f"{SITE}/decision", headers=h["designer"], json={"draft": 1, "reasons": "造价低"})
    assert r.status_code == 200, r.text
    timeline = _move(staff, h, "announcement", reason="会议纪要尚未整理，先行公示")
    meeting = next(s for s in timeline["steps"] if s["stage"] == "final_joint_meeting")
    assert meeting["override_reason"] == "会议纪要尚未整理，先行公示"
    assert meeting["state"] == "done"


def test_residents_read_the_role_never_the_username(demo, make_client, session) -> None:
    """Who skipped a step, left a meeting without minutes or recorded the decision: residents
    read the role in which they did it (设计师, 党支部书记), never the username (half of a
    sign-in) nor the name; staff read who it was."""
    staff, h, resident = demo
    for username, display, role in (
        ("zhang.wei88", "张伟", f"designer={DEMO}"),
        ("li.na_gb", "李娜", f"branch_secretary={DEMO}-GB"),
    ):
        user = accounts.create_user(
            session,
            username=username,
            password="correct horse battery",
            display_name=display,
            roles=[tuple(role.split("="))],
        )
        token, _ = accounts.issue_token(session, user=user, kind="api")
        h[username] = {"Authorization": f"Bearer {token}"}
    session.flush()
    _move(staff, h, "joint_meeting", reason="前期工作已在线下完成", who="zhang.wei88")
    _move(staff, h, "final_joint_meeting", reason="征询在线下进行", who="li.na_gb")
    _draft(staff, h, "方案一")
    body = {"draft": 1, "reasons": "造价低"}
    r = staff.put(f"{SITE}/decision", headers=h["zhang.wei88"], json=body)
    assert r.status_code == 200, r.text
    staff_view = _move(staff, h, "announcement", reason="纪要待整理", who="zhang.wei88")
    by_stage = {s["stage"]: s for s in staff_view["steps"]}
    assert by_stage["survey"]["skipped_by"] == "张伟 (zhang.wei88)"  # staff see who
    c = resident()
    public = {s["stage"]: s for s in c.get(f"{PUBLIC}/process").json()["steps"]}
    assert public["survey"]["skipped_by"] == "设计师"
    assert public["optimisation"]["skipped_by"] == "党支部书记"
    assert public["joint_meeting"]["override_by"] == "党支部书记"
    assert public["final_joint_meeting"]["override_by"] == "设计师"
    decision = c.get(f"{PUBLIC}/decision").json()
    assert decision["decided"] and decision["decided_by"] == "设计师"
    english = c.get(f"{PUBLIC}/process", headers={"Accept-Language": "en"}).json()
    assert {s["skipped_by"] for s in english["steps"] if s["skipped_by"]} == {
        "Designer",
        "Party branch secretary",
    }
    page = c.get(f"/c/{DEMO}/sites/S01").text
    assert "设计师" in page and "党支部书记" in page
    for public_text in (
        page,
        c.get(f"{PUBLIC}/process").text,
        c.get(f"{PUBLIC}/decision").text,
        c.get(f"/c/{DEMO}/sites").text,
    ):
        for private in ("zhang.wei88", "li.na_gb", "张伟", "李娜"):
            assert private not in public_text, private
    # someone no longer on the staff: named as community staff
    session.execute(
        Site.__table__.update().where(Site.code == "S01").values(decided_by="王五 (gone.user)")
    )
    session.flush()
    assert c.get(f"{PUBLIC}/decision").json()["decided_by"] == "社区工作人员"


def test_the_general_branch_secretary_runs_the_process(demo) -> None:
    staff, h, _resident = demo
    _move(staff, h, "survey", who="secretary")
    _move(staff, h, "interviews", who="secretary")
    # a grid branch's secretary and a grid lead do not
    for who in ("grid_secretary", "lead"):
        r = staff.post(f"{SITE}/stage", headers=h[who], json={"stage": "drafts"})
        assert r.status_code == 403, (who, r.text)


# --- household forms and votes --------------------------------------------------------------


def _forms(staff, h, buildings) -> tuple[list[tuple[str, str]], pypdf.PdfReader]:
    r = staff.post(f"{SITE}/households/forms", headers=h["designer"], json={"buildings": buildings})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/pdf"
    pdf = pypdf.PdfReader(io.BytesIO(r.content))
    forms = []
    for page in pdf.pages:
        text = pdf_text(page)
        label = re.search(r"(\d+号楼第\d+户)", text)
        code = CODE.search(text)
        assert label and code, text[:200]
        forms.append((label.group(1), code.group(1)))
    return forms, pdf


def test_household_forms_name_the_stairwell_where_known(demo) -> None:
    staff, h, resident = demo
    _draft(staff, h, "方案一")
    _move(staff, h, "consultation", reason="测试")
    nearest = staff.get(f"{SITE}/households", headers=h["designer"]).json()["buildings"][0]
    building = nearest["building"]
    r = staff.post(
        f"{SITE}/households/forms",
        headers=h["designer"],
        json={"buildings": [{"building": building, "stairwells": [2, 3]}]},
    )
    assert r.status_code == 200, r.text
    pages = [pdf_text(p) for p in pypdf.PdfReader(io.BytesIO(r.content)).pages]
    labels = [re.search(r"(\d+号楼\d单元第\d+户)", text).group(1) for text in pages]
    assert labels == [
        f"{building}1单元第1户",
        f"{building}1单元第2户",
        f"{building}2单元第1户",
        f"{building}2单元第2户",
        f"{building}2单元第3户",
    ]
    # the phone that enters a code is told its household with the stairwell, in its language
    code = CODE.search(pages[3]).group(1)
    phone = resident()
    r = phone.post(f"{PUBLIC}/household", json={"code": code})
    assert r.status_code == 200 and r.json()["household"] == f"{building}2单元 第2户"
    r = phone.post(f"{PUBLIC}/household?lang=en", json={"code": code})
    assert r.json()["household"] == f"{building}, stairwell 2, household 2"
    # the turnout counts the building's five forms; the same stairwells again give nothing new
    turnout = staff.get(f"{SITE}/households/turnout", headers=h["designer"]).json()
    assert turnout["issued"] == 5 and turnout["buildings"][0]["building"] == building
    again = staff.post(
        f"{SITE}/households/forms",
        headers=h["designer"],
        json={"buildings": [{"building": building, "stairwells": [2, 3]}]},
    )
    assert again.status_code == 409 and again.json()["code"] == "forms_all_issued"
    bad = staff.post(
        f"{SITE}/households/forms",
        headers=h["designer"],
        json={"buildings": [{"building": building, "stairwells": [2, 0]}]},
    )
    assert bad.status_code == 422


def test_household_forms_one_vote_per_household(demo, session) -> None:
    staff, h, resident = demo
    _draft(staff, h, "方案一")
    _draft(staff, h, "方案二")
    _move(staff, h, "consultation", reason="测试")
    around = staff.get(f"{SITE}/households", headers=h["designer"]).json()["buildings"]
    assert around and around[0]["distance_m"] <= around[-1]["distance_m"]
    nearest = around[0]
    assert nearest["households"] == 18 and nearest["issued"] == 0
    forms, pdf = _forms(staff, h, [{"building": nearest["building"]}])
    assert len(forms) == len(pdf.pages) == 18
    assert len({code for _, code in forms}) == 18
    assert forms[0][0] == f"{nearest['building']}第1户"
    # the codes are stored only as keyed hashes
    stored = session.query(HouseholdCode).all()
    assert len(stored) == 18
    for row, (_, code) in zip(stored, forms, strict=True):
        assert code.replace("-", "") not in row.code_hash and len(row.code_hash) == 64
    # printing again gives nothing new: every household has its form
    r = staff.post(
        f"{SITE}/households/forms",
        headers=h["designer"],
        json={"buildings": [{"building": nearest["building"]}]},
    )
    assert r.status_code == 409

    a, b = resident(), resident()
    (label1, code1), (_label2, code2) = forms[0], forms[1]
    view = a.get(f"{PUBLIC}/consultation").json()
    assert view["vote"] == "household" and view["households"] == {"issued": 18, "answered": 0}
    # a phone's vote without a code is not counted any more
    r = a.post(f"{PUBLIC}/vote", json={"draft": 1})
    assert r.status_code == 409 and r.json()["code"] == "household_code_required"
    r = a.post(f"{PUBLIC}/household", json={"code": code1.lower().replace("-", " ")})
    assert r.status_code == 200, r.text
    assert r.json() == {"site": "S01", "household": label1.replace("第", " 第"), "my_vote": None}
    r = a.post(f"{PUBLIC}/vote", json={"draft": 1, "code": code1})
    assert r.status_code == 201 and r.json()["vote"] == "household"
    # the same code on another phone is refused; the household's vote stands
    r = b.post(f"{PUBLIC}/vote", json={"draft": 2, "code": code1})
    assert r.status_code == 409 and r.json()["code"] == "household_code_taken"
    r = b.post(f"{PUBLIC}/vote", json={"draft": 2, "code": code2})
    assert r.status_code == 201
    # the household changes its mind until the consultation closes
    r = a.post(f"{PUBLIC}/vote", json={"draft": 2, "code": code1})
    assert r.status_code == 201 and r.json()["my_vote"] == 2
    assert a.post(f"{PUBLIC}/household", json={"code": code1}).json()["my_vote"] == 2
    turnout = staff.get(f"{SITE}/households/turnout", headers=h["designer"]).json()
    assert (turnout["issued"], turnout["answered"]) == (18, 2)
    assert turnout["buildings"] == [
        {"building": nearest["building"], "issued": 18, "answered": 2, "share": 0.1111}
    ]
    # results stay closed during the consultation, then count households
    assert all(d["votes"] is None for d in a.get(f"{PUBLIC}/consultation").json()["drafts"])
    _move(staff, h, "final_revision")
    counts = [d["votes"] for d in a.get(f"{PUBLIC}/consultation").json()["drafts"]]
    assert counts == [0, 2]
    r = a.post(f"{PUBLIC}/vote", json={"draft": 1, "code": code1})
    assert r.status_code == 409  # closed


def test_guessing_codes_is_rate_limited(demo) -> None:
    staff, h, resident = demo
    _draft(staff, h, "方案一")
    _move(staff, h, "consultation", reason="测试")
    forms, _pdf = _forms(staff, h, [{"building": "1号楼", "households": 2}])
    guesser = resident()
    assert guesser.post(f"{PUBLIC}/household", json={"code": "12"}).status_code == 422
    for _ in range(5):  # rate_codes=5 in this app
        r = guesser.post(f"{PUBLIC}/household", json={"code": "ZZZZ-ZZZZ"})
        assert r.status_code == 404
    r = guesser.post(f"{PUBLIC}/household", json={"code": forms[0][1]})
    assert r.status_code == 429  # even a right code, once the tries are used up


def test_without_forms_votes_are_informal(demo) -> None:
    staff, h, resident = demo
    _draft(staff, h, "方案一")
    _move(staff, h, "consultation", reason="测试")
    c = resident()
    assert c.get(f"{PUBLIC}/consultation").json()["vote"] == "informal"
    r = c.post(f"{PUBLIC}/vote", json={"draft": 1})
    assert r.status_code == 201 and r.json()["vote"] == "informal"
    assert c.post(f"{PUBLIC}/vote", json={"draft": 1, "code": "ABCD-EFGH"}).status_code == 404
    page = c.get(f"/c/{DEMO}/sites/S01").text
    assert "每人一票" not in page


# --- decision, display, objections, build ---------------------------------------------------


def test_decision_display_objections_and_build(demo, session) -> None:
    staff, h, resident = demo
    d1 = _draft(staff, h, "现状")
    d2 = _draft(staff, h, "四季花园")
    bed = _bed_feature(session, 0.05, 0.05, 0.3, 0.3, layer="shrub", species="月季", name="月季池")
    _add_feature(staff, h, d2, bed)
    spot = shape(_bed_feature(session, 0.4, 0.1, 0.42, 0.12)["geometry"]).centroid
    plant = {
        "type": "Feature",
        "geometry": mapping(spot),
        "properties": {"kind": "plant", "species": "桂花", "adoptable": True},
    }
    _add_feature(staff, h, d2, plant)
    r = staff.put(f"{SITE}/decision", headers=h["designer"], json={"draft": 2, "reasons": "绿化多"})
    assert r.status_code == 409  # before the consultation
    _move(staff, h, "consultation", reason="测试")
    hidden = _draft(staff, h, "内部稿", public=False)
    r = staff.put(
        f"{SITE}/decision",
        headers=h["designer"],
        json={"draft": hidden["number"], "reasons": "内部"},
    )
    assert r.status_code == 404
    r = staff.put(
        f"{SITE}/decision",
        headers=h["secretary"],
        json={"draft": d2["number"], "reasons": "居民多数支持，绿地率提高"},
    )
    assert r.status_code == 200 and r.json()["draft"]["number"] == 2
    c = resident()
    assert c.get(f"{PUBLIC}/decision").json() == {"site": "S01", "decided": False}
    timeline = _move(staff, h, "announcement", reason="测试")
    shown = next(s for s in timeline["steps"] if s["stage"] == "announcement")
    assert date.fromisoformat(shown["ends_on"]) - date.fromisoformat(shown["starts_on"]) == (
        timedelta(days=7)
    )
    decision = c.get(f"{PUBLIC}/decision").json()
    assert decision["decided"] and decision["reasons"] == "居民多数支持，绿地率提高"
    assert decision["results"]["vote"] == "informal"
    assert [s["stage"] for s in decision["next"]] == ["construction", "acceptance", "maintenance"]
    r = c.post(f"{PUBLIC}/objections", json={"body": "花池挡住了单元门口", "nickname": "老王"})
    assert r.status_code == 201, r.text
    objection = r.json()
    # construction waits for the display to end and for every answer
    r = staff.post(f"{SITE}/stage", headers=h["designer"], json={"stage": "construction"})
    assert r.status_code == 409 and r.json()["code"] == "construction_during_display"
    assert r.json()["details"]["display_until"] == r.json()["params"]["day"]
    week_ago = (date.today() - timedelta(days=8)).isoformat()
    yesterday = (date.today() - timedelta(days=1)).isoformat()
    r = staff.put(
        f"{SITE}/stages/announcement",
        headers=h["designer"],
        json={"starts_on": week_ago, "ends_on": yesterday},
    )
    assert r.status_code == 200
    assert c.post(f"{PUBLIC}/objections", json={"body": "太晚了"}).status_code == 409
    r = staff.post(f"{SITE}/stage", headers=h["designer"], json={"stage": "construction"})
    assert r.status_code == 409 and r.json()["code"] == "objections_unanswered"
    assert r.json()["details"]["unanswered"] == 1
    r = staff.post(
        f"/api/design/objections/{objection['id']}/answer",
        headers=h["secretary"],
        json={"answer": "花池将后移一米，让出通道"},
    )
    assert r.status_code == 200
    listed = c.get(f"{PUBLIC}/objections").json()
    assert (
        listed["unanswered"] == 0
        and listed["objections"][0]["answer"] == "花池将后移一米，让出通道"
    )
    site_id = session.query(Site).filter_by(code="S01").one().id
    beds_before = session.query(GreenArea).filter_by(site_id=site_id).count()
    _move(staff, h, "construction")
    r = staff.post(f"{SITE}/build", headers=h["designer"], json={})
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["draft"] == 2 and out["plants"]["new"] == 1 and out["plants"]["kept"] >= 1
    (new_plant,) = out["adoptable"]
    card = c.get(f"/api/plants/{new_plant['id']}").json()
    assert card["adoptable"] and card["planted_on"] == date.today().isoformat()
    r = c.post(f"/api/plants/{new_plant['id']}/adoption", json={"nickname": "小李"})
    assert r.status_code == 201, r.text
    beds = session.query(GreenArea).filter_by(site_id=site_id).all()
    assert len(beds) == beds_before + 1
    assert {"月季池"} <= {b.name for b in beds}
    assert next(b for b in beds if b.name == "月季池").layer == "shrub"
    # the layers before the build stay retrievable
    (record,) = staff.get(f"{SITE}/builds", headers=h["designer"]).json()
    assert record["draft"] == 2
    old = staff.get(record["before"], headers=h["designer"]).json()
    old_beds = [f for f in old["features"] if f["properties"]["layer_kind"] == "green"]
    assert len(old_beds) == beds_before
    assert all(f["properties"].get("name") != "月季池" for f in old["features"])
    # the draft that was not chosen changed nothing
    assert d1["number"] == 1


# --- CAD files: hatches, blocks, curves; what was skipped is said ----------------------------


def test_dxf_hatches_blocks_and_curves_and_what_was_skipped(demo, session) -> None:
    import ezdxf
    from pyproj import Transformer

    staff, h, _resident = demo
    d = _draft(staff, h, "CAD", from_site=False, public=False)
    x0, y0, x1, y1 = _site_box(session)
    to_utm = Transformer.from_crs(4326, 32651, always_xy=True)
    ex, ey = to_utm.transform((x0 + x1) / 2, (y0 + y1) / 2)  # the site's middle, in metres
    doc = ezdxf.new()
    msp = doc.modelspace()
    # a planting bed as a hatch: a 6 m square with a 2 m square hole
    hatch = msp.add_hatch(dxfattribs={"layer": "green"})
    hatch.paths.add_polyline_path(
        [(ex - 3, ey - 3), (ex + 3, ey - 3), (ex + 3, ey + 3), (ex - 3, ey + 3)]
    )
    hatch.paths.add_polyline_path(
        [(ex - 1, ey - 1), (ex + 1, ey - 1), (ex + 1, ey + 1), (ex - 1, ey + 1)]
    )
    # a tree block (crown circle) placed twice on the plant layer
    tree = doc.blocks.new(name="TREE")
    tree.add_circle((0, 0), radius=1.5)
    msp.add_blockref("TREE", (ex + 5, ey), dxfattribs={"layer": "plant"})
    msp.add_blockref("TREE", (ex - 5, ey), dxfattribs={"layer": "plant"})
    # a curved path as a spline, labels and a dimension nobody can use
    msp.add_spline([(ex - 6, ey - 6), (ex, ey - 5), (ex + 6, ey - 6)], dxfattribs={"layer": "path"})
    msp.add_text("月季", dxfattribs={"layer": "green"})
    msp.add_text("桂花", dxfattribs={"layer": "plant"})
    msp.add_linear_dim(base=(ex, ey + 8), p1=(ex - 3, ey + 7), p2=(ex + 3, ey + 7)).render()
    out = io.StringIO()
    doc.write(out)
    r = staff.post(
        f"/api/design/drafts/{d['id']}/import",
        headers=h["designer"],
        data={"version": str(d["version"]), "epsg": "32651"},
        files={"file": ("garden.dxf", out.getvalue().encode(), "image/vnd.dxf")},
    )
    assert r.status_code == 200, r.text
    got = r.json()
    kinds = sorted(f["properties"]["kind"] for f in got["features"]["features"])
    assert kinds == ["green", "path", "plant", "plant"]
    assert got["metrics"]["green_area_m2"] == pytest.approx(36 - 4, abs=0.05)  # the hole stays open
    assert got["metrics"]["plants_by_layer"] == {"tree": 2}
    crowns = {
        f["properties"].get("crown_m")
        for f in got["features"]["features"]
        if f["properties"]["kind"] == "plant"
    }
    assert crowns == {3.0}
    assert sum(got["metrics"]["path_length_m"].values()) == pytest.approx(12.3, abs=0.5)
    report = got["imported"]
    assert report["file"] == "garden.dxf" and report["features"] == 4
    assert {s["type"]: s["count"] for s in report["skipped"]} == {"DIMENSION": 1, "TEXT": 2}


# --- plans, words, publishing, comparing ----------------------------------------------------


def test_the_plan_printed_on_a3_and_shown_on_the_page(demo, session) -> None:
    staff, h, resident = demo
    d = _draft(staff, h, "四季花园", public=False)
    staff.put(
        f"/api/design/drafts/{d['id']}/details",
        headers=h["designer"],
        json={"name": "四季花园", "description": "新增月季池，四季有花。"},
    )
    _add_feature(
        staff, h, d, _bed_feature(session, 0.05, 0.05, 0.3, 0.3, layer="shrub", species="月季")
    )
    c = resident()
    # not before residents yet: only those who draw see its plan
    assert c.get(f"{PUBLIC}/drafts/1/plan.pdf?paper=a3").status_code == 404
    r = staff.get(f"/api/design/drafts/{d['id']}/plan.pdf", headers=h["designer"])
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    staff.put(
        f"/api/design/drafts/{d['id']}/public",
        headers=h["designer"],
        json={"public": True, "acknowledge_violations": True},
    )
    r = c.get(f"{PUBLIC}/drafts/1/plan.pdf", params={"paper": "a3"})
    assert r.status_code == 200 and "attachment" in r.headers["content-disposition"]
    pdf = pypdf.PdfReader(io.BytesIO(r.content))
    (page,) = pdf.pages
    assert (round(float(page.mediabox.width)), round(float(page.mediabox.height))) == (1191, 842)
    text = pdf_text(page)
    for words in (
        "睦邻微花园·方案1·四季花园",
        "巴林",
        "图例",
        "种植池（灌木）",
        "点位范围",
        "比例1:",
        "北",
        "月季",  # the species' label on the map
        "方案说明",
        "新增月季池，四季有花。",
        "主要变化",
        "新增种植池1处",
        "主要指标",
        "估算造价：约",
        "OpenStreetMap",
        "ODbL",
    ):
        assert words in text, words
    lines = page.extract_text().replace("\x00", "").splitlines()
    scale = int(
        next(re.fullmatch(r"比例 1:(\d+)", ln) for ln in lines if ln.startswith("比例")).group(1)
    )
    assert scale in (100, 150, 200, 250, 300, 400, 500)
    english = pdf_text(
        pypdf.PdfReader(
            io.BytesIO(c.get(f"{PUBLIC}/drafts/1/plan.pdf?paper=a3&lang=en").content)
        ).pages[0]
    )
    assert "Legend" in english and "Scale1:" in english and "Plantingbed(shrubs)" in english
    png = c.get(f"{PUBLIC}/drafts/1/plan.png")  # the card the page shows
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    img = Image.open(io.BytesIO(png.content))
    assert img.size == (709, 974)  # 120 × 165 mm at 150 dpi
    a3 = Image.open(io.BytesIO(c.get(f"{PUBLIC}/drafts/1/plan.png?paper=a3").content))
    assert a3.size == (2480, 1754)
    assert c.get(f"{PUBLIC}/drafts/1/plan.gif").status_code == 422
    assert c.get(f"{PUBLIC}/drafts/1/plan.png?paper=a0").status_code == 422


def test_publishing_a_draft_that_breaks_rules_asks_first(demo, session) -> None:
    staff, h, _resident = demo
    d = _draft(staff, h, "越界", from_site=False, public=False)
    _add_feature(staff, h, d, _bed_feature(session, 0.8, 0.8, 1.3, 1.3, layer="lawn"))
    r = staff.put(
        f"/api/design/drafts/{d['id']}/public", headers=h["designer"], json={"public": True}
    )
    assert r.status_code == 409 and r.json()["code"] == "draft_breaks_rules"
    assert r.json()["details"]["violations"] == ["inside_site"]
    assert (
        staff.get(f"/api/design/drafts/{d['id']}", headers=h["designer"]).json()["public"] is False
    )
    r = staff.put(
        f"/api/design/drafts/{d['id']}/public",
        headers=h["designer"],
        json={"public": True, "acknowledge_violations": True},
    )
    assert r.status_code == 200 and r.json()["public"] is True


def test_what_a_draft_changes_in_words_and_comparing_two(demo, session) -> None:
    staff, h, resident = demo
    same = _draft(staff, h, "现状")
    more = _draft(staff, h, "加一处")
    _add_feature(staff, h, more, _bed_feature(session, 0.05, 0.05, 0.3, 0.3, layer="shrub"))
    bench = shape(_bed_feature(session, 0.5, 0.5, 0.52, 0.52)["geometry"]).centroid
    _add_feature(
        staff,
        h,
        more,
        {
            "type": "Feature",
            "geometry": mapping(bench),
            "properties": {"kind": "facility", "type": "flower_box"},
        },
    )
    view = resident().get(f"{PUBLIC}/consultation").json()
    first, second = view["drafts"]
    assert first["changes"] == ["绿地率保持 33.7%"]
    assert second["changes"][:2] == ["新增种植池 1 处", "新增花箱 1 个"]
    assert re.fullmatch(r"绿地率从 33\.7% 到 \d+\.\d%", second["changes"][2])
    english = resident().get(f"{PUBLIC}/consultation", headers={"Accept-Language": "en"}).json()
    assert english["drafts"][1]["changes"][:2] == ["New planting bed: 1", "New flower box: 1"]
    # compared: what both have alike is named, the ratio's change is a share
    r = staff.get(f"/api/design/compare?a={same['id']}&b={more['id']}", headers=h["designer"])
    assert r.status_code == 200
    cmp = r.json()
    assert len(cmp["shared"]["a"]) == len(same["features"]["features"])
    assert len(cmp["shared"]["b"]) == len(same["features"]["features"])  # the site's, copied
    assert cmp["site_geometry"]["type"] == "MultiPolygon"
    ratio = cmp["difference"]["green_ratio"]
    assert ratio == pytest.approx(
        cmp["b"]["metrics"]["green_ratio"] - cmp["a"]["metrics"]["green_ratio"], abs=1e-4
    )


# --- sites and facilities made over the API --------------------------------------------------


def test_sites_and_facilities_made_and_changed(demo, session) -> None:
    staff, h, _resident = demo
    x0, y0, x1, y1 = _site_box(session)
    beside = box(x1 + 0.0001, y0, x1 + 0.0003, y1)
    r = staff.post(
        f"/api/design/communities/{DEMO}/sites",
        headers=h["designer"],
        json={"name": "口袋公园", "description": "3号楼东侧", "geometry": mapping(beside)},
    )
    assert r.status_code == 201, r.text
    assert (r.json()["code"], r.json()["stage"]) == ("S02", None)
    assert (
        staff.post(
            f"/api/design/communities/{DEMO}/sites",
            headers=h["designer"],
            json={"name": "重复", "code": "S02", "geometry": mapping(beside)},
        ).status_code
        == 409
    )
    far = box(x1 + 0.1, y0, x1 + 0.11, y1)
    r = staff.post(
        f"/api/design/communities/{DEMO}/sites",
        headers=h["designer"],
        json={"name": "远处", "geometry": mapping(far)},
    )
    assert r.status_code == 422 and r.json()["details"]["field"] == "geometry"
    r = staff.put(
        f"/api/design/communities/{DEMO}/sites/S02",
        headers=h["designer"],
        json={"name": "东侧口袋公园"},
    )
    assert r.status_code == 200 and r.json()["description"] == "3号楼东侧"
    sites = staff.get(f"/api/communities/{DEMO}/sites").json()
    assert [s["code"] for s in sites] == ["S01", "S02"] and sites[1]["steps"] == 14
    # a garden council hall inside the new site joins it
    spot = beside.centroid
    r = staff.post(
        f"/api/design/communities/{DEMO}/facilities",
        headers=h["designer"],
        json={"type": "meeting_hall", "name": "花园议事厅", "geometry": mapping(spot)},
    )
    assert r.status_code == 201, r.text
    hall = r.json()
    assert (hall["type"], hall["site"]) == ("meeting_hall", "S02")
    assert (
        staff.post(
            f"/api/design/communities/{DEMO}/facilities",
            headers=h["designer"],
            json={"type": "spaceship", "geometry": mapping(spot)},
        ).status_code
        == 422
    )
    r = staff.put(
        f"/api/design/facilities/{hall['id']}",
        headers=h["designer"],
        json={"type": "seed_station", "geometry": mapping(box(x0, y0, x1, y1).centroid)},
    )
    assert r.status_code == 200 and (r.json()["type"], r.json()["site"]) == ("seed_station", "S01")
    # the branch secretary runs processes; drawing sites and facilities is for designers
    assert (
        staff.delete(f"/api/design/facilities/{hall['id']}", headers=h["secretary"]).status_code
        == 403
    )
    assert (
        staff.delete(f"/api/design/facilities/{hall['id']}", headers=h["designer"]).status_code
        == 204
    )
    ids = [
        f["id"]
        for f in staff.get(
            f"/api/design/communities/{DEMO}/facilities", headers=h["designer"]
        ).json()
    ]
    assert hall["id"] not in ids


def test_without_a_chinese_font_the_plan_says_what_to_install(demo, monkeypatch) -> None:
    from renewmap import printing
    from renewmap.services.design import plans

    staff, h, resident = demo
    _draft(staff, h, "方案一")
    printing._font.cache_clear()
    plans._CACHE.clear()
    monkeypatch.setenv("RENEWMAP_CJK_FONT", "/nonexistent/font.ttc")
    try:
        for url in (f"{PUBLIC}/drafts/1/plan.pdf?paper=a3", f"{PUBLIC}/drafts/1/plan.png"):
            r = resident().get(url)
            assert r.status_code == 503 and r.json()["error"] == "font_missing", url
            assert "RENEWMAP_CJK_FONT" in r.json()["message"]
        r = staff.post(
            f"{SITE}/households/forms",
            headers=h["designer"],
            json={"buildings": [{"building": "1号楼"}]},
        )
        assert r.status_code == 503
    finally:
        printing._font.cache_clear()
