"""The town's overview counts the records' meetings on both databases (issue 18 item 1 with
org's overview): "meetings held" this month and this year adds the meetings register, and a
register meeting that is a site's 联席会 step is counted once (known answers)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from renewmap.db.models import Community, Site, SiteStage
from tests.support.records import records_world

BASE = "/api/records/communities"


def _meeting(title, day, step=None):
    return {
        "kind": "joint" if step else "forum",
        "title": title,
        "held_on": day.isoformat(),
        "parties": ["residents_committee"],
        "attendees": [{"role": "resident_reps", "count": 3}],
        "step": {"site": "S1", "stage": step} if step else None,
    }


def test_meetings_held_count_the_register(make_client, session) -> None:
    h, _ = records_world(session)
    c = make_client()
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    new_year = today.replace(month=1, day=1)
    t1 = session.query(Community).filter_by(code="T0001").one()
    s1 = session.query(Site).filter_by(community_id=t1.id, code="S1").one()
    # two 联席会 steps held today: one has its record in the register, one only its dates
    for stage in ("joint_meeting", "final_joint_meeting"):
        session.add(
            SiteStage(site_id=s1.id, stage=stage, starts_on=today, ends_on=today, updated_by="t")
        )
    session.flush()
    for title, day, step in (
        ("座谈会", today, None),
        ("方案联席会", today, "joint_meeting"),  # the step's record: one meeting, not two
        ("新年议事会", new_year, None),
        ("去年的楼组会", new_year - timedelta(days=1), None),  # last year: not counted
    ):
        r = c.post(f"{BASE}/T0001/meetings", headers=h["admin"], json=_meeting(title, day, step))
        assert r.status_code == 201, r.text
    r = c.post(f"{BASE}/T0002/meetings", headers=h["admin2"], json=_meeting("议事会", today))
    assert r.status_code == 201, r.text
    out = c.get("/api/staff/subdistricts/T00/overview", headers=h["sub"])
    assert out.status_code == 200, out.text
    by = {row["community"]["code"]: row["meetings"] for row in out.json()["communities"]}
    # T0001: 座谈会, 方案联席会 (= the joint meeting step), the final joint meeting step, and
    # 新年议事会 (this month only in January)
    assert by["T0001"] == {"month": 4 if today.month == 1 else 3, "year": 4}
    assert by["T0002"] == {"month": 1, "year": 1}
