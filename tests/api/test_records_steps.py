"""The two 联席会 steps of a site's process show their meeting records on both databases
(issue 18 item 1): title, day, attendances and decisions on the step's API, the staff hub's
timeline and the residents' site page; nobody named, no phone."""

from __future__ import annotations

import pytest

from tests.support.records import records_world

BASE = "/api/records/communities/T0001"


@pytest.fixture
def world(make_client, session):
    headers, _ = records_world(session)
    return make_client(), headers


def _meeting(stage, **over):
    body = {
        "kind": "joint",
        "title": "睦邻花园方案联席会",
        "held_on": "2025-05-08",
        "parties": ["residents_committee", "property_manager"],
        "attendees": [
            {"role": "resident_reps", "count": 5},
            {"role": "property_manager", "name": "王经理", "count": 1},
        ],
        "minutes": "王经理介绍了两稿方案",
        "decisions": "采用第二稿",
        "step": {"site": "S1", "stage": stage},
    }
    return {**body, **over}


def test_joint_meeting_steps_show_their_records(world) -> None:
    c, h = world
    first = c.post(f"{BASE}/meetings", headers=h["admin"], json=_meeting("joint_meeting"))
    assert first.status_code == 201, first.text
    final = c.post(
        f"{BASE}/meetings",
        headers=h["admin"],
        json=_meeting(
            "final_joint_meeting",
            title="最终方案联席会",
            held_on="2025-07-01",
            attendees=[{"role": "resident_reps", "count": 12}],
            decisions=None,
        ),
    )
    assert final.status_code == 201, final.text
    # a meeting of the same site that is not a step stays off the timeline
    other = _meeting("joint_meeting", title="座谈会", kind="forum", step=None, sites=["S1"])
    assert c.post(f"{BASE}/meetings", headers=h["admin"], json=other).status_code == 201
    timeline = c.get("/api/sites/T0001/S1/process")
    assert timeline.status_code == 200
    steps = {s["stage"]: s for s in timeline.json()["steps"]}
    assert steps["joint_meeting"]["meeting_records"] == [
        {
            "id": first.json()["id"],
            "title": "睦邻花园方案联席会",
            "held_on": "2025-05-08",
            "attendees": 6,
            "decisions": "采用第二稿",
        }
    ]
    assert steps["final_joint_meeting"]["meeting_records"] == [
        {
            "id": final.json()["id"],
            "title": "最终方案联席会",
            "held_on": "2025-07-01",
            "attendees": 12,
            "decisions": None,
        }
    ]
    assert all(not s["meeting_records"] for k, s in steps.items() if "joint" not in k)
    assert "王经理" not in timeline.text and "座谈会" not in timeline.text
    # the step's API (staff record a step's dates) answers with them too
    put = c.put(
        "/api/design/communities/T0001/sites/S1/stages/joint_meeting",
        headers=h["admin"],
        json={"starts_on": "2025-05-08", "ends_on": "2025-05-08", "minutes": None},
    )
    assert put.status_code == 200, put.text
    step = next(s for s in put.json()["steps"] if s["stage"] == "joint_meeting")
    assert step["meeting_records"][0]["attendees"] == 6
    # the residents' site page and the staff hub show them, nobody named
    page = c.get("/c/T0001/sites/S1")
    assert page.status_code == 200, page.text
    for text in (
        "睦邻花园方案联席会",
        "2025-05-08",
        "6 人次",
        "采用第二稿",
        "最终方案联席会",
        "12 人次",
    ):
        assert text in page.text, text
    assert "王经理" not in page.text
    signed_in = c.post(
        "/api/staff/session", json={"username": "admin", "password": "correct horse battery"}
    )
    assert signed_in.status_code == 200, signed_in.text
    hub = c.get("/staff/design?community=T0001&site=S1")
    assert hub.status_code == 200 and "睦邻花园方案联席会" in hub.text and "6 人次" in hub.text
    # the link moves with the meeting: another step, then none
    moved = c.put(
        f"/api/records/meetings/{first.json()['id']}",
        headers=h["admin"],
        json={**_meeting("final_joint_meeting"), "version": 1},
    )
    assert moved.status_code == 200, moved.text
    steps = {s["stage"]: s for s in c.get("/api/sites/T0001/S1/process").json()["steps"]}
    assert steps["joint_meeting"]["meeting_records"] == []
    assert [r["title"] for r in steps["final_joint_meeting"]["meeting_records"]] == [
        "睦邻花园方案联席会",
        "最终方案联席会",
    ]


def test_a_linked_meeting_record_is_the_steps_record(world) -> None:
    c, h = world
    site = "/api/design/communities/T0001/sites/S1"
    r = c.post(
        f"{site}/stage", headers=h["admin"], json={"stage": "joint_meeting", "reason": "测试"}
    )
    assert r.status_code == 200, r.text
    # no minutes, no file, no meeting: leaving the 联席会 needs a reason
    bare = c.post(f"{site}/stage", headers=h["admin"], json={"stage": "optimisation"})
    assert bare.status_code == 409 and bare.json()["code"] == "meeting_without_minutes"
    # a meeting of another step does not stand for this one
    final = c.post(f"{BASE}/meetings", headers=h["admin"], json=_meeting("final_joint_meeting"))
    assert final.status_code == 201
    still = c.post(f"{site}/stage", headers=h["admin"], json={"stage": "optimisation"})
    assert still.status_code == 409
    m = c.post(f"{BASE}/meetings", headers=h["admin"], json=_meeting("joint_meeting"))
    assert m.status_code == 201
    on = c.post(f"{site}/stage", headers=h["admin"], json={"stage": "optimisation"})
    assert on.status_code == 200, on.text
    step = next(s for s in on.json()["steps"] if s["stage"] == "joint_meeting")
    assert step["state"] == "done" and step["override_reason"] is None
    assert [x["title"] for x in step["meeting_records"]] == ["睦邻花园方案联席会"]
